import type {
  ControlledEvaluateInputItem,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaEmbeddingContext,
  LlamaModel,
  Token,
} from "node-llama-cpp";
import type { LlamaCppModelSpec } from "../../config/load-config.js";
import { completionInput } from "../../core/chat-template.js";
import {
  InvalidRequestError,
  PromptTooLongError,
  RequestAbortedError,
  UnsupportedTaskError,
} from "../../core/errors.js";
import { StopStrings } from "../../core/stop-strings.js";
import type {
  ClassifyResult,
  Embeddings,
  FinishReason,
  GenerateChunk,
  GenerateRequest,
  MemoryReport,
  Perplexity,
} from "../../core/types.js";
import { validateGenerateRequest } from "../../core/validate-generate-request.js";
import type { ModelRef } from "../../models/model-registry.js";
import type { LoadedModel } from "../engine.js";
import { ResourcePool } from "./resource-pool.js";

/** The model's own next-token distribution: no temperature, top-k, top-p or min-p reshaping it. */
const MODEL_DISTRIBUTION = { temperature: 1, topK: 0, topP: 1, minP: 0 };

/**
 * A GGUF model with one context of `parallel` sequences. Concurrent requests each take a free sequence and
 * llama.cpp decodes all active sequences in shared batches (continuous batching); a request that finds none
 * free waits for one.
 */
export class LlamaLoadedModel implements LoadedModel {
  readonly #pool: ResourcePool<LlamaContextSequence>;
  #embeddingContext: Promise<LlamaEmbeddingContext> | undefined;

  constructor(
    readonly ref: ModelRef & { spec: LlamaCppModelSpec },
    readonly runtime: Readonly<Record<string, string | number | boolean>>,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly stateBytes: number,
  ) {
    const sequences: LlamaContextSequence[] = [];
    for (let i = 0; i < context.totalSequences; i++) sequences.push(context.getSequence());
    this.#pool = new ResourcePool(sequences);
  }

  tokenize(text: string): Token[] {
    const tokens = this.model.tokenize(text);
    const bos = this.model.tokens.bos;
    return this.model.tokens.shouldPrependBosToken && bos !== null ? [bos, ...tokens] : tokens;
  }

  async *generate(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<GenerateChunk> {
    validateGenerateRequest(request);
    const input = completionInput(request);
    const prompt = this.tokenize(input.prompt);
    if (prompt.length + request.maxTokens > this.context.contextSize) {
      throw new PromptTooLongError(prompt.length, request.maxTokens, this.context.contextSize);
    }
    const sequence = await this.#pool.acquire(signal);
    try {
      // The whole prompt goes in as one batch, as the reference implementation computes it; splitting it (as
      // prefix reuse would) changes the floating-point sums enough to flip near-tied greedy choices.
      await sequence.clearHistory();
      const stops = new StopStrings(input.stop);
      const generated: Token[] = [];
      let unsent: Token[] = [];
      let undecoded: Token[] = [];
      let finishReason: FinishReason = "length";
      const tokens = sequence.evaluate(prompt, {
        temperature: request.temperature,
        topP: request.topP,
        topK: request.topK,
        seed: request.seed,
        yieldEogToken: true,
      });
      for await (const token of tokens) {
        if (signal?.aborted) throw new RequestAbortedError();
        if (this.model.isEogToken(token) && request.ignoreEos !== true) {
          finishReason = "stop";
          break;
        }
        generated.push(token);
        unsent.push(token);
        undecoded.push(token);
        // The tokens before decide whether a leading "▁" becomes a space.
        const decodedUpTo = generated.length - undecoded.length;
        const before =
          decodedUpTo > 0 ? generated.slice(Math.max(0, decodedUpTo - 4), decodedUpTo) : prompt.slice(-4);
        const decoded = this.model.detokenize(undecoded, false, before);
        // A byte-fallback token can end mid-character; wait for the rest of it.
        const complete = !decoded.endsWith("\uFFFD");
        if (complete) undecoded = [];
        const { text, stopped } = stops.push(complete ? decoded : "");
        if (stopped) {
          finishReason = "stop";
          if (text) yield { text, tokenIds: unsent, at: performance.now() };
          unsent = [];
          break;
        }
        if (text) {
          yield { text, tokenIds: unsent, at: performance.now() };
          unsent = [];
        }
        if (generated.length >= request.maxTokens) break;
      }
      if (signal?.aborted) throw new RequestAbortedError();
      yield {
        text: finishReason === "length" ? stops.flush() : "",
        tokenIds: unsent,
        at: performance.now(),
        done: { usage: { promptTokens: prompt.length, completionTokens: generated.length }, finishReason },
      };
    } finally {
      this.#pool.release(sequence);
    }
  }

  async embed(texts: readonly string[]): Promise<Embeddings> {
    this.#embeddingContext ??= this.model.createEmbeddingContext({
      contextSize: Math.min(this.ref.spec.context_size, this.model.trainContextSize),
      threads: this.context.idealThreads,
    });
    const context = await this.#embeddingContext;
    const vectors: Float32Array[] = [];
    let promptTokens = 0;
    for (const text of texts) {
      const tokens = this.tokenize(text);
      promptTokens += tokens.length;
      const embedding = await context.getEmbeddingFor(tokens);
      vectors.push(Float32Array.from(embedding.vector));
    }
    return { vectors, promptTokens };
  }

  async perplexity(documents: readonly string[], maxTokens: number): Promise<Perplexity> {
    if (!Number.isInteger(maxTokens) || maxTokens < 2 || maxTokens > this.context.contextSize) {
      throw new InvalidRequestError(
        `perplexity needs 2 to ${this.context.contextSize} tokens per document`,
        "max_tokens",
      );
    }
    const sequence = await this.#pool.acquire();
    try {
      let negativeLogLikelihood = 0;
      let tokens = 0;
      for (const document of documents) {
        const ids = this.tokenize(document).slice(0, maxTokens);
        if (ids.length < 2) continue;
        await sequence.clearHistory();
        const steps = await sequence.controlledEvaluate(
          ids
            .slice(0, -1)
            .map(
              (token): ControlledEvaluateInputItem => [
                token,
                { generateNext: { probabilities: true, options: MODEL_DISTRIBUTION } },
              ],
            ),
        );
        steps.forEach((step, i) => {
          const probability = step?.next?.probabilities?.get(ids[i + 1] as Token);
          negativeLogLikelihood -= Math.log(probability || Number.MIN_VALUE);
          tokens++;
        });
      }
      if (tokens === 0) throw new InvalidRequestError("no document has two tokens to score", "documents");
      return { perplexity: Math.exp(negativeLogLikelihood / tokens), tokens };
    } finally {
      this.#pool.release(sequence);
    }
  }

  classify(): Promise<ClassifyResult[]> {
    return Promise.reject(new UnsupportedTaskError(this.ref.spec.id, "classify"));
  }

  async memory(): Promise<MemoryReport> {
    const vram = await this.llama.getVramState();
    return { weightsBytes: this.model.size, stateBytes: this.stateBytes, vramBytes: vram.used };
  }

  async close(): Promise<void> {
    if (this.#embeddingContext) await (await this.#embeddingContext).dispose();
    await this.context.dispose();
    await this.model.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
