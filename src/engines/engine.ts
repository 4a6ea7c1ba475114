import type { ModelSpec } from "../config/load-config.js";
import type { RequestSignal } from "../core/abort.js";
import type {
  ClassifyResult,
  ContinuationScores,
  Embeddings,
  EmbedOptions,
  GenerateChunk,
  GenerateRequest,
  MemoryReport,
  Perplexity,
  ServingProcess,
  TagResult,
} from "../core/types.js";
import type { ModelRef } from "../models/model-registry.js";

export interface LoadOptions {
  /** Overrides the model's configured (or calibrated) CPU thread count. */
  threads?: number;
}

/**
 * A model variant loaded into a runtime. In-process engines and remote providers implement the same shape,
 * so routing and bench never care where a model runs. A runtime that cannot do a task throws
 * `UnsupportedTaskError` from that method.
 *
 * @example
 * await using model = await engines.load(registry.resolve("lm-base:q8_0"));
 * for await (const chunk of model.generate({ prompt: "Whale, n.", maxTokens: 24, temperature: 0 })) {
 *   process.stdout.write(chunk.text);
 * }
 */
export interface LoadedModel extends AsyncDisposable {
  readonly ref: ModelRef;
  /** What the runtime chose at load time (threads, context size, ...), for reports. */
  readonly runtime: Readonly<Record<string, string | number | boolean>>;
  /** Streams timed chunks; the last carries usage and finish reason. Aborting throws `RequestAbortedError`. */
  generate(request: GenerateRequest, signal?: RequestSignal): AsyncIterable<GenerateChunk>;
  /** Token ids the model sees for `text`, BOS included where the model adds one. */
  tokenize(text: string): readonly number[];
  /** Tokens this model is prompted with for `request` (its chat template applied), where it can count them. */
  countPromptTokens?(request: GenerateRequest): number;
  /**
   * The same count asked of the upstream that serves the model (Gemini's `:countTokens`), for a remote model whose
   * API counts; `body` is the client's `generateContent` body.
   */
  countTokensUpstream?(body: Readonly<Record<string, unknown>>): Promise<number>;
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Embeddings>;
  classify(texts: readonly string[]): Promise<ClassifyResult[]>;
  /** Named entities in each text, by a token-classification (BIO-tagged) model. */
  tag(texts: readonly string[]): Promise<TagResult[]>;
  /**
   * How likely each continuation is after `prompt`; the prompt is evaluated once and its state reused for every
   * continuation.
   */
  scoreContinuations(
    prompt: string,
    continuations: readonly string[],
    signal?: RequestSignal,
  ): Promise<ContinuationScores>;
  /** How well a language model predicts `documents` (each cut to `maxTokens`). */
  perplexity(documents: readonly string[], maxTokens: number): Promise<Perplexity>;
  memory(): Promise<MemoryReport>;
  /** The process the model is decoded in, for a runtime that runs it apart (a supervised llama-server). */
  servingProcess?(): ServingProcess | undefined;
  close(): Promise<void>;
}

/** One runtime. `S` narrows the model specs it accepts. */
export interface Engine<S extends ModelSpec = ModelSpec> {
  load(ref: ModelRef & { spec: S }, options?: LoadOptions): Promise<LoadedModel>;
}
