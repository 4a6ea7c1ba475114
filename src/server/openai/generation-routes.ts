import { randomUUID } from "node:crypto";
import type { FinishReason, GenerateChunk } from "../../core/types.js";
import { errorResponse } from "../error-body.js";
import type { Exchange } from "../exchange.js";
import { causeOf, recorded, wholeAnswer } from "../exchange.js";
import { admitFor, type GatewayContext } from "../gateway-context.js";
import { toGenerateRequest } from "../generation-request.js";
import { readJsonBody, SseStream, sendJson } from "../http-io.js";
import { chatRequestSchema, completionRequestSchema, parseBody } from "./schemas.js";

/** How one OpenAI endpoint spells its responses; everything else about serving them is shared. */
interface OpenAiShape {
  idPrefix: string;
  object: string;
  chunkObject: string;
  /** The choice of a streamed chunk carrying `text` (`first`: the stream's opening chunk). */
  chunkChoice(text: string, first: boolean, finishReason: FinishReason | null): Record<string, unknown>;
  choice(text: string, finishReason: FinishReason): Record<string, unknown>;
}

const completionShape: OpenAiShape = {
  idPrefix: "cmpl-",
  object: "text_completion",
  chunkObject: "text_completion",
  chunkChoice: (text, _first, finishReason) => ({
    index: 0,
    text,
    logprobs: null,
    finish_reason: finishReason,
  }),
  choice: (text, finishReason) => ({ index: 0, text, logprobs: null, finish_reason: finishReason }),
};

const chatShape: OpenAiShape = {
  idPrefix: "chatcmpl-",
  object: "chat.completion",
  chunkObject: "chat.completion.chunk",
  chunkChoice: (text, first, finishReason) => ({
    index: 0,
    delta: finishReason !== null ? {} : first ? { role: "assistant", content: text } : { content: text },
    logprobs: null,
    finish_reason: finishReason,
  }),
  choice: (text, finishReason) => ({
    index: 0,
    message: { role: "assistant", content: text, refusal: null },
    logprobs: null,
    finish_reason: finishReason,
  }),
};

export async function handleCompletions(exchange: Exchange, context: GatewayContext): Promise<void> {
  const body = parseBody(
    completionRequestSchema,
    await readJsonBody(exchange.req, context.limits.max_body_bytes),
  );
  const prompt = typeof body.prompt === "string" ? body.prompt : (body.prompt[0] ?? "");
  // OpenAI's default for the legacy completions endpoint.
  await serveGeneration(exchange, context, body, { prompt }, body.max_tokens ?? 16, completionShape);
}

export async function handleChatCompletions(exchange: Exchange, context: GatewayContext): Promise<void> {
  const body = parseBody(chatRequestSchema, await readJsonBody(exchange.req, context.limits.max_body_bytes));
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const messages = body.messages.map((message) => ({
    role: message.role,
    content:
      typeof message.content === "string"
        ? message.content
        : (message.content ?? []).map((part) => part.text).join(""),
  }));
  await serveGeneration(exchange, context, body, { messages }, maxTokens, chatShape);
}

type GenerationBody = Parameters<typeof toGenerateRequest>[4] & {
  model: string;
  user?: string | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean | null } | null;
};

async function serveGeneration(
  exchange: Exchange,
  context: GatewayContext,
  body: GenerationBody,
  input: Parameters<typeof toGenerateRequest>[2],
  maxTokens: number | null | undefined,
  shape: OpenAiShape,
): Promise<void> {
  const admitted = await admitFor(exchange, context, body.model, "generate", body.user);
  try {
    const request = toGenerateRequest(context, admitted.model, input, maxTokens, body);
    const chunks = recorded(exchange, admitted.model.generate(request, exchange.signal))[
      Symbol.asyncIterator
    ]();
    // The first chunk is awaited before any byte is sent, so a request the model refuses still gets a
    // plain HTTP error status rather than a broken stream.
    const first = await chunks.next();
    const envelope: Envelope = {
      id: `${shape.idPrefix}${randomUUID().replaceAll("-", "")}`,
      created: Math.floor(Date.now() / 1000),
      model: admitted.name,
    };
    if (body.stream) {
      await streamResponse(
        exchange,
        first,
        chunks,
        shape,
        envelope,
        body.stream_options?.include_usage === true,
      );
      return;
    }
    const { text, done } = await wholeAnswer(first, chunks);
    sendJson(
      exchange.res,
      200,
      responseObject(envelope, shape.object, [shape.choice(text, done.finishReason)], usageOf(done)),
    );
  } finally {
    admitted.release();
  }
}

async function streamResponse(
  exchange: Exchange,
  first: IteratorResult<GenerateChunk>,
  chunks: AsyncIterator<GenerateChunk>,
  shape: OpenAiShape,
  envelope: Envelope,
  includeUsage: boolean,
): Promise<void> {
  const sse = new SseStream(exchange.res);
  // With usage asked for, every chunk carries `usage: null` until the last, as OpenAI's do.
  const event = (choice: Record<string, unknown>) =>
    responseObject(envelope, shape.chunkObject, [choice], includeUsage ? null : undefined);
  let opening = true;
  try {
    for (let step = first; !step.done; step = await chunks.next()) {
      const chunk = step.value;
      if (chunk.text || opening) await sse.data(event(shape.chunkChoice(chunk.text, opening, null)));
      opening = false;
      if (chunk.done) {
        await sse.data(event(shape.chunkChoice("", false, chunk.done.finishReason)));
        if (includeUsage) {
          await sse.data(responseObject(envelope, shape.chunkObject, [], usageOf(chunk.done)));
        }
      }
    }
    sse.end("[DONE]");
  } catch (error) {
    // Headers are gone: the stream ends with an error event and no [DONE], so a client can never mistake
    // a truncated answer for a complete one.
    await sse.data(errorResponse(causeOf(exchange, error), "openai").body);
    sse.end();
    throw error;
  }
}

interface Envelope {
  id: string;
  created: number;
  model: string;
}

/**
 * A response or chunk object in OpenAI's field order; `usage` left out when undefined. Built field by field:
 * growing a spread copy of the envelope costs over a microsecond on Node 20's V8.
 */
function responseObject(
  envelope: Envelope,
  object: string,
  choices: Record<string, unknown>[],
  usage?: ReturnType<typeof usageOf> | null,
): Record<string, unknown> {
  const value: Record<string, unknown> = {
    id: envelope.id,
    object,
    created: envelope.created,
    model: envelope.model,
    choices,
  };
  if (usage !== undefined) value.usage = usage;
  return value;
}

function usageOf(done: NonNullable<GenerateChunk["done"]>) {
  const { promptTokens, completionTokens } = done.usage;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}
