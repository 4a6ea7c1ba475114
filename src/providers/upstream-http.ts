import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { Dispatcher, Pool } from "undici";
import { RequestAbortedError, UpstreamError } from "../core/errors.js";

/**
 * What every remote provider does the same way: POST JSON over a keep-alive pool with failures mapped to coded
 * errors, and read server-sent events as they arrive.
 */
export async function postJson(
  pool: Pool,
  request: {
    path: string;
    headers: Record<string, string>;
    body: unknown;
    signal?: AbortSignal | undefined;
    upstream: string;
  },
): Promise<Dispatcher.ResponseData> {
  let response: Dispatcher.ResponseData;
  try {
    response = await pool.request({
      path: request.path,
      method: "POST",
      headers: request.headers,
      body: JSON.stringify(request.body),
      signal: request.signal,
    });
  } catch (error) {
    if (request.signal?.aborted) throw new RequestAbortedError();
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new UpstreamError("IG_UPSTREAM_UNAVAILABLE", 502, `cannot reach ${request.upstream}: ${reason}`);
  }
  if (response.statusCode >= 200 && response.statusCode < 300) return response;
  const text = await response.body.text();
  throw upstreamFailure(response.statusCode, upstreamErrorMessage(parseJson(text)) ?? text.slice(0, 200));
}

/**
 * The data of each server-sent event, with the time it arrived, read to the end of the body — leaving a body
 * early would tear its keep-alive connection down, so callers take what they need and let the rest drain.
 */
export async function* sseData(
  body: Dispatcher.ResponseData["body"],
  signal?: AbortSignal,
): AsyncIterable<{ data: string; at: number }> {
  let pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => pending.push(event) });
  try {
    for await (const bytes of body as AsyncIterable<Buffer>) {
      parser.feed(bytes.toString("utf8"));
      const events = pending;
      pending = [];
      const at = performance.now();
      for (const event of events) yield { data: event.data, at };
    }
  } catch (error) {
    if (signal?.aborted) throw new RequestAbortedError();
    if (error instanceof UpstreamError) throw error;
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new UpstreamError("IG_UPSTREAM_ERROR", 502, `upstream stream broke: ${reason}`);
  }
}

export function upstreamFailure(status: number, message: string): UpstreamError {
  const said = `upstream answered ${status}: ${message}`;
  if (status === 429) return new UpstreamError("IG_UPSTREAM_RATE_LIMITED", 429, said, status);
  if (status >= 500) return new UpstreamError("IG_UPSTREAM_ERROR", 502, said, status);
  // Our credentials are not the client's fault; anything else the upstream refused is.
  if (status === 401 || status === 403) return new UpstreamError("IG_UPSTREAM_ERROR", 502, said, status);
  return new UpstreamError("IG_UPSTREAM_REJECTED", status, said, status);
}

/** `{error: {message}}`, the shape OpenAI and Gemini both use for errors. */
export function upstreamErrorMessage(value: unknown): string | undefined {
  const message = (value as { error?: { message?: unknown } } | null)?.error?.message;
  return typeof message === "string" ? message : undefined;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
