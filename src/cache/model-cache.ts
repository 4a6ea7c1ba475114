import { createHash } from "node:crypto";
import type { CacheConfig } from "../config/schema.js";
import type { RequestSignal } from "../core/abort.js";
import { completionInput } from "../core/chat-template.js";
import { ToolCallAssembler, toolCallDeltas } from "../core/tool-calls.js";
import type { Embeddings, EmbedOptions, GenerateChunk, GenerateRequest, ToolCall } from "../core/types.js";
import type { ServingModel } from "../routing/serving.js";
import { topics } from "../telemetry/events.js";
import type { GuardedStore } from "./guarded-store.js";
import type { SemanticIndex } from "./semantic-index.js";

/** How the cache took part in one request, for the response header and the record. */
export interface CacheOutcome {
  result: "hit" | "semantic_hit" | "miss" | "bypass";
  /** Of a semantic hit: the cosine similarity of the prompt to the cached one. */
  similarity?: number;
}

/** A cached generation: the streamed pieces (so a hit still streams) and the final summary. */
interface StoredAnswer {
  pieces: string[];
  toolCalls?: ToolCall[];
  done: NonNullable<GenerateChunk["done"]>;
}

export interface SemanticSettings {
  index: SemanticIndex;
  /** Embeds one prompt (L2-normalized). */
  embed(text: string): Promise<Float32Array>;
  /** The model ids it applies to. */
  models: ReadonlySet<string>;
  minSimilarity: number;
}

/**
 * Response and embedding caching in front of a model. Generations are cached when they repeat (temperature 0
 * or a fixed seed, unless `deterministic_only` is off), keyed by a SHA-256 of the normalized request: the
 * model variant, the prompt or messages, and the sampling fields that change the answer. Embeddings are cached
 * per text. With a semantic index for the model, a prompt close enough to a cached one gets its answer. Requests
 * for several choices or for log-probabilities go uncached: a replay could not give them back.
 */
export class ModelCache {
  constructor(
    private readonly store: GuardedStore,
    private readonly settings: CacheConfig,
    private readonly semantic?: SemanticSettings,
  ) {}

  /** `model` (the variant `label` of the model `id`) with the cache in front; `report` hears each outcome. */
  wrap(
    model: ServingModel,
    label: string,
    id: string,
    report?: (outcome: CacheOutcome) => void,
  ): ServingModel {
    const semantic = this.semantic?.models.has(id) ? this.semantic : undefined;
    const wrapped: ServingModel = {
      runtime: model.runtime,
      tokenize: (text) => model.tokenize(text),
      classify: (texts) => model.classify(texts),
      tag: (texts) => model.tag(texts),
      embed: this.settings.embeddings
        ? (texts, options) => this.#embed(model, label, texts, options, report)
        : (texts, options) => model.embed(texts, options),
      generate: this.settings.responses
        ? (request, signal) => this.#generate(model, label, request, signal, semantic, report)
        : (request, signal) => model.generate(request, signal),
    };
    const count = model.countPromptTokens;
    if (count) wrapped.countPromptTokens = (request) => count.call(model, request);
    const countUpstream = model.countTokensUpstream;
    if (countUpstream) wrapped.countTokensUpstream = (body) => countUpstream.call(model, body);
    return wrapped;
  }

