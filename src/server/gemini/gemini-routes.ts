import { randomUUID } from "node:crypto";
import { InvalidRequestError, RouteNotFoundError } from "../../core/errors.js";
import { rawWith } from "../../core/json-text.js";
import { ToolCallAssembler } from "../../core/tool-calls.js";
import type { FinishReason, GenerateChunk, TokenLogprobs, ToolCall } from "../../core/types.js";
import { errorResponse } from "../error-body.js";
import type { Exchange } from "../exchange.js";
import { causeOf, recorded, wholeAnswer } from "../exchange.js";
import { admitFor, type GatewayContext } from "../gateway-context.js";
import { toGenerateRequest } from "../generation-request.js";
import { readJsonBody, SseStream, sendJson, sendJsonText } from "../http-io.js";
import { parseBody } from "../openai/schemas.js";
import { applyGeminiFields, geminiTurns, unknownGeminiFields } from "./gemini-request.js";
import {
  batchEmbedContentsSchema,
  camelCaseFields,
  embedContentSchema,
  generateContentSchema,
} from "./schemas.js";

/** `/v1beta/models/{model}:{action}`; a model id may itself hold a `:precision`, so the action is after the last colon. */
export function matchGeminiPath(path: string): Record<string, string> | undefined {
  const prefix = "/v1beta/models/";
  if (!path.startsWith(prefix)) return undefined;
  const rest = decodeURIComponent(path.slice(prefix.length));
  const colon = rest.lastIndexOf(":");
  if (colon <= 0) return undefined;
  return { model: rest.slice(0, colon), action: rest.slice(colon + 1) };
}

export async function handleGemini(exchange: Exchange, context: GatewayContext): Promise<void> {
  const { model = "", action = "" } = exchange.params;
  switch (action) {
    case "generateContent":
      return generateContent(exchange, context, model, false);
    case "streamGenerateContent":
      if (exchange.query.get("alt") !== "sse") {
        throw new InvalidRequestError("streamGenerateContent needs ?alt=sse (server-sent events)", "alt");
      }
      return generateContent(exchange, context, model, true);
    case "countTokens":
      return countTokens(exchange, context, model);
    case "embedContent":
      return embedContent(exchange, context, model);
    case "batchEmbedContents":
      return batchEmbedContents(exchange, context, model);
    default:
      throw new RouteNotFoundError("POST", `/v1beta/models/${model}:${action}`);
  }
}

const FINISH_REASONS: Record<FinishReason, string> = {
  stop: "STOP",
  length: "MAX_TOKENS",
  tool_calls: "STOP",
};

async function generateContent(
  exchange: Exchange,
  context: GatewayContext,
  modelId: string,
  stream: boolean,
) {
  const raw = camelCaseFields(await readJsonBody(exchange.req, context.limits.max_body_bytes));
  const body = parseBody(generateContentSchema, raw);
  const admitted = await admitFor(exchange, context, modelId, "generate");
  try {
    const config = body.generationConfig;
    const request = toGenerateRequest(
      context,
      admitted.model,
      { messages: geminiTurns(body) },
      config?.maxOutputTokens,
      {
        temperature: config?.temperature,
        top_p: config?.topP,
        top_k: config?.topK,
        seed: config?.seed,
        stop: config?.stopSequences,
        stream,
      },
    );
    applyGeminiFields(request, body);
    const unknown = unknownGeminiFields(raw as Record<string, unknown>);
    if (unknown) request.unknownFields = unknown;
    // Written anew, not as sent: the upstream gets the fields camel-cased (a client may send snake_case).
    request.passthrough = {
      endpoint: "generateContent",
      body: raw as Record<string, unknown>,
      text: JSON.stringify(raw),
    };
    const chunks = recorded(exchange, admitted.model.generate(request, exchange.signal))[
      Symbol.asyncIterator
    ]();
    const first = await chunks.next();
    const envelope = { modelVersion: admitted.name, responseId: randomUUID() };
    if (!stream) {
      const answer = await wholeAnswer(first, chunks);
      if (answer.raw) {
        sendJsonText(exchange.res, 200, rawWith(answer.raw, "modelVersion", envelope.modelVersion));
        return;
      }
      sendJson(exchange.res, 200, {
        candidates: answer.choices.map((choice, index) =>
          candidate(answerParts(choice.text, choice.toolCalls), choice.finishReason, choice.logprobs, index),
        ),
        usageMetadata: usageOf(answer.done),
        ...envelope,
      });
      return;
    }
    const sse = new SseStream(exchange.res);
    try {
      // Function calls go out whole, each candidate's in the event that ends the answer.
      const tools: ToolCallAssembler[] = [];
      let passedThrough = false;
      for (let step = first; !step.done; step = await chunks.next()) {
        const chunk = step.value;
        if (chunk.raw) {
          await sse.dataText(rawWith(chunk.raw, "modelVersion", envelope.modelVersion));
          passedThrough = true;
          continue;
        }
        // A passed-through stream's closing summary: its events said it all.
        if (passedThrough) continue;
        const index = chunk.choice ?? 0;
        if (chunk.toolCalls) {
          tools[index] ??= new ToolCallAssembler();
          tools[index].add(chunk.toolCalls);
        }
        const { text, done } = chunk;
        if (!text && !done) continue;
        if (!done) {
          await sse.data({
            candidates: [candidate([{ text }], undefined, chunk.logprobs, index)],
            ...envelope,
          });
          continue;
        }
        // The end: every candidate's finish reason and calls; the first's carries the last chunk's text.
        const reasons = done.finishReasons ?? [done.finishReason];
        await sse.data({
          candidates: reasons.map((reason, choice) =>
            candidate(
              answerParts(choice === index ? text : "", tools[choice]?.calls()),
              reason,
              choice === index ? chunk.logprobs : undefined,
              choice,
            ),
          ),
          usageMetadata: usageOf(done),
          ...envelope,
        });
      }
      sse.end();
    } catch (error) {
      await sse.data(errorResponse(causeOf(exchange, error), "gemini").body);
      sse.end();
      throw error;
    }
  } finally {
    admitted.release();
  }
}

