import { randomUUID } from "node:crypto";
import { rawWith } from "../../core/json-text.js";
import type { FinishReason, GenerateChunk, GenerateRequest } from "../../core/types.js";
import { openAiToolCalls } from "../../providers/openai-compat/wire.js";
import { errorResponse } from "../error-body.js";
import type { ChoiceAnswer, Exchange } from "../exchange.js";
import { causeOf, recorded, wholeAnswer } from "../exchange.js";
import { admitFor, type GatewayContext } from "../gateway-context.js";
import { toGenerateRequest } from "../generation-request.js";
import { parseJsonText, readBodyText, SseStream, sendJson, sendJsonText } from "../http-io.js";
import { applyChatFields, applyCompletionFields, chatTurns } from "./chat-request.js";
import { chatLogprobs, completionLogprobs, toolCallsWire } from "./response-wire.js";
import {
  CHAT_FIELDS,
  COMPLETION_FIELDS,
  type CompletionRequest,
  chatRequestSchema,
  completionRequestSchema,
  parseBody,
  unknownFields,
} from "./schemas.js";

/** How one OpenAI endpoint spells its responses; everything else about serving them is shared. */
interface OpenAiShape {
  idPrefix: string;
  object: string;
  chunkObject: string;
  /** The choice of a streamed chunk (`first`: the choice's opening chunk). */
  chunkChoice(
    chunk: GenerateChunk,
    first: boolean,
    finishReason: FinishReason | null,
  ): Record<string, unknown>;
  choice(answer: ChoiceAnswer, index: number): Record<string, unknown>;
}

const completionShape: OpenAiShape = {
  idPrefix: "cmpl-",
  object: "text_completion",
  chunkObject: "text_completion",
  chunkChoice: (chunk, _first, finishReason) => ({
    index: chunk.choice ?? 0,
    text: chunk.text,
    logprobs: chunk.logprobs ? completionLogprobs(chunk.logprobs) : null,
    finish_reason: finishReason,
  }),
  choice: (answer, index) => ({
    index,
    text: answer.text,
    logprobs: answer.logprobs ? completionLogprobs(answer.logprobs) : null,
    finish_reason: answer.finishReason,
  }),
};

const chatShape: OpenAiShape = {
  idPrefix: "chatcmpl-",
  object: "chat.completion",
  chunkObject: "chat.completion.chunk",
  chunkChoice: (chunk, first, finishReason) => {
    const delta: Record<string, unknown> = {};
    if (finishReason === null) {
      if (first) delta.role = "assistant";
      if (chunk.text || first) delta.content = chunk.text;
      if (chunk.toolCalls) delta.tool_calls = toolCallsWire(chunk.toolCalls);
    }
    return {
      index: chunk.choice ?? 0,
      delta,
      logprobs: chunk.logprobs ? chatLogprobs(chunk.logprobs) : null,
      finish_reason: finishReason,
    };
  },
  choice: (answer, index) => {
    const message: Record<string, unknown> = {
      role: "assistant",
      content: answer.toolCalls && !answer.text ? null : answer.text,
      refusal: null,
    };
    if (answer.toolCalls) message.tool_calls = openAiToolCalls(answer.toolCalls);
    return {
      index,
      message,
      logprobs: answer.logprobs ? chatLogprobs(answer.logprobs) : null,
      finish_reason: answer.finishReason,
    };
  },
};

export async function handleCompletions(exchange: Exchange, context: GatewayContext): Promise<void> {
  const text = await readBodyText(exchange.req, context.limits.max_body_bytes);
  const raw = parseJsonText(text);
  const body = parseBody(completionRequestSchema, raw);
  // OpenAI's default for the legacy completions endpoint.
  await serveGeneration(
    exchange,
    context,
    body,
    completionPrompt(body.prompt),
    body.max_tokens ?? 16,
    completionShape,
    (request) => {
      applyCompletionFields(request, body);
      finishRequest(request, raw, text, COMPLETION_FIELDS, "completions");
    },
  );
}

