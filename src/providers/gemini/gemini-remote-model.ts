import type { Pool } from "undici";
import type { GeminiModelSpec } from "../../config/load-config.js";
import type { RequestSignal } from "../../core/abort.js";
import { UnsupportedTaskError, UpstreamError } from "../../core/errors.js";
import type {
  ClassifyResult,
  Embeddings,
  EmbedOptions,
  GenerateChunk,
  GenerateRequest,
  TagResult,
} from "../../core/types.js";
import { validateGenerateRequest } from "../../core/validate-generate-request.js";
import type { ModelRef } from "../../models/model-registry.js";
import { passthroughFor } from "../passthrough.js";
import { RemoteModel, streamedAnswer, wholeAnswerChunks } from "../remote-model.js";
import { geminiDeltaParser, toGeminiBody } from "./wire.js";

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

  async *generate(request: GenerateRequest, signal?: RequestSignal): AsyncIterable<GenerateChunk> {
    validateGenerateRequest(request);
    // A Gemini client's own body goes as it is: the model is named in the path.
    const passthrough = passthroughFor(request, "gemini");
    const json = passthrough ? passthrough.text : JSON.stringify(toGeminiBody(request, this.ref.spec.id));
    if (request.whole === true) {
      const response = await this.postText(`${this.#modelPath}:generateContent`, json, signal);
      const { text, value } = await response.body.jsonWithText();
      const answer = value as Record<string, unknown>;
      yield* wholeAnswerChunks(geminiDeltaParser()(answer), passthrough && { text, value: answer });
      return;
    }
    const response = await this.postText(`${this.#modelPath}:streamGenerateContent?alt=sse`, json, signal);
    // Gemini streams have no [DONE]: a finish reason is what says the answer is complete.
    yield* streamedAnswer(response.body, geminiDeltaParser(), undefined, passthrough !== undefined);
  }

  /** `:countTokens` at the upstream, for the client's body as a `generateContentRequest` of the upstream's model. */
  async countTokensUpstream(body: Readonly<Record<string, unknown>>): Promise<number> {
    const response = await this.post(`${this.#modelPath}:countTokens`, {
      generateContentRequest: { ...body, model: `models/${this.ref.spec.upstream_model}` },
    });
    const answer = (await response.body.json()) as { totalTokens?: unknown };
    if (typeof answer.totalTokens !== "number")
      throw new UpstreamError("IG_UPSTREAM_ERROR", 502, "upstream countTokens answered without totalTokens");
    return answer.totalTokens;
  }

  async embed(texts: readonly string[], options?: EmbedOptions): Promise<Embeddings> {
    const model = `models/${this.ref.spec.upstream_model}`;
    const dimensions = options?.dimensions;
    const response = await this.post(`${this.#modelPath}:batchEmbedContents`, {
      requests: texts.map((text) =>
        dimensions === undefined
          ? { model, content: { parts: [{ text }] } }
          : { model, content: { parts: [{ text }] }, outputDimensionality: dimensions },
      ),
    });
    const body = (await response.body.json()) as { embeddings?: { values?: number[] }[] };
    // Gemini reports no token usage for embeddings.
    return {
      vectors: (body.embeddings ?? []).map((embedding) => Float32Array.from(embedding.values ?? [])),
      promptTokens: 0,
    };
  }

  tag(): Promise<TagResult[]> {
    return Promise.reject(new UnsupportedTaskError(this.ref.spec.id, "tag (the Gemini API has no tagger)"));
  }

  classify(): Promise<ClassifyResult[]> {
    return Promise.reject(
      new UnsupportedTaskError(this.ref.spec.id, "classify (the Gemini API has no classifier)"),
    );
  }
}
