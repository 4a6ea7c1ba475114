import type { IncomingMessage, ServerResponse } from "node:http";
import { InfergateError, RequestAbortedError } from "../core/errors.js";
import { ToolCallAssembler } from "../core/tool-calls.js";
import type { GenerateChunk, TokenLogprobs, ToolCall } from "../core/types.js";
import type { RouteRecord } from "../routing/serving.js";
import { roundMs } from "../telemetry/events.js";

/** One request/response pair as handlers see it, with what it records for metrics and logs. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number;
  /** Aborts when the client goes away or the request times out. */
  readonly signal: AbortSignal;
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
 * exchange, so every wire format reports the same figures. An answer that arrives whole (one chunk carrying
 * its text and its end, as a remote model's unstreamed answer does) has no time to first token or per token to
 * tell, so it records neither: recording its end as the first token, and 0 per token, would falsify both.
 */
export async function* recorded(
  exchange: Exchange,
  chunks: AsyncIterable<GenerateChunk>,
): AsyncIterable<GenerateChunk> {
  let firstAt: number | undefined;
  for await (const chunk of chunks) {
    if (firstAt === undefined && (chunk.text || chunk.toolCalls) && !chunk.done && !chunk.echo) {
      firstAt = chunk.at;
      exchange.record.ttftMs = roundMs(chunk.at - exchange.startedAt);
    }
    if (chunk.done) {
      const { promptTokens, completionTokens } = chunk.done.usage;
      exchange.record.promptTokens = promptTokens;
      exchange.record.completionTokens = completionTokens;
      if (firstAt !== undefined && completionTokens > 1) {
        exchange.record.timePerOutputTokenMs = roundMs((chunk.at - firstAt) / (completionTokens - 1));
      }
    }
    yield chunk;
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

/** A whole answer: its text, function calls, log-probabilities, and the upstream's own body when passed through. */
export interface WholeAnswer {
  text: string;
  done: NonNullable<GenerateChunk["done"]>;
  toolCalls?: ToolCall[];
  logprobs?: TokenLogprobs[];
  raw?: Record<string, unknown>;
}

/** The rest of a generation whose first step was already read, as one answer. */
export async function wholeAnswer(
  first: IteratorResult<GenerateChunk>,
  chunks: AsyncIterator<GenerateChunk>,
): Promise<WholeAnswer> {
  let text = "";
  let done: GenerateChunk["done"];
  let tools: ToolCallAssembler | undefined;
  let logprobs: TokenLogprobs[] | undefined;
  let raw: Record<string, unknown> | undefined;
  for (let step = first; !step.done; step = await chunks.next()) {
    const chunk = step.value;
    text += chunk.text;
    done = chunk.done ?? done;
    if (chunk.toolCalls) {
      tools ??= new ToolCallAssembler();
      tools.add(chunk.toolCalls);
    }
    if (chunk.logprobs) {
      logprobs ??= [];
      logprobs.push(...chunk.logprobs);
    }
    raw = chunk.raw ?? raw;
  }
  if (!done) throw new Error("generation ended without a final chunk");
  const answer: WholeAnswer = { text, done };
  const calls = tools?.calls();
  if (calls) answer.toolCalls = calls;
  if (logprobs) answer.logprobs = logprobs;
  if (raw) answer.raw = raw;
  return answer;
}
