import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestSignal } from "../core/abort.js";
import { InfergateError, RequestAbortedError } from "../core/errors.js";
import type { RawJson } from "../core/json-text.js";
import { ToolCallAssembler } from "../core/tool-calls.js";
import type { FinishReason, GenerateChunk, TokenLogprobs, ToolCall } from "../core/types.js";
import type { RouteRecord } from "../routing/serving.js";
import { roundMs } from "../telemetry/events.js";

/** One request/response pair as handlers see it, with what it records for metrics and logs. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number;
  /** Aborts when the client goes away or the request times out. */
  readonly signal: RequestSignal;
  /** Path parameters of the matched route. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly record: RequestRecord;
}

/** What a request records for metrics and logs; the router writes its part (model served, route, arm). */
export interface RequestRecord extends RouteRecord {
  /** How the cache took part: hit, semantic_hit, miss or bypass. */
  cache?: string;
  promptTokens?: number;
  completionTokens?: number;
  ttftMs?: number;
  timePerOutputTokenMs?: number;
}

/**
 * Passes a generation through unchanged while recording its TTFT, time per output token and usage on the
 * exchange, so every wire format reports the same figures. An answer that arrives whole (its chunks stamped with
 * the one moment it arrived, its end among them, as a remote model's unstreamed answer is) has no time to first
 * token or per token to tell, so it records neither: recording its end as the first token, and 0 per token,
 * would falsify both.
 */
export function recorded(
  exchange: Exchange,
  chunks: AsyncIterable<GenerateChunk>,
): AsyncIterable<GenerateChunk> {
  return new RecordedChunks(exchange, chunks[Symbol.asyncIterator]());
}

/**
 * `recorded`'s iterator: a plain object over the generation's own, not an async generator, whose resumptions
 * cost more per chunk than the recording itself.
 */
class RecordedChunks implements AsyncIterableIterator<GenerateChunk> {
  #firstAt: number | undefined;
  readonly #see = (step: IteratorResult<GenerateChunk>): IteratorResult<GenerateChunk> => {
    if (!step.done) this.#record(step.value);
    return step;
  };

  constructor(
    private readonly exchange: Exchange,
    private readonly chunks: AsyncIterator<GenerateChunk>,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<GenerateChunk>> {
    return this.chunks.next().then(this.#see);
  }

  return(value?: unknown): Promise<IteratorResult<GenerateChunk>> {
    return this.chunks.return ? this.chunks.return(value) : Promise.resolve({ done: true, value: undefined });
  }

  throw(error?: unknown): Promise<IteratorResult<GenerateChunk>> {
    return this.chunks.throw ? this.chunks.throw(error) : Promise.reject(error);
  }

  #record(chunk: GenerateChunk): void {
    const { record } = this.exchange;
    if (this.#firstAt === undefined && (chunk.text || chunk.toolCalls) && !chunk.done && !chunk.echo) {
      this.#firstAt = chunk.at;
      record.ttftMs = roundMs(chunk.at - this.exchange.startedAt);
    }
    if (chunk.done) {
      const { promptTokens, completionTokens } = chunk.done.usage;
      record.promptTokens = promptTokens;
      record.completionTokens = completionTokens;
      // Undefined rather than deleted: a delete turns the record into a slow dictionary for all who read it.
      if (this.#firstAt === chunk.at) record.ttftMs = undefined;
      else if (this.#firstAt !== undefined && completionTokens > 1) {
        record.timePerOutputTokenMs = roundMs((chunk.at - this.#firstAt) / (completionTokens - 1));
      }
    }
  }
}

/**
 * An abort surfaces from deep inside as `RequestAbortedError`; the exchange's signal knows why (a timeout, the
 * client leaving), and that is what the client should be told.
 */
export function causeOf(exchange: Exchange, error: unknown): unknown {
  const reason: unknown = exchange.signal.reason;
  return error instanceof RequestAbortedError && reason instanceof InfergateError ? reason : error;
}

/** One choice of a whole answer: its text, function calls, log-probabilities and how it ended. */
export interface ChoiceAnswer {
  text: string;
  finishReason: FinishReason;
  toolCalls?: ToolCall[];
  logprobs?: TokenLogprobs[];
}

/**
 * A whole answer: its first choice, every choice (with `n` > 1, the first included), its end, and the upstream's
 * own body when passed through.
 */
export interface WholeAnswer extends ChoiceAnswer {
  choices: readonly ChoiceAnswer[];
  done: NonNullable<GenerateChunk["done"]>;
  raw?: RawJson;
}

/** What one choice of a generation has gathered so far. */
class ChoiceGatherer {
  text = "";
  tools: ToolCallAssembler | undefined;
  logprobs: TokenLogprobs[] | undefined;

  add(chunk: GenerateChunk): void {
    this.text += chunk.text;
    if (chunk.toolCalls) {
      this.tools ??= new ToolCallAssembler();
      this.tools.add(chunk.toolCalls);
    }
    if (chunk.logprobs) {
      this.logprobs ??= [];
      this.logprobs.push(...chunk.logprobs);
    }
  }

  answer(finishReason: FinishReason): ChoiceAnswer {
    const answer: ChoiceAnswer = { text: this.text, finishReason };
    const calls = this.tools?.calls();
    if (calls) answer.toolCalls = calls;
    if (this.logprobs) answer.logprobs = this.logprobs;
    return answer;
  }
}

/** The rest of a generation whose first step was already read, as one answer. */
export async function wholeAnswer(
  opening: IteratorResult<GenerateChunk>,
  chunks: AsyncIterator<GenerateChunk>,
): Promise<WholeAnswer> {
  const gatherers = [new ChoiceGatherer()];
  let done: GenerateChunk["done"];
  let raw: RawJson | undefined;
  for (let step = opening; !step.done; step = await chunks.next()) {
    const chunk = step.value;
    const index = chunk.choice ?? 0;
    for (let missing = gatherers.length; missing <= index; missing++) gatherers.push(new ChoiceGatherer());
    gatherers[index]?.add(chunk);
    done = chunk.done ?? done;
    raw = chunk.raw ?? raw;
  }
  if (!done) throw new Error("generation ended without a final chunk");
  const finished = done;
  const choices = gatherers.map((gatherer, index) =>
    gatherer.answer(finished.finishReasons?.[index] ?? (index === 0 ? finished.finishReason : "stop")),
  );
  // Built field by field: a spread of the first choice costs over a microsecond on Node 20's V8.
  const first = choices[0] as ChoiceAnswer;
  const answer: WholeAnswer = { text: first.text, finishReason: first.finishReason, choices, done };
  if (first.toolCalls) answer.toolCalls = first.toolCalls;
  if (first.logprobs) answer.logprobs = first.logprobs;
  if (raw) answer.raw = raw;
  return answer;
}
