/** Shared value types. Everything else depends inward on these; they depend on nothing. */

export const TASKS = ["generate", "embed", "classify"] as const;
export type Task = (typeof TASKS)[number];

/** GGUF weight types llama.cpp loads, named as in GGUF file names. */
export const GGUF_PRECISIONS = ["f32", "f16", "bf16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_0"] as const;
/** ONNX dtypes as transformers.js names them (`fp32` → model.onnx, `int8` → model_int8.onnx, ...). */
export const ONNX_PRECISIONS = ["fp32", "fp16", "int8", "uint8", "q8", "q4", "q4f16"] as const;
export type Precision = (typeof GGUF_PRECISIONS)[number] | (typeof ONNX_PRECISIONS)[number];

export interface ChatTurn {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  content: string;
}

/** A completion (`prompt`) or a chat (`messages`) request; exactly one of the two is set. */
export interface GenerateRequest {
  /** Raw completion prompt; the engine adds BOS where the model wants it. */
  prompt?: string;
  messages?: readonly ChatTurn[];
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topP?: number;
  topK?: number;
  seed?: number;
  /** Generation stops before any of these strings; the stop string itself is not returned. */
  stop?: readonly string[];
  /** The caller wants the whole answer at once; a remote provider may then skip streaming. */
  whole?: boolean;
  /** Generate exactly `maxTokens`, past end-of-sequence (benchmarks with fixed output lengths; vLLM's ignore_eos). */
  ignoreEos?: boolean;
  /**
   * The answer is JSON valid against this JSON Schema: a local engine constrains decoding with a grammar, an
   * OpenAI-format upstream gets `response_format` `json_schema`, a Gemini one `responseSchema`.
   */
  jsonSchema?: Readonly<Record<string, unknown>>;
  /** Ask for the log-probabilities of this many likeliest tokens at each generated position (1-20). */
  topLogprobs?: number;
}

/** One generated token's log-probability and the likeliest alternatives at its position. */
export interface TokenLogprobs {
  token: string;
  logprob: number;
  top: { token: string; logprob: number }[];
}

export type FinishReason = "stop" | "length";

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/**
 * One step of a streamed generation. `at` is `performance.now()` when the chunk was produced, so timings
 * (TTFT, ITL, chunk gaps) are measured where the tokens appear, not where a consumer happens to read them.
 * The last chunk carries `done`.
 */
export interface GenerateChunk {
  text: string;
  tokenIds: readonly number[];
  at: number;
  /** With `topLogprobs`: one entry per token this chunk carries, where the runtime reports them. */
  logprobs?: TokenLogprobs[];
  done?: { usage: Usage; finishReason: FinishReason };
}

export interface Embeddings {
  vectors: Float32Array[];
  /** Tokens the inputs came to, for usage reporting. */
  promptTokens: number;
}

export interface Perplexity {
  /** exp of the mean negative log-likelihood of each token given the ones before it. */
  perplexity: number;
  /** Tokens scored (every token but each document's first). */
  tokens: number;
}

/**
 * Log-probabilities of continuations after one prompt, as a language model scores them (lm-evaluation-harness's
 * loglikelihood requests): each continuation's tokens are the tail of tokenize(prompt + continuation).
 */
export interface ContinuationScores {
  /** Σ ln P(token | everything before it) over each continuation's tokens, in the order given. */
  logprobs: number[];
  /** Tokens each continuation came to. */
  tokens: number[];
  /** Prompt tokens, BOS included where the model adds one. */
  promptTokens: number;
  /** Tokens the runtime evaluated to score them all: the prompt once, plus each continuation but its last token. */
  evaluatedTokens: number;
}

export interface ClassifyResult {
  label: string;
  score: number;
  /** Probability of every label, summing to 1. */
  scores: Readonly<Record<string, number>>;
}

export interface MemoryReport {
  /** Bytes of model weights held by the runtime. */
  weightsBytes: number;
  /** Bytes of per-request state (KV cache) the runtime allocated. */
  stateBytes: number;
  /** Bytes of accelerator memory in use, 0 on CPU. */
  vramBytes: number;
}
