import type { Pool } from "undici";
import type { GeminiModelSpec, OpenAiModelSpec } from "../config/load-config.js";
import type { RequestSignal } from "../core/abort.js";
import { UnsupportedTaskError, UpstreamError } from "../core/errors.js";
import type { RawJson } from "../core/json-text.js";
import type {
  ClassifyResult,
  ContinuationScores,
  Embeddings,
  EmbedOptions,
  FinishReason,
  GenerateChunk,
  GenerateRequest,
  MemoryReport,
  Perplexity,
  TagResult,
  TokenLogprobs,
  ToolCallDelta,
  Usage,
} from "../core/types.js";
import type { LoadedModel } from "../engines/engine.js";
import type { ModelRef } from "../models/model-registry.js";
import {
  parseJson,
  postJson,
  SseSplitter,
  type UpstreamBody,
  type UpstreamResponse,
  upstreamErrorMessage,
} from "./upstream-http.js";

export type RemoteModelSpec = OpenAiModelSpec | GeminiModelSpec;

/** One choice's part of a response, whole or one streamed event of it. */
export interface ChoiceDelta {
  /** The choice's index among those asked for (`n`, `candidateCount`); 0 for the only one. */
  index: number;
  text: string;
  finishReason: FinishReason | null;
  logprobs?: TokenLogprobs[];
  toolCalls?: ToolCallDelta[];
}

/** One response, whole or one streamed event of it, as every wire format's parser reports it. */
export interface RemoteDelta {
  choices: ChoiceDelta[];
  usage: Usage | null;
}

/** As many choices as OpenAI's `n` allows; an upstream that numbers one beyond is broken, not trusted. */
const MAX_CHOICES = 128;

function checkedIndex(choice: ChoiceDelta): number {
  if (!Number.isInteger(choice.index) || choice.index < 0 || choice.index >= MAX_CHOICES)
    throw new UpstreamError(
      "IG_UPSTREAM_ERROR",
      502,
      `upstream answered a choice with index ${choice.index}`,
    );
  return choice.index;
}

/** A choice's chunk; built field by field, as this runs once per streamed event (spreads are slow on Node 20). */
function choiceChunk(choice: ChoiceDelta, at: number): GenerateChunk {
  const chunk: GenerateChunk = { text: choice.text, tokenIds: [], at };
  if (choice.logprobs) chunk.logprobs = choice.logprobs;
  if (choice.toolCalls) chunk.toolCalls = choice.toolCalls;
  if (choice.index !== 0) chunk.choice = choice.index;
  return chunk;
}

/**
 * The final chunk's summary: usage as the upstream reports it, else the streamed chunk count for output tokens;
 * each choice's finish reason (`stop` for one that never said).
 */
function finalSummary(
  usage: Usage | null,
  finishReasons: readonly (FinishReason | null)[],
  chunks: number,
): NonNullable<GenerateChunk["done"]> {
  const done: NonNullable<GenerateChunk["done"]> = {
    usage: usage ?? { promptTokens: 0, completionTokens: chunks },
    finishReason: finishReasons[0] ?? "stop",
  };
  // A loop, not Array.from with a mapper: this runs once per request, and the mapper cost microseconds here.
  if (finishReasons.length > 1) {
    const reasons: FinishReason[] = [];
    for (let index = 0; index < finishReasons.length; index++) reasons.push(finishReasons[index] ?? "stop");
    done.finishReasons = reasons;
  }
  return done;
}

/**
 * An unstreamed answer as the chunks that carry it, the first choice's carrying its end (and, passed through,
 * the body itself). Every chunk is stamped with the one moment the answer arrived: no token of it came first.
 */
