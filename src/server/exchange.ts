import type { IncomingMessage, ServerResponse } from "node:http";
import { InfergateError, RequestAbortedError } from "../core/errors.js";
import type { GenerateChunk } from "../core/types.js";
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
    if (firstAt === undefined && chunk.text && !chunk.done) {
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

/** The rest of a generation whose first step was already read, as one text and its final chunk's summary. */
export async function wholeAnswer(
  first: IteratorResult<GenerateChunk>,
  chunks: AsyncIterator<GenerateChunk>,
): Promise<{ text: string; done: NonNullable<GenerateChunk["done"]> }> {
  let text = "";
  let done: GenerateChunk["done"];
  for (let step = first; !step.done; step = await chunks.next()) {
    text += step.value.text;
    done = step.value.done ?? done;
  }
  if (!done) throw new Error("generation ended without a final chunk");
  return { text, done };
}
