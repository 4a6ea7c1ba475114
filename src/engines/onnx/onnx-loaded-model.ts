import type { PreTrainedModel, PreTrainedTokenizer, Tensor } from "@huggingface/transformers";
import type { OnnxModelSpec } from "../../config/load-config.js";
import { InvalidRequestError, UnsupportedTaskError } from "../../core/errors.js";
import type {
  ClassifyResult,
  ContinuationScores,
  Embeddings,
  EmbedOptions,
  GenerateChunk,
  MemoryReport,
  Perplexity,
  TagResult,
} from "../../core/types.js";
import { type ModelRef, modelLabel } from "../../models/model-registry.js";
import type { LoadedModel } from "../engine.js";
import { ownDimensionsOnly } from "../native-dimensions.js";
import { bioEntities, type TokenPrediction } from "./bio-entities.js";
import { alignTokens, type PieceTokenizer, type TokenSpan } from "./token-offsets.js";

/** transformers.js's Tensor constructor, handed in by the engine (the library is imported lazily). */
export type TensorClass = new (type: "int64", data: BigInt64Array, dims: number[]) => Tensor;

/** One model input's worth of a text for tagging: its token ids (special tokens around them) and their spans. */
interface TagWindow {
  text: number;
  ids: number[];
  /** Where the text's tokens start among `ids` (after the special tokens the tokenizer puts first). */
  offset: number;
  spans: TokenSpan[];
}

const MAX_TEXTS_PER_CALL = 4096;

/**
 * An encoder that classifies (softmax over its `logits` head), embeds (mean of `last_hidden_state` over the
 * attention mask, L2-normalized), or, with a token-classification head (BIO labels), tags entities. Inputs are
 * sorted by length before batching so a batch pads little.
 */
export class OnnxLoadedModel implements LoadedModel {
  readonly #labels: readonly string[];
  /** A token classifier's labels are tags (`B-PER`, `I-PER`, `O`): it tags, and does not classify whole texts. */
  readonly #tags: boolean;
  #specials: { prefix: number[]; suffix: number[] } | undefined;

  constructor(
    readonly ref: ModelRef & { spec: OnnxModelSpec },
    readonly runtime: Readonly<Record<string, string | number | boolean>>,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly model: PreTrainedModel,
    private readonly weightsBytes: number,
    private readonly tensor: TensorClass,
  ) {
    // Encoders with learned absolute positions must be padded on the right; LLaMA-style tokenizers
    // (this vocabulary's) default to the left, which shifts every position of a shorter text.
    tokenizer.padding_side = "right";
    const id2label = (model.config as { id2label?: Record<string, string> }).id2label ?? {};
    this.#labels = Object.keys(id2label)
      .sort((a, b) => Number(a) - Number(b))
      .map((key) => id2label[key] ?? key);
    this.#tags = this.#labels.some((label) => /^[BI]-/.test(label));
  }

  // biome-ignore lint/correctness/useYield: an encoder cannot generate; the error is the whole stream.
  async *generate(): AsyncIterable<GenerateChunk> {
    throw new UnsupportedTaskError(this.ref.spec.id, "generate");
  }

  scoreContinuations(): Promise<ContinuationScores> {
    return Promise.reject(
      new UnsupportedTaskError(this.ref.spec.id, "score continuations (it is not a language model)"),
    );
  }

  perplexity(): Promise<Perplexity> {
    return Promise.reject(
      new UnsupportedTaskError(this.ref.spec.id, "score text (it is not a language model)"),
    );
  }

  tokenize(text: string): readonly number[] {
    return this.tokenizer.encode(text);
  }

