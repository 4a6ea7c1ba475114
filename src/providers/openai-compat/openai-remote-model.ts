import type { Pool } from "undici";
import type { OpenAiModelSpec } from "../../config/load-config.js";
import type { RequestSignal } from "../../core/abort.js";
import { rawWith } from "../../core/json-text.js";
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
import { parseResponsesDelta } from "./responses-delta.js";
import { parseOpenAiDelta, toOpenAiBody } from "./wire.js";

/**
 * A model behind an OpenAI-compatible server, over a keep-alive connection pool. A streamed answer is passed on
 * event by event as it arrives; a request the caller wants whole is sent unstreamed.
 */
export class OpenAiRemoteModel extends RemoteModel<OpenAiModelSpec> {
  constructor(
    ref: ModelRef & { spec: OpenAiModelSpec },
    pool: Pool,
    private readonly basePath: string,
    apiKey: string | undefined,
  ) {
    super(ref, pool, {
      "content-type": "application/json",
      ...(apiKey && { authorization: `Bearer ${apiKey}` }),
    });
  }

  async *generate(request: GenerateRequest, signal?: RequestSignal): AsyncIterable<GenerateChunk> {
    validateGenerateRequest(request);
    const passthrough = passthroughFor(request, "openai", this.ref.spec.responses_api);
    const endpoint =
      passthrough?.endpoint ?? (request.messages === undefined ? "completions" : "chat/completions");
    // Passed through, the client's own `stream` decides, as the client reads the upstream's answer as it is.
    const stream = passthrough ? passthrough.body.stream === true : request.whole !== true;
    const path = `${this.basePath}/${endpoint}`;
    const response = passthrough
      ? await this.postText(
          path,
          rawWith({ text: passthrough.text, value: passthrough.body }, "model", this.ref.spec.upstream_model),
          signal,
        )
      : await this.post(
          path,
          toOpenAiBody(request, this.ref.spec.id, this.ref.spec.upstream_model, stream),
          signal,
        );
    // A Responses API stream has no end marker: it is complete once its final event says how it ended.
    const [parse, endMarker] =
      endpoint === "responses" ? [parseResponsesDelta, undefined] : [parseOpenAiDelta, "[DONE]"];
    if (!stream) {
      const { text, value } = await response.body.jsonWithText();
      const body = value as Record<string, unknown>;
      yield* wholeAnswerChunks(parse(body), passthrough && { text, value: body });
      return;
    }
    yield* streamedAnswer(response.body, parse, endMarker, passthrough !== undefined);
  }

  async embed(texts: readonly string[], options?: EmbedOptions): Promise<Embeddings> {
    const response = await this.post(`${this.basePath}/embeddings`, {
      model: this.ref.spec.upstream_model,
      input: texts,
      encoding_format: "float",
      ...(options?.dimensions !== undefined && { dimensions: options.dimensions }),
    });
    const body = (await response.body.json()) as {
      data?: { index: number; embedding: number[] }[];
      usage?: { prompt_tokens?: number };
    };
    const vectors = new Array<Float32Array>(texts.length);
    for (const item of body.data ?? []) vectors[item.index] = Float32Array.from(item.embedding);
    return { vectors, promptTokens: body.usage?.prompt_tokens ?? 0 };
  }

  /** infergate's own `/classify` endpoint, so one infergate can measure another's classifiers. */
  async classify(texts: readonly string[]): Promise<ClassifyResult[]> {
    const response = await this.post(`${this.basePath}/classify`, {
      model: this.ref.spec.upstream_model,
      input: texts,
    });
    const body = (await response.body.json()) as { data?: ClassifyResult[] };
    return body.data ?? [];
  }

  /** infergate's own `/tag` endpoint, as `classify`. */
  async tag(texts: readonly string[]): Promise<TagResult[]> {
    const response = await this.post(`${this.basePath}/tag`, {
      model: this.ref.spec.upstream_model,
      input: texts,
    });
    const body = (await response.body.json()) as { data?: TagResult[] };
    return (body.data ?? []).map(({ entities }) => ({ entities }));
  }
}
