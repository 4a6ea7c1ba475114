import type { Pool } from "undici";
import type { GeminiModelSpec, OpenAiModelSpec } from "../config/load-config.js";
import { UnsupportedTaskError, UpstreamError } from "../core/errors.js";
import type {
  ClassifyResult,
  ContinuationScores,
  Embeddings,
  EmbedOptions,
  FinishReason,
  GenerateChunk,
  GenerateRequest,
  MemoryReport,
  Perplexity,
  TokenLogprobs,
  ToolCallDelta,
  Usage,
} from "../core/types.js";
import type { LoadedModel } from "../engines/engine.js";
import type { ModelRef } from "../models/model-registry.js";
import {
  parseJson,
  postJson,
  sseData,
  type UpstreamBody,
  type UpstreamResponse,
  upstreamErrorMessage,
} from "./upstream-http.js";

export type RemoteModelSpec = OpenAiModelSpec | GeminiModelSpec;

/** One response, whole or one streamed event of it, as every wire format's parser reports it. */
export interface RemoteDelta {
  text: string;
  finishReason: FinishReason | null;
  usage: Usage | null;
  logprobs?: TokenLogprobs[];
  toolCalls?: ToolCallDelta[];
}

/** The final chunk's summary: usage as the upstream reports it, else the streamed chunk count for output tokens. */
function finalSummary(
  usage: Usage | null,
  finishReason: FinishReason | null,
  chunks: number,
): NonNullable<GenerateChunk["done"]> {
  return {
    usage: usage ?? { promptTokens: 0, completionTokens: chunks },
    finishReason: finishReason ?? "stop",
  };
}

/** An unstreamed answer as the one chunk that carries it (and, passed through, the body itself). */
export function wholeAnswerChunk(delta: RemoteDelta, raw?: Record<string, unknown>): GenerateChunk {
  const chunk: GenerateChunk = {
    text: delta.text,
    tokenIds: [],
    at: performance.now(),
    done: finalSummary(delta.usage, delta.finishReason, 1),
  };
  if (delta.logprobs) chunk.logprobs = delta.logprobs;
  if (delta.toolCalls) chunk.toolCalls = delta.toolCalls;
  if (raw) chunk.raw = raw;
  return chunk;
}

/**
 * A streamed answer as chunks, event by event, ending with its summary. It is complete only at `endMarker`
 * (OpenAI's `[DONE]`) or, for a format without one (Gemini), once a finish reason arrived: a stream that ends
 * otherwise may be cut short and fails rather than pass for complete. An error event fails it too. Passed through
 * (`passthrough`), every event becomes a chunk carrying it as `raw`, whether it has text or not.
 */
export async function* streamedAnswer(
  body: UpstreamBody,
  parse: (value: unknown) => RemoteDelta,
  endMarker?: string,
  passthrough = false,
): AsyncIterable<GenerateChunk> {
  let chunks = 0;
  let finishReason: FinishReason | null = null;
  let usage: Usage | null = null;
  let endedAt: number | undefined;
  let lastAt = performance.now();
  for await (const { data, at } of sseData(body)) {
    if (endedAt !== undefined) continue;
    lastAt = at;
    if (data === endMarker) {
      endedAt = at;
      continue;
    }
    const value = parseJson(data);
    const failure = upstreamErrorMessage(value);
    if (failure !== undefined) throw new UpstreamError("IG_UPSTREAM_ERROR", 502, `upstream: ${failure}`);
    const delta = parse(value);
    finishReason = delta.finishReason ?? finishReason;
    usage = delta.usage ?? usage;
    if (delta.text) chunks++;
    if (delta.text || delta.toolCalls || passthrough) {
      // Built field by field: this runs once per streamed event (object spreads are slow on Node 20's V8).
      const chunk: GenerateChunk = { text: delta.text, tokenIds: [], at };
      if (delta.logprobs) chunk.logprobs = delta.logprobs;
      if (delta.toolCalls) chunk.toolCalls = delta.toolCalls;
      if (passthrough) chunk.raw = value as Record<string, unknown>;
      yield chunk;
    }
  }
  if (endMarker !== undefined ? endedAt === undefined : finishReason === null) {
    const missing = endMarker !== undefined ? `before ${endMarker}` : "without a finish reason";
    throw new UpstreamError("IG_UPSTREAM_ERROR", 502, `upstream stream ended ${missing}`);
  }
  yield { text: "", tokenIds: [], at: endedAt ?? lastAt, done: finalSummary(usage, finishReason, chunks) };
}

/**
 * What every model behind an HTTP API has in common: a keep-alive pool, credentials in headers, nothing held in
 * this process, and no tokenizer or likelihoods to offer. Subclasses speak their wire format.
 */
export abstract class RemoteModel<S extends RemoteModelSpec> implements LoadedModel {
  readonly runtime: Readonly<Record<string, string | number | boolean>>;

  constructor(
    readonly ref: ModelRef & { spec: S },
    private readonly pool: Pool,
    private readonly headers: Record<string, string>,
  ) {
    this.runtime = {
      engine: ref.spec.engine,
      base_url: ref.spec.base_url,
      upstream_model: ref.spec.upstream_model,
      parallel: ref.spec.parallel,
    };
  }

  abstract generate(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<GenerateChunk>;
  abstract embed(texts: readonly string[], options?: EmbedOptions): Promise<Embeddings>;
  abstract classify(texts: readonly string[]): Promise<ClassifyResult[]>;

  scoreContinuations(): Promise<ContinuationScores> {
    return Promise.reject(new UnsupportedTaskError(this.ref.spec.id, "score continuations (it is remote)"));
  }

  perplexity(): Promise<Perplexity> {
    return Promise.reject(new UnsupportedTaskError(this.ref.spec.id, "score text (it is remote)"));
  }

  tokenize(): readonly number[] {
    throw new UnsupportedTaskError(this.ref.spec.id, "tokenize (it is remote)");
  }

  async memory(): Promise<MemoryReport> {
    return { weightsBytes: 0, stateBytes: 0, vramBytes: 0 };
  }

  /** The pool belongs to the provider, shared by every model on the same origin. */
  async close(): Promise<void> {}

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  protected post(path: string, body: unknown, signal?: AbortSignal): Promise<UpstreamResponse> {
    return postJson(this.pool, {
      path,
      headers: this.headers,
      body,
      signal,
      upstream: this.ref.spec.base_url,
    });
  }
}