  classify(texts: readonly string[]): Promise<ClassifyResult[]> {
    if (this.#labels.length === 0 || this.#tags)
      return Promise.reject(
        new UnsupportedTaskError(
          this.ref.spec.id,
          this.#tags ? "classify (it tags tokens: use tag)" : "classify",
        ),
      );
    return this.#forward(texts, (outputs, row) => {
      const logits = rowOf(outputs.logits, row, "logits");
      const probabilities = softmax(logits);
      const best = argmaxOf(probabilities);
      const scores: Record<string, number> = {};
      probabilities.forEach((p, i) => {
        scores[this.#labels[i] ?? String(i)] = p;
      });
      return { label: this.#labels[best] ?? String(best), score: probabilities[best] ?? 0, scores };
    });
  }

  async embed(texts: readonly string[], options?: EmbedOptions): Promise<Embeddings> {
    let promptTokens = 0;
    const vectors = await this.#forward(texts, (outputs, row, mask) => {
      const pooled = meanPool(outputs.last_hidden_state, row, mask);
      promptTokens += pooled.tokens;
      return pooled.vector;
    });
    return ownDimensionsOnly({ vectors, promptTokens }, options, modelLabel(this.ref));
  }

  /**
   * Each text's entities: its tokens read off the tokenizer's own pieces with their exact spans, cut into windows
   * of at most `max_length` tokens (a long text is tagged window by window), the windows of all texts batched by
   * length, each token's tag the argmax of its logits.
   */
  async tag(texts: readonly string[]): Promise<TagResult[]> {
    if (!this.#tags)
      return Promise.reject(
        new UnsupportedTaskError(
          this.ref.spec.id,
          "tag (its labels are not B-/I- tags: it has no token-classification head)",
        ),
      );
    validateTexts(texts);
    const windows = texts.flatMap((text, index) => this.#windows(text, index));
    windows.sort((a, b) => a.ids.length - b.ids.length);
    const predictions: TokenPrediction[][] = texts.map(() => []);
    const batchSize = this.ref.spec.batch_size;
    const pad = BigInt(this.tokenizer.pad_token_id ?? 0);
    for (let start = 0; start < windows.length; start += batchSize) {
      const batch = windows.slice(start, start + batchSize);
      const length = Math.max(...batch.map((window) => window.ids.length));
      const ids = new BigInt64Array(batch.length * length).fill(pad);
      const mask = new BigInt64Array(batch.length * length);
      batch.forEach((window, row) => {
        window.ids.forEach((id, position) => {
          ids[row * length + position] = BigInt(id);
          mask[row * length + position] = 1n;
        });
      });
      const dims = [batch.length, length];
      const outputs = (await this.model({
        input_ids: new this.tensor("int64", ids, dims),
        attention_mask: new this.tensor("int64", mask, dims),
        token_type_ids: new this.tensor("int64", new BigInt64Array(ids.length), dims),
      })) as Record<string, Tensor | undefined>;
      const logits = outputs.logits;
      if (logits?.dims.length !== 3)
        throw new Error("a token classifier's logits must be [batch, tokens, labels]");
      const width = logits.dims[2] ?? 0;
      const data = logits.data as Float32Array;
      batch.forEach((window, row) => {
        window.spans.forEach((span, token) => {
          const at = (row * length + window.offset + token) * width;
          const probabilities = softmax(data.subarray(at, at + width));
          const best = argmaxOf(probabilities);
          predictions[window.text]?.push({
            span,
            label: this.#labels[best] ?? "O",
            score: probabilities[best] ?? 0,
          });
        });
      });
    }
    // Windows were batched by length; a text's tokens go back in order before decoding.
    return texts.map((text, index) => ({
      entities: bioEntities(
        text,
        (predictions[index] ?? []).sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end),
      ),
    }));
  }

  /** A text's tokens in windows that fit `max_length` with the tokenizer's own special tokens around each. */
  #windows(text: string, index: number): TagWindow[] {
    const { ids, spans } = alignTokens(
      this.tokenizer as unknown as PieceTokenizer,
      text,
      modelLabel(this.ref),
    );
    const { prefix, suffix } = this.#specialTokens();
    const room = this.ref.spec.max_length - prefix.length - suffix.length;
    const windows: TagWindow[] = [];
    for (let start = 0; start < ids.length; start += room)
      windows.push({
        text: index,
        ids: [...prefix, ...ids.slice(start, start + room), ...suffix],
        offset: prefix.length,
        spans: spans.slice(start, start + room),
      });
    return windows;
  }

  /**
   * The special tokens the tokenizer puts around a text's own (`<s>` first for this vocabulary, `[CLS]` … `[SEP]`
   * for BERT's), read once from how it encodes a probe.
   */
  #specialTokens(): { prefix: number[]; suffix: number[] } {
    if (this.#specials) return this.#specials;
    const label = modelLabel(this.ref);
    const probe = "a";
    const own = (this.tokenizer as unknown as PieceTokenizer).convert_tokens_to_ids(
      this.tokenizer.tokenize(probe),
    );
    const encoded = this.tokenizer.encode(probe);
    const offset = encoded.findIndex((_, at) => own.every((id, i) => encoded[at + i] === id));
    if (offset === -1) throw new Error(`${label}: the tokenizer's encoding does not hold its own pieces`);
    const specials = { prefix: encoded.slice(0, offset), suffix: encoded.slice(offset + own.length) };
    if (this.ref.spec.max_length - specials.prefix.length - specials.suffix.length < 1)
      throw new Error(`${label}: max_length leaves no room for text tokens`);
    this.#specials = specials;
    return specials;
  }

  async memory(): Promise<MemoryReport> {
    return { weightsBytes: this.weightsBytes, stateBytes: 0, vramBytes: 0 };
  }

  async close(): Promise<void> {
    await this.model.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #forward<R>(
    texts: readonly string[],
    pick: (outputs: Record<string, Tensor | undefined>, row: number, mask: Tensor) => R,
  ): Promise<R[]> {
    validateTexts(texts);
    const order = texts
      .map((_, index) => index)
      .sort((a, b) => (texts[a]?.length ?? 0) - (texts[b]?.length ?? 0));
    const results = new Array<R>(texts.length);
    const { batch_size: batchSize, max_length: maxLength } = this.ref.spec;
    for (let start = 0; start < order.length; start += batchSize) {
      const indices = order.slice(start, start + batchSize);
      const inputs = this.tokenizer(
        indices.map((index) => texts[index] ?? ""),
        { padding: true, truncation: true, max_length: maxLength },
      ) as Record<string, Tensor>;
      const outputs = (await this.model(inputs)) as Record<string, Tensor | undefined>;
      const mask = inputs.attention_mask;
      if (!mask) throw new Error("tokenizer returned no attention_mask");
      indices.forEach((index, row) => {
        results[index] = pick(outputs, row, mask);
      });
    }
    return results;
  }
}