export async function handleChatCompletions(exchange: Exchange, context: GatewayContext): Promise<void> {
  const text = await readBodyText(exchange.req, context.limits.max_body_bytes);
  const raw = parseJsonText(text);
  const body = parseBody(chatRequestSchema, raw);
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  await serveGeneration(
    exchange,
    context,
    body,
    { messages: chatTurns(body.messages) },
    maxTokens,
    chatShape,
    (request) => {
      applyChatFields(request, body);
      finishRequest(request, raw, text, CHAT_FIELDS, "chat/completions");
    },
  );
}

/** A completions prompt: its text, or its token ids (a list of ids, or a list holding one). */
function completionPrompt(
  prompt: CompletionRequest["prompt"],
): { prompt: string } | { promptTokens: number[] } {
  if (typeof prompt === "string") return { prompt };
  const [first] = prompt;
  if (typeof first === "string") return { prompt: first };
  if (Array.isArray(first)) return { promptTokens: first };
  return { promptTokens: prompt as number[] };
}

/** The client's body goes along verbatim, for an OpenAI-format upstream; fields no schema knows are named. */
function finishRequest(
  request: GenerateRequest,
  raw: unknown,
  text: string,
  known: ReadonlySet<string>,
  endpoint: "completions" | "chat/completions",
): void {
  const unknown = unknownFields(raw, known);
  if (unknown) request.unknownFields = unknown;
  request.passthrough = { endpoint, body: raw as Record<string, unknown>, text };
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
  complete: (request: GenerateRequest) => void,
): Promise<void> {
  const admitted = await admitFor(exchange, context, body.model, "generate", body.user);
  try {
    const request = toGenerateRequest(context, admitted.model, input, maxTokens, body);
    complete(request);
    const chunks = recorded(exchange, admitted.model.generate(request, exchange.signal))[
      Symbol.asyncIterator
    ]();
    // The first chunk is awaited before any byte is sent, so a request the model refuses still gets a
    // plain HTTP error status rather than a broken stream.
    const first = await chunks.next();
    const envelope = new Envelope(shape.idPrefix, admitted.name);
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
    const answer = await wholeAnswer(first, chunks);
    if (answer.raw) {
      // The upstream's own answer, as it sent it, under the name the client asked for.
      sendJsonText(exchange.res, 200, rawWith(answer.raw, "model", envelope.model));
      return;
    }
    sendJson(
      exchange.res,
      200,
      responseObject(
        envelope,
        shape.object,
        answer.choices.map((choice, index) => shape.choice(choice, index)),
        usageOf(answer.done),
      ),
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
  // Each choice's first chunk opens it (a chat choice's carries the role).
  const opened: boolean[] = [];
  let passedThrough = false;
  try {
    for (let step = first; !step.done; step = await chunks.next()) {
      const chunk = step.value;
      if (chunk.raw) {
        // Passed through: the upstream's own events are the stream, its finish and usage events included.
        await sse.dataText(rawWith(chunk.raw, "model", envelope.model));
        passedThrough = true;
        continue;
      }
      // A passed-through stream's closing summary: its events said it all.
      if (passedThrough) continue;
      const opening = opened[chunk.choice ?? 0] !== true;
      if (chunk.text || chunk.toolCalls || chunk.logprobs || opening)
        await sse.data(event(shape.chunkChoice(chunk, opening, null)));
      opened[chunk.choice ?? 0] = true;
      if (chunk.done) {
        const reasons = chunk.done.finishReasons ?? [chunk.done.finishReason];
        for (const [index, reason] of reasons.entries()) {
          const empty = emptyChunk(index);
          if (opened[index] !== true) await sse.data(event(shape.chunkChoice(empty, true, null)));
          await sse.data(event(shape.chunkChoice(empty, false, reason)));
        }
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

/** Choice `index`'s empty chunk: what opens or ends it on the wire. */
function emptyChunk(index: number): GenerateChunk {
  const chunk: GenerateChunk = { text: "", tokenIds: [], at: 0 };
  if (index !== 0) chunk.choice = index;
  return chunk;
}

/** What every response object carries; the id is drawn only for one built here (a passed-through one has its own). */
class Envelope {
  readonly created = Math.floor(Date.now() / 1000);
  #id: string | undefined;

  constructor(
    private readonly idPrefix: string,
    readonly model: string,
  ) {}

  get id(): string {
    this.#id ??= `${this.idPrefix}${randomUUID().replaceAll("-", "")}`;
    return this.#id;
  }
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
