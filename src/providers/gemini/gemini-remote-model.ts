import type { Dispatcher, Pool } from "undici";
import type { GeminiModelSpec } from "../../config/load-config.js";
import { UnsupportedTaskError, UpstreamError } from "../../core/errors.js";
import type {
  ClassifyResult,
  Embeddings,
  FinishReason,
  GenerateChunk,
  GenerateRequest,
  MemoryReport,
  Perplexity,
  Usage,
} from "../../core/types.js";
import { validateGenerateRequest } from "../../core/validate-generate-request.js";
import type { LoadedModel } from "../../engines/engine.js";
import type { ModelRef } from "../../models/model-registry.js";
import { parseJson, postJson, sseData, upstreamErrorMessage } from "../upstream-http.js";
import { parseGeminiDelta, toGeminiBody } from "./wire.js";

/**
 * A model behind the Gemini API (or infergate's Gemini routes), over a keep-alive pool. Chat and completion
 * requests both become `generateContent` calls; streams use `streamGenerateContent?alt=sse`.
 */
export class GeminiRemoteModel implements LoadedModel {
  readonly runtime: Readonly<Record<string, string | number | boolean>>;
  readonly #headers: Record<string, string>;
  readonly #modelPath: string;

  constructor(
    readonly ref: ModelRef & { spec: GeminiModelSpec },
    private readonly pool: Pool,
    basePath: string,
    apiKey: string | undefined,
  ) {
    this.#headers = { "content-type": "application/json", ...(apiKey && { "x-goog-api-key": apiKey }) };
    this.#modelPath = `${basePath}/v1beta/models/${encodeURIComponent(ref.spec.upstream_model)}`;
    this.runtime = {
      engine: "gemini",
      base_url: ref.spec.base_url,
      upstream_model: ref.spec.upstream_model,
      parallel: ref.spec.parallel,
    };
  }

  async *generate(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<GenerateChunk> {
    validateGenerateRequest(request);
    const body = toGeminiBody(request);
    if (request.whole === true) {
      const response = await this.#post(`${this.#modelPath}:generateContent`, body, signal);
      const delta = parseGeminiDelta(await response.body.json());
      yield {
        text: delta.text,
        tokenIds: [],
        at: performance.now(),
        done: done(delta.usage, delta.finishReason, 1),
      };
      return;
    }
    const response = await this.#post(`${this.#modelPath}:streamGenerateContent?alt=sse`, body, signal);
    let chunks = 0;
    let finishReason: FinishReason | null = null;
    let usage: Usage | null = null;
    let lastAt = performance.now();
    for await (const { data, at } of sseData(response.body, signal)) {
      const value = parseJson(data);
      const failure = upstreamErrorMessage(value);
      if (failure !== undefined) throw new UpstreamError("IG_UPSTREAM_ERROR", 502, `upstream: ${failure}`);
      const delta = parseGeminiDelta(value);
      finishReason = delta.finishReason ?? finishReason;
      usage = delta.usage ?? usage;
      lastAt = at;
      if (delta.text) {
        chunks++;
        yield { text: delta.text, tokenIds: [], at };
      }
    }
    // Gemini streams have no [DONE]: a finish reason is what says the answer is complete.
    if (finishReason === null)
      throw new UpstreamError("IG_UPSTREAM_ERROR", 502, "upstream stream ended without a finish reason");
    yield { text: "", tokenIds: [], at: lastAt, done: done(usage, finishReason, chunks) };
  }

  async embed(texts: readonly string[]): Promise<Embeddings> {
    const model = `models/${this.ref.spec.upstream_model}`;
    const response = await this.#post(`${this.#modelPath}:batchEmbedContents`, {
      requests: texts.map((text) => ({ model, content: { parts: [{ text }] } })),
    });
    const body = (await response.body.json()) as { embeddings?: { values?: number[] }[] };
    // Gemini reports no token usage for embeddings.
    return {
      vectors: (body.embeddings ?? []).map((embedding) => Float32Array.from(embedding.values ?? [])),
      promptTokens: 0,
    };
  }

  classify(): Promise<ClassifyResult[]> {
    return Promise.reject(
      new UnsupportedTaskError(this.ref.spec.id, "classify (the Gemini API has no classifier)"),
    );
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

  async close(): Promise<void> {}

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #post(path: string, body: unknown, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    return postJson(this.pool, {
      path,
      headers: this.#headers,
      body,
      signal,
      upstream: this.ref.spec.base_url,
    });
  }
}

/** Usage from the upstream when it reports it; else the streamed chunk count stands in for output tokens. */
function done(
  usage: Usage | null,
  finishReason: FinishReason | null,
  chunks: number,
): NonNullable<GenerateChunk["done"]> {
  return {
    usage: usage ?? { promptTokens: 0, completionTokens: chunks },
    finishReason: finishReason ?? "stop",
  };
}
