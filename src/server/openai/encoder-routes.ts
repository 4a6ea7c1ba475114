import type { Exchange } from "../exchange.js";
import { admitFor, type GatewayContext } from "../gateway-context.js";
import { readJsonBody, sendJson } from "../http-io.js";
import { classifyRequestSchema, embeddingRequestSchema, parseBody, tagRequestSchema } from "./schemas.js";

export async function handleEmbeddings(exchange: Exchange, context: GatewayContext): Promise<void> {
  const body = parseBody(
    embeddingRequestSchema,
    await readJsonBody(exchange.req, context.limits.max_body_bytes),
  );
  const inputs = [body.input].flat();
  const admitted = await admitFor(exchange, context, body.model, "embed", body.user);
  try {
    const { vectors, promptTokens } = await admitted.model.embed(
      inputs,
      body.dimensions ? { dimensions: body.dimensions } : undefined,
    );
    exchange.record.promptTokens = promptTokens;
    sendJson(exchange.res, 200, {
      object: "list",
      data: vectors.map((vector, index) => ({
        object: "embedding",
        index,
        // OpenAI's SDKs ask for base64 by default: little-endian float32 bytes.
        embedding:
          body.encoding_format === "base64"
            ? Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString("base64")
            : Array.from(vector),
      })),
      model: admitted.name,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  } finally {
    admitted.release();
  }
}

/** infergate's own endpoint: `{model, input}` → `{data: [{label, score}]}`. */
export async function handleClassify(exchange: Exchange, context: GatewayContext): Promise<void> {
  const body = parseBody(
    classifyRequestSchema,
    await readJsonBody(exchange.req, context.limits.max_body_bytes),
  );
  const admitted = await admitFor(exchange, context, body.model, "classify");
  try {
    const results = await admitted.model.classify([body.input].flat());
    sendJson(exchange.res, 200, {
      object: "list",
      model: admitted.name,
      data: results.map((result, index) => ({
        index,
        label: result.label,
        score: result.score,
        scores: result.scores,
      })),
    });
  } finally {
    admitted.release();
  }
}

/**
 * infergate's own endpoint: `{model, input}` → `{data: [{index, entities: [{start, end, type, text, score}]}]}`,
 * offsets in Unicode code points.
 */
export async function handleTag(exchange: Exchange, context: GatewayContext): Promise<void> {
  const body = parseBody(tagRequestSchema, await readJsonBody(exchange.req, context.limits.max_body_bytes));
  const admitted = await admitFor(exchange, context, body.model, "tag");
  try {
    const results = await admitted.model.tag([body.input].flat());
    sendJson(exchange.res, 200, {
      object: "list",
      model: admitted.name,
      data: results.map((result, index) => ({ index, entities: result.entities })),
    });
  } finally {
    admitted.release();
  }
}
