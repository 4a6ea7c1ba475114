import { randomUUID } from "node:crypto";
import { InvalidRequestError, RouteNotFoundError } from "../../core/errors.js";
import type { ChatTurn, FinishReason, GenerateChunk } from "../../core/types.js";
import { errorResponse } from "../error-body.js";
import type { Exchange } from "../exchange.js";
import { causeOf, recorded, wholeAnswer } from "../exchange.js";
import { admitFor, type GatewayContext } from "../gateway-context.js";
import { toGenerateRequest } from "../generation-request.js";
import { readJsonBody, SseStream, sendJson } from "../http-io.js";
import { parseBody } from "../openai/schemas.js";
import {
  batchEmbedContentsSchema,
  embedContentSchema,
  type GenerateContentRequest,
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

function toMessages(body: GenerateContentRequest): ChatTurn[] {
  const system = body.systemInstruction?.parts.map((part) => part.text).join("") ?? "";
  return [
    ...(system ? [{ role: "system" as const, content: system }] : []),
    ...body.contents.map((content) => ({
      role: content.role === "model" ? ("assistant" as const) : ("user" as const),
      content: content.parts.map((part) => part.text).join(""),
    })),
  ];
}

async function generateContent(
  exchange: Exchange,
  context: GatewayContext,
  modelId: string,
  stream: boolean,
) {
  const body = parseBody(
    generateContentSchema,
    await readJsonBody(exchange.req, context.limits.max_body_bytes),
  );
  const admitted = await admitFor(exchange, context, modelId, "generate");
  try {
    const config = body.generationConfig;
    const request = toGenerateRequest(
      context,
      admitted.model,
      { messages: toMessages(body) },
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
    const chunks = recorded(exchange, admitted.model.generate(request, exchange.signal))[
      Symbol.asyncIterator
    ]();
    const first = await chunks.next();
    const envelope = { modelVersion: admitted.name, responseId: randomUUID() };
    if (!stream) {
      const { text, done } = await wholeAnswer(first, chunks);
      sendJson(exchange.res, 200, {
        candidates: [candidate(text, done.finishReason)],
        usageMetadata: usageOf(done),
        ...envelope,
      });
      return;
    }
    const sse = new SseStream(exchange.res);
    try {
      for (let step = first; !step.done; step = await chunks.next()) {
        const { text, done } = step.value;
        if (!text && !done) continue;
        await sse.data({
          candidates: [candidate(text, done?.finishReason)],
          ...(done && { usageMetadata: usageOf(done) }),
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

function candidate(text: string, finishReason: FinishReason | undefined) {
  return {
    content: { role: "model", parts: [{ text }] },
    ...(finishReason && { finishReason: FINISH_REASONS[finishReason] }),
    index: 0,
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
