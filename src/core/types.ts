import type { RawJson } from "./json-text.js";
/** Shared value types. Everything else depends inward on these; they depend on nothing. */

export const TASKS = ["generate", "embed", "classify", "tag"] as const;
export type Task = (typeof TASKS)[number];

/** GGUF weight types llama.cpp loads, named as in GGUF file names. */
export const GGUF_PRECISIONS = ["f32", "f16", "bf16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_0"] as const;
/** ONNX dtypes as transformers.js names them (`fp32` → model.onnx, `int8` → model_int8.onnx, ...). */
export const ONNX_PRECISIONS = ["fp32", "fp16", "int8", "uint8", "q8", "q4", "q4f16"] as const;
export type Precision = (typeof GGUF_PRECISIONS)[number] | (typeof ONNX_PRECISIONS)[number];

/** A non-text piece of a message, as the client gave it; `url` and `data` are never decoded here. */
export type ContentPart =
  | { type: "text"; text: string }
  /** An https URL or a `data:<mime>;base64,…` URL. */
  | { type: "image"; url: string; detail?: string }
  /** Base64 audio and its format (`wav`, `mp3`, …). */
  | { type: "audio"; data: string; format: string }
  /** A file by content (`data:` URL or base64) or by an id the upstream issued. */
  | { type: "file"; data?: string; fileId?: string; filename?: string };

/** A function the model asked to call; `arguments` is the JSON text the model wrote. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ChatTurn {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  /** The message's text (its text parts joined), which is all a text-only runtime sees. */
  content: string;
  /** Every part in order, when the message has a part that is not text. */
  parts?: readonly ContentPart[];
  /** The participant's name (OpenAI's `name`). */
  name?: string;
  /** An assistant turn's function calls. */
  toolCalls?: readonly ToolCall[];
  /** A tool turn: the call it answers. */
  toolCallId?: string;
}

/** A function the model may call: its parameters are a JSON Schema. */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters?: Readonly<Record<string, unknown>>;
  strict?: boolean;
}

export type ToolChoice = "auto" | "none" | "required" | { name: string };

/**
 * A client's own request body, for an upstream that speaks the same format: OpenAI's (it gets the body with
 * `model` replaced) or Gemini's `generateContent` (the model is in the path; the body goes as it is).
 */
export interface Passthrough {
  endpoint: "chat/completions" | "completions" | "responses" | "generateContent";
  body: Readonly<Record<string, unknown>>;
  /** The body's text as the client sent it: what goes upstream, `model` spliced in. */
  text: string;
}

/** A completion (`prompt`, or `promptTokens`) or a chat (`messages`) request; exactly one is set. */
export interface GenerateRequest {
  /** Raw completion prompt; the engine adds BOS where the model wants it. */
  prompt?: string;
  /** A completion prompt as token ids of the model's own vocabulary, taken as they are (no BOS added). */
  promptTokens?: readonly number[];
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
  /**
   * The answer starts with the prompt itself (completions' `echo`); with `topLogprobs`, the prompt's tokens carry
   * their log-probabilities too, what lm-evaluation-harness scores continuations with.
   */
  echo?: boolean;
  /** Any JSON object (OpenAI's `json_object`): a local engine constrains decoding with a JSON grammar. */
  jsonObject?: boolean;
  /**
   * Report each generated token's log-probability and those of this many likeliest alternatives (0-20) at its
   * position.
   */
  topLogprobs?: number;
  tools?: readonly ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  /** -2 to 2, as OpenAI defines them. */
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Token id (in the model's own vocabulary) → bias added to its logit, -100 to 100. */
  logitBias?: Readonly<Record<string, number>>;
  /** Choices to generate; 1 unless asked. */
  n?: number;
  reasoningEffort?: string;
  /** Request fields infergate does not know; only a runtime that gets the client's body verbatim can honour them. */
  unknownFields?: readonly string[];
  /** The client's body, as it sent it. */
  passthrough?: Passthrough;
}

/** One generated token's log-probability and the likeliest alternatives at its position. */
export interface TokenLogprobs {
  token: string;
  /** null for an echoed prompt's first token when nothing precedes it (no BOS): it has no context to be scored in. */
  logprob: number | null;
  top: { token: string; logprob: number }[];
}

export type FinishReason = "stop" | "length" | "tool_calls";

/** A piece of a function call as it streams: the first piece of call `index` carries its id and name. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  name?: string;
  arguments: string;
}

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
  toolCalls?: ToolCallDelta[];
  /** The echoed prompt (completions' `echo`): text the model did not generate, so no first token. */
  echo?: boolean;
  /**
   * The upstream's own response body or stream event, when the request went through verbatim
   * (`passthrough`): the client gets it as it is, `model` rewritten.
   */
  raw?: RawJson;
  /** The choice this chunk belongs to when several were asked for (`n`); absent for the first, 0. */
  choice?: number;
  /**
   * `finishReason` is the first choice's; with several choices, `finishReasons` holds each one's by index.
   * `usage` counts them all.
   */
  done?: { usage: Usage; finishReason: FinishReason; finishReasons?: readonly FinishReason[] };
}

export interface EmbedOptions {
  /**
   * Vector length asked for: an upstream that can shorten its embeddings does (OpenAI's `dimensions`, Gemini's
   * `outputDimensionality`); a local model refuses any length but its own.
   */
  dimensions?: number;
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

/**
 * A named entity a tagger found: its span as Unicode code-point offsets into the text (as Python strings and most
 * NER datasets count), end exclusive; `score` is the mean probability of its tokens' labels.
 */
export interface TaggedEntity {
  start: number;
  end: number;
  type: string;
  text: string;
  score: number;
}

export interface TagResult {
  entities: TaggedEntity[];
}

export interface MemoryReport {
  /** Bytes of model weights held by the runtime. */
  weightsBytes: number;
  /** Bytes of per-request state (KV cache) the runtime allocated. */
  stateBytes: number;
  /** Bytes of accelerator memory in use, 0 on CPU. */
  vramBytes: number;
  /** Resident bytes of the process the model is decoded in, where that is a process of its own (llama-server). */
  processBytes?: number;
}

/** The process a model is decoded in, where that is a process of its own (a supervised llama-server). */
export interface ServingProcess {
  /** Running and answering; false while it restarts. */
  up: boolean;
  /** Restarts after unexpected exits since the model was loaded. */
  restarts: number;
}
