import type { Pool } from "undici";
import type { GeminiModelSpec } from "../../config/load-config.js";
import { UnsupportedTaskError, UpstreamError } from "../../core/errors.js";
import type {
  ClassifyResult,
  Embeddings,
  FinishReason,
  GenerateChunk,
  GenerateRequest,
  Usage,
} from "../../core/types.js";
import { validateGenerateRequest } from "../../core/validate-generate-request.js";
import type { ModelRef } from "../../models/model-registry.js";
import { finalSummary, RemoteModel } from "../remote-model.js";
import { parseJson, sseData, upstreamErrorMessage } from "../upstream-http.js";
import { parseGeminiDelta, toGeminiBody } from "./wire.js";

/**
 * A model behind the Gemini API (or infergate's Gemini routes), over a keep-alive pool. Chat and completion
 * requests both become `generateContent` calls; streams use `streamGenerateContent?alt=sse`.
 */
export class GeminiRemoteModel extends RemoteModel<GeminiModelSpec> {
  readonly #modelPath: string;

  constructor(
    ref: ModelRef & { spec: GeminiModelSpec },
    pool: Pool,
    basePath: string,
    apiKey: string | undefined,
  ) {
    super(ref, pool, { "content-type": "application/json", ...(apiKey && { "x-goog-api-key": apiKey }) });
    this.#modelPath = `${basePath}/v1beta/models/${encodeURIComponent(ref.spec.upstream_model)}`;
  }

  async *generate(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<GenerateChunk> {
    validateGenerateRequest(request);
    const body = toGeminiBody(request);
    if (request.whole === true) {
      const response = await this.post(`${this.#modelPath}:generateContent`, body, signal);
      const delta = parseGeminiDelta(await response.body.json());
      yield {
        text: delta.text,
        tokenIds: [],
        at: performance.now(),
        done: finalSummary(delta.usage, delta.finishReason, 1),
      };
      return;
    }
    const response = await this.post(`${this.#modelPath}:streamGenerateContent?alt=sse`, body, signal);
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
    yield { text: "", tokenIds: [], at: lastAt, done: finalSummary(usage, finishReason, chunks) };
  }

  async embed(texts: readonly string[]): Promise<Embeddings> {
    const model = `models/${this.ref.spec.upstream_model}`;
    const response = await this.post(`${this.#modelPath}:batchEmbedContents`, {
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
}