  async *#generate(
    model: ServingModel,
    label: string,
    request: GenerateRequest,
    signal: RequestSignal | undefined,
    semantic: SemanticSettings | undefined,
    report: ((outcome: CacheOutcome) => void) | undefined,
  ): AsyncIterable<GenerateChunk> {
    const repeats =
      !this.settings.deterministic_only || request.temperature === 0 || request.seed !== undefined;
    if (!repeats || request.n !== undefined || request.topLogprobs !== undefined) {
      yield* model.generate(request, signal);
      return;
    }
    const context = samplingContext(label, request);
    const key = digest([
      "generate",
      context,
      request.messages ?? request.promptTokens ?? request.prompt ?? "",
    ]);
    const found = await this.store.get(key);
    if ("value" in found) {
      yield* this.#replay(found.value, { result: "hit" }, report);
      return;
    }
    let vector: Float32Array | undefined;
    // Token ids have no text to embed: such a prompt is looked up exactly only.
    if (semantic && !("bypass" in found) && request.promptTokens === undefined) {
      // Only the semantic cache needs the prompt as the model sees it (a chat rendered to text).
      vector = await semantic.embed(completionInput(request).prompt).catch(() => {
        // Without the prompt's embedding the request simply goes without the semantic cache.
        topics.cacheStore.publish({ event: "store_error", count: 1 });
        return undefined;
      });
      const near = vector && semantic.index.nearest(context, vector);
      const cached =
        near && near.similarity >= semantic.minSimilarity ? await this.store.get(near.key) : undefined;
      if (near && cached && "value" in cached) {
        yield* this.#replay(cached.value, { result: "semantic_hit", similarity: near.similarity }, report);
        return;
      }
    }
    const outcome: CacheOutcome = { result: "bypass" in found ? "bypass" : "miss" };
    report?.(outcome);
    topics.cacheLookup.publish({ cache: "response", result: outcome.result, count: 1 });
    const pieces: string[] = [];
    let tools: ToolCallAssembler | undefined;
    for await (const chunk of model.generate(request, signal)) {
      if (chunk.text) pieces.push(chunk.text);
      if (chunk.toolCalls) {
        tools ??= new ToolCallAssembler();
        tools.add(chunk.toolCalls);
      }
      if (chunk.done && outcome.result === "miss") {
        const answer: StoredAnswer = { pieces, done: chunk.done };
        const toolCalls = tools?.calls();
        if (toolCalls) answer.toolCalls = toolCalls;
        void this.store.set(key, Buffer.from(JSON.stringify(answer)), this.settings.ttl_s * 1000);
        if (vector) semantic?.index.add(context, vector, key, Date.now() + this.settings.ttl_s * 1000);
      }
      yield chunk;
    }
  }

  async *#replay(
    value: Buffer,
    outcome: CacheOutcome,
    report: ((outcome: CacheOutcome) => void) | undefined,
  ): AsyncIterable<GenerateChunk> {
    report?.(outcome);
    topics.cacheLookup.publish({ cache: "response", result: outcome.result, count: 1 });
    const { pieces, done, toolCalls } = JSON.parse(value.toString("utf8")) as StoredAnswer;
    if (toolCalls)
      yield { text: "", tokenIds: [], at: performance.now(), toolCalls: toolCallDeltas(toolCalls) };
    if (pieces.length === 0) {
      yield { text: "", tokenIds: [], at: performance.now(), done };
      return;
    }
    for (const [index, text] of pieces.entries()) {
      yield { text, tokenIds: [], at: performance.now(), ...(index === pieces.length - 1 && { done }) };
    }
  }

  /** Cached texts come from the store; the rest are embedded in one call. Usage counts only those. */
  async #embed(
    model: ServingModel,
    label: string,
    texts: readonly string[],
    options: EmbedOptions | undefined,
    report: ((outcome: CacheOutcome) => void) | undefined,
  ): Promise<Embeddings> {
    const dimensions = options?.dimensions;
    const keys = texts.map((text) =>
      digest(dimensions === undefined ? ["embed", label, text] : ["embed", label, text, dimensions]),
    );
    const found = await Promise.all(keys.map((key) => this.store.get(key)));
    const vectors: (Float32Array | undefined)[] = found.map((lookup) =>
      "value" in lookup ? toVector(lookup.value) : undefined,
    );
    const missing = vectors.flatMap((vector, index) => (vector ? [] : [index]));
    const bypassed = found.filter((lookup) => "bypass" in lookup).length;
    topics.cacheLookup.publish({ cache: "embedding", result: "hit", count: texts.length - missing.length });
    topics.cacheLookup.publish({ cache: "embedding", result: "miss", count: missing.length - bypassed });
    topics.cacheLookup.publish({ cache: "embedding", result: "bypass", count: bypassed });
    report?.({ result: missing.length === 0 ? "hit" : bypassed > 0 ? "bypass" : "miss" });
    if (missing.length === 0) return { vectors: vectors as Float32Array[], promptTokens: 0 };
    const computed = await model.embed(
      missing.map((index) => texts[index] as string),
      options,
    );
    missing.forEach((index, i) => {
      const vector = computed.vectors[i] as Float32Array;
      vectors[index] = vector;
      if (!("bypass" in (found[index] as object)))
        void this.store.set(keys[index] as string, fromVector(vector), this.settings.ttl_s * 1000);
    });
    return { vectors: vectors as Float32Array[], promptTokens: computed.promptTokens };
  }
}

/** Everything but the prompt that decides a generation; a greedy one ignores the sampling knobs. */
function samplingContext(label: string, request: GenerateRequest): string {
  const greedy = request.temperature === 0;
  return digest([
    label,
    request.maxTokens,
    request.temperature,
    greedy ? null : (request.topP ?? null),
    greedy ? null : (request.topK ?? null),
    greedy ? null : (request.seed ?? null),
    [...(request.stop ?? [])].sort(),
    request.ignoreEos === true,
    request.messages === undefined ? "completion" : "chat",
    answerShaping(request),
  ]);
}

/** The fields past sampling that change an answer, and the values of the fields infergate does not know. */
function answerShaping(request: GenerateRequest): unknown[] {
  const body = request.passthrough?.body;
  return [
    request.tools ?? null,
    request.toolChoice ?? null,
    request.parallelToolCalls ?? null,
    request.jsonSchema ?? null,
    request.jsonObject === true,
    request.echo === true,
    request.presencePenalty ?? null,
    request.frequencyPenalty ?? null,
    request.logitBias ?? null,
    request.reasoningEffort ?? null,
    (request.unknownFields ?? []).map((field) => [field, body?.[field] ?? null]),
  ];
}

function digest(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

function fromVector(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer.slice(vector.byteOffset, vector.byteOffset + vector.byteLength));
}

function toVector(bytes: Buffer): Float32Array {
  // A copy: the buffer may be a view into a pool, with no float alignment.
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