export function wholeAnswerChunks(delta: RemoteDelta, raw?: RawJson): GenerateChunk[] {
  const at = performance.now();
  const finishReasons: (FinishReason | null)[] = [];
  const chunks: GenerateChunk[] = [];
  let first: ChoiceDelta = { index: 0, text: "", finishReason: null };
  for (const choice of delta.choices) {
    finishReasons[checkedIndex(choice)] = choice.finishReason;
    if (choice.index === 0) first = choice;
    else chunks.push(choiceChunk(choice, at));
  }
  const last = choiceChunk(first, at);
  last.done = finalSummary(delta.usage, finishReasons, 1);
  if (raw) last.raw = raw;
  chunks.push(last);
  return chunks;
}

/**
 * A streamed answer as chunks, event by event, ending with its summary. It is complete only at `endMarker`
 * (OpenAI's `[DONE]`) or, for a format without one (Gemini), once a finish reason arrived: a stream that ends
 * otherwise may be cut short and fails rather than pass for complete. An error event fails it too. Passed through
 * (`passthrough`), every event becomes one chunk carrying it as `raw`, whether it has text or not.
 */
export async function* streamedAnswer(
  body: UpstreamBody,
  parse: (value: unknown) => RemoteDelta,
  endMarker?: string,
  passthrough = false,
): AsyncIterable<GenerateChunk> {
  let chunks = 0;
  const finishReasons: (FinishReason | null)[] = [];
  let usage: Usage | null = null;
  let endedAt: number | undefined;
  let lastAt = performance.now();
  const splitter = new SseSplitter();
  // The body is read to its end even past the end marker: leaving it early tears its keep-alive connection down.
  for await (const bytes of body) {
    const at = performance.now();
    for (const data of splitter.feed(bytes)) {
      if (endedAt !== undefined) continue;
      lastAt = at;
      if (data === endMarker) {
        endedAt = at;
        continue;
      }
      const value = parseJson(data);
      const failure = upstreamErrorMessage(value);
      if (failure !== undefined) throw new UpstreamError("IG_UPSTREAM_ERROR", 502, `upstream: ${failure}`);
      const delta = parse(value);
      usage = delta.usage ?? usage;
      for (const choice of delta.choices) {
        const index = checkedIndex(choice);
        if (choice.finishReason !== null) finishReasons[index] = choice.finishReason;
        if (choice.text) chunks++;
      }
      if (passthrough) {
        // One chunk per event: the client gets the event itself; the first choice's text times the first token.
        const chunk = delta.choices[0] ? choiceChunk(delta.choices[0], at) : { text: "", tokenIds: [], at };
        chunk.raw = { text: data, value: value as Record<string, unknown> };
        yield chunk;
        continue;
      }
      for (const choice of delta.choices) if (choice.text || choice.toolCalls) yield choiceChunk(choice, at);
    }
  }
  if (endMarker !== undefined ? endedAt === undefined : !finishReasons.some((reason) => reason)) {
    const missing = endMarker !== undefined ? `before ${endMarker}` : "without a finish reason";
    throw new UpstreamError("IG_UPSTREAM_ERROR", 502, `upstream stream ended ${missing}`);
  }
  yield { text: "", tokenIds: [], at: endedAt ?? lastAt, done: finalSummary(usage, finishReasons, chunks) };
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

  abstract generate(request: GenerateRequest, signal?: RequestSignal): AsyncIterable<GenerateChunk>;
  abstract embed(texts: readonly string[], options?: EmbedOptions): Promise<Embeddings>;
  abstract classify(texts: readonly string[]): Promise<ClassifyResult[]>;
  abstract tag(texts: readonly string[]): Promise<TagResult[]>;

  scoreContinuations(): Promise<ContinuationScores> {
    return Promise.reject(new UnsupportedTaskError(this.ref.spec.id, "score continuations (it is remote)"));
  }

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

  protected post(path: string, body: unknown, signal?: RequestSignal): Promise<UpstreamResponse> {
    return this.postText(path, JSON.stringify(body), signal);
  }

  /** `post` for a body written already (a client's, passed through). */
  protected postText(path: string, json: string, signal?: RequestSignal): Promise<UpstreamResponse> {
    return postJson(this.pool, {
      path,
      headers: this.headers,
      json,
      signal,
      upstream: this.ref.spec.base_url,
    });
  }
}