function validateTexts(texts: readonly string[]): void {
  if (!Array.isArray(texts) || texts.length === 0) throw new InvalidRequestError("input is empty", "input");
  if (texts.length > MAX_TEXTS_PER_CALL) {
    throw new InvalidRequestError(`at most ${MAX_TEXTS_PER_CALL} inputs per call`, "input");
  }
  texts.forEach((text, index) => {
    if (typeof text !== "string" || text.length === 0) {
      throw new InvalidRequestError(`input[${index}] must be a non-empty string`, "input");
    }
  });
}

function rowOf(tensor: Tensor | undefined, row: number, name: string): Float32Array {
  if (!tensor) throw new Error(`model has no '${name}' output`);
  const width = tensor.dims.at(-1) ?? 0;
  return (tensor.data as Float32Array).subarray(row * width, (row + 1) * width);
}

/** The index of the largest value (the first, on a tie). */
function argmaxOf(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] ?? 0) > (values[best] ?? 0)) best = i;
  return best;
}

function softmax(logits: Float32Array): number[] {
  const max = Math.max(...logits);
  const exps = Array.from(logits, (value) => Math.exp(value - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / sum);
}

function meanPool(
  hidden: Tensor | undefined,
  row: number,
  mask: Tensor,
): { vector: Float32Array; tokens: number } {
  if (!hidden) throw new Error("model has no 'last_hidden_state' output");
  const [, seqLength = 0, width = 0] = hidden.dims;
  const data = hidden.data as Float32Array;
  const maskData = mask.data as BigInt64Array;
  const sum = new Float32Array(width);
  let count = 0;
  for (let t = 0; t < seqLength; t++) {
    if (maskData[row * seqLength + t] === 0n) continue;
    count++;
    const offset = (row * seqLength + t) * width;
    for (let d = 0; d < width; d++) sum[d] = (sum[d] ?? 0) + (data[offset + d] ?? 0);
  }
  let norm = 0;
  for (let d = 0; d < width; d++) {
    sum[d] = (sum[d] ?? 0) / Math.max(count, 1);
    norm += (sum[d] ?? 0) ** 2;
  }
  norm = Math.sqrt(norm) || 1;
  for (let d = 0; d < width; d++) sum[d] = (sum[d] ?? 0) / norm;
  return { vector: sum, tokens: count };
}