function answerParts(text: string, toolCalls: readonly ToolCall[] | undefined): Record<string, unknown>[] {
  const parts: Record<string, unknown>[] = [];
  if (text || !toolCalls) parts.push({ text });
  for (const call of toolCalls ?? [])
    parts.push({ functionCall: { id: call.id, name: call.name, args: JSON.parse(call.arguments || "{}") } });
  return parts;
}

function candidate(
  parts: Record<string, unknown>[],
  finishReason: FinishReason | undefined,
  logprobs: readonly TokenLogprobs[] | undefined,
  index: number,
) {
  return {
    content: { role: "model", parts },
    ...(finishReason && { finishReason: FINISH_REASONS[finishReason] }),
    ...(logprobs && { logprobsResult: logprobsResult(logprobs) }),
    index,
  };
}

function logprobsResult(logprobs: readonly TokenLogprobs[]) {
  return {
    topCandidates: logprobs.map(({ top }) => ({
      candidates: top.map(({ token, logprob }) => ({ token, logProbability: logprob })),
    })),
    chosenCandidates: logprobs.map(({ token, logprob }) => ({ token, logProbability: logprob })),
  };
}

function usageOf(done: NonNullable<GenerateChunk["done"]>) {
  const { promptTokens, completionTokens } = done.usage;
  return {
    promptTokenCount: promptTokens,
    candidatesTokenCount: completionTokens,
    totalTokenCount: promptTokens + completionTokens,
  };
}

/**
 * The tokens the model would be prompted with for `contents` (or a whole `generateContentRequest`), its chat
 * template applied. Only a local model can count; a remote model or a route over several is refused.
 */
async function countTokens(exchange: Exchange, context: GatewayContext, modelId: string) {
  const raw = (await readJsonBody(exchange.req, context.limits.max_body_bytes)) as Record<
    string,
    unknown
  > | null;
  const inner =
    raw && typeof raw === "object" && "generateContentRequest" in raw ? raw.generateContentRequest : raw;
  const body = parseBody(generateContentSchema, camelCaseFields(inner));
  const admitted = await admitFor(exchange, context, modelId, "generate");
  try {
    const upstream = admitted.model.countTokensUpstream;
    if (upstream) {
      // A Gemini upstream counts its own tokens: the client's request goes to it.
      sendJson(exchange.res, 200, {
        totalTokens: await upstream.call(admitted.model, inner as Record<string, unknown>),
      });
      return;
    }
    const count = admitted.model.countPromptTokens;
    if (!count)
      throw new InvalidRequestError(
        `model '${admitted.name}' cannot count tokens here: an OpenAI-format upstream has no token count, and a route spans several models`,
        "model",
      );
    if (body.tools)
      throw new InvalidRequestError(
        "countTokens with tools is not supported (local models take no tools)",
        "tools",
      );
    const request = toGenerateRequest(context, admitted.model, { messages: geminiTurns(body) }, 1, {});
    sendJson(exchange.res, 200, { totalTokens: count.call(admitted.model, request) });
  } finally {
    admitted.release();
  }
}

async function embedTexts(exchange: Exchange, context: GatewayContext, modelId: string, texts: string[]) {
  const admitted = await admitFor(exchange, context, modelId, "embed");
  try {
    const { vectors, promptTokens } = await admitted.model.embed(texts);
    exchange.record.promptTokens = promptTokens;
    return vectors.map((vector) => ({ values: Array.from(vector) }));
  } finally {
    admitted.release();
  }
}

async function embedContent(exchange: Exchange, context: GatewayContext, modelId: string) {
  const body = parseBody(embedContentSchema, await readJsonBody(exchange.req, context.limits.max_body_bytes));
  const [embedding] = await embedTexts(exchange, context, modelId, [textOf(body.content.parts)]);
  sendJson(exchange.res, 200, { embedding });
}

async function batchEmbedContents(exchange: Exchange, context: GatewayContext, modelId: string) {
  const body = parseBody(
    batchEmbedContentsSchema,
    await readJsonBody(exchange.req, context.limits.max_body_bytes),
  );
  const texts = body.requests.map((request) => textOf(request.content.parts));
  sendJson(exchange.res, 200, { embeddings: await embedTexts(exchange, context, modelId, texts) });
}

function textOf(parts: readonly { text: string }[]): string {
  const text = parts.map((part) => part.text).join("");
  if (text.length === 0) throw new InvalidRequestError("content has no text", "content");
  return text;
}
