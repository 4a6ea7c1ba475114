import type { Dispatcher, Pool } from "undici";
import type { GeminiModelSpec, OpenAiModelSpec } from "../config/load-config.js";
import { UnsupportedTaskError } from "../core/errors.js";
import type {
  ClassifyResult,
  Embeddings,
  FinishReason,
  GenerateChunk,
  GenerateRequest,
  MemoryReport,
  Perplexity,
  Usage,
} from "../core/types.js";
import type { LoadedModel } from "../engines/engine.js";
import type { ModelRef } from "../models/model-registry.js";
import { postJson } from "./upstream-http.js";

export type RemoteModelSpec = OpenAiModelSpec | GeminiModelSpec;

/** The final chunk's summary: usage as the upstream reports it, else the streamed chunk count for output tokens. */
export function finalSummary(
  usage: Usage | null,
  finishReason: FinishReason | null,
  chunks: number,
): NonNullable<GenerateChunk["done"]> {
  return {
    usage: usage ?? { promptTokens: 0, completionTokens: chunks },
    finishReason: finishReason ?? "stop",
  };
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
  abstract embed(texts: readonly string[]): Promise<Embeddings>;
  abstract classify(texts: readonly string[]): Promise<ClassifyResult[]>;

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

  protected post(path: string, body: unknown, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    return postJson(this.pool, {
      path,
      headers: this.headers,
      body,
      signal,
      upstream: this.ref.spec.base_url,
    });
  }
}
