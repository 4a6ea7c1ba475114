import { createParser } from "eventsource-parser";
import type { Dispatcher, Pool } from "undici";
import { offAbort, onAbort, type RequestSignal } from "../core/abort.js";
import { RequestAbortedError, UpstreamError } from "../core/errors.js";

/** An upstream's answer: its status, and its body as it arrives. */
export interface UpstreamResponse {
  statusCode: number;
  body: UpstreamBody;
}

/** Chunks held before the upstream is asked to pause: a slow client slows its upstream rather than fill memory. */
const HIGH_WATER_CHUNKS = 64;

/**
 * A response body fed by undici's dispatch callbacks: read whole (`text`, `json`) or chunk by chunk (async
 * iteration, with back-pressure). Lighter than undici's `request()` body, a full Readable stream, which cost
 * more than the rest of proxying a small answer. A body that breaks off fails with `IG_UPSTREAM_ERROR`, or with
 * `RequestAbortedError` when the caller aborted.
 */
export class UpstreamBody implements AsyncIterable<Buffer> {
  readonly #chunks: Buffer[] = [];
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  #endsOnItsOwn = false;
  #discarding = false;

  constructor(private readonly controller: Dispatcher.DispatchController) {}

  /**
   * Says the upstream has sent (or is sending) its last event: a reader that stops now lets the rest arrive and
   * drops it rather than abort, so the keep-alive connection serves the next request instead of being closed
   * and opened again (a connect and a close per request, measured, with llama-server).
   */
  endsOnItsOwn(): void {
    this.#endsOnItsOwn = true;
  }

  #discardRest(): void {
    this.#discarding = true;
    this.#chunks.length = 0;
    if (this.controller.paused) this.controller.resume();
  }

  /** @internal Called by the dispatch handler. */
  push(chunk: Buffer): void {
    if (this.#discarding) return;
    this.#chunks.push(chunk);
    if (this.#chunks.length >= HIGH_WATER_CHUNKS && !this.controller.paused) this.controller.pause();
    this.#wake?.();
  }

  /** @internal Called by the dispatch handler: the body is complete, or broke off with `error`. */
  end(error?: Error): void {
    this.#ended = true;
    this.#error = error;
    this.#wake?.();
  }

  async text(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this) chunks.push(chunk);
    return Buffer.concat(chunks).toString("utf8");
  }

  async json(): Promise<unknown> {
    return (await this.jsonWithText()).value;
  }

  /** The body parsed, and the text it came as (an answer passed on verbatim). */
  async jsonWithText(): Promise<{ text: string; value: unknown }> {
    const text = await this.text();
    try {
      return { text, value: JSON.parse(text) };
    } catch {
      throw new UpstreamError("IG_UPSTREAM_ERROR", 502, "upstream answered with invalid JSON");
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    try {
      for (;;) {
        const chunk = this.#chunks.shift();
        if (chunk) {
          if (this.controller.paused && this.#chunks.length < HIGH_WATER_CHUNKS / 2) this.controller.resume();
          yield chunk;
        } else if (this.#ended) {
          if (this.#error) throw this.#error;
          return;
        } else {
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          this.#wake = undefined;
        }
      }
    } finally {
      // A reader that stops early must not leave the request paused on its connection for ever.
      if (!this.#ended) {
        if (this.#endsOnItsOwn) this.#discardRest();
        else this.controller.abort(new RequestAbortedError());
      }
    }
  }
}

/**
 * POSTs JSON over a keep-alive pool; resolves once the upstream's status is in, with the body to read.
 * Failures are coded errors: unreachable → `IG_UPSTREAM_UNAVAILABLE`, broken off → `IG_UPSTREAM_ERROR`, aborted
 * by `signal` → `RequestAbortedError`; a status outside 2xx is read and thrown (`upstreamFailure`).
 */
export async function postJson(
  pool: Pool,
  request: {
    path: string;
    headers: Record<string, string>;
    /** The body, as JSON text. */
    json: string;
    signal?: RequestSignal | undefined;
    upstream: string;
  },
): Promise<UpstreamResponse> {
  const response = await new Promise<UpstreamResponse>((resolve, reject) => {
    const { signal } = request;
    if (signal?.aborted) return reject(new RequestAbortedError());
    let body: UpstreamBody | undefined;
    let controller: Dispatcher.DispatchController | undefined;
    const abort = () => controller?.abort(new RequestAbortedError());
    const fail = (error: Error) => {
      if (signal) offAbort(signal, abort);
      if (signal?.aborted) error = new RequestAbortedError();
      else if (!(error instanceof UpstreamError)) {
        const reason = (error as NodeJS.ErrnoException).code ?? error.message;
        error = body
          ? new UpstreamError("IG_UPSTREAM_ERROR", 502, `upstream answer broke off: ${reason}`)
          : new UpstreamError("IG_UPSTREAM_UNAVAILABLE", 502, `cannot reach ${request.upstream}: ${reason}`);
      }
      if (body) body.end(error);
      else reject(error);
    };
    if (signal) onAbort(signal, abort);
    pool.dispatch(
      { path: request.path, method: "POST", headers: request.headers, body: request.json },
      {
        onRequestStart(started) {
          controller = started;
          if (signal?.aborted) started.abort(new RequestAbortedError());
        },
        onResponseStart(started, statusCode) {
          body = new UpstreamBody(started);
          resolve({ statusCode, body });
        },
        onResponseData(_controller, chunk) {
          body?.push(chunk);
        },
        onResponseEnd() {
          if (signal) offAbort(signal, abort);
          body?.end();
        },
        onResponseError(_controller, error) {
          fail(error);
        },
      },
    );
  });
  if (response.statusCode >= 200 && response.statusCode < 300) return response;
  const text = await response.body.text();
  throw upstreamFailure(response.statusCode, upstreamErrorMessage(parseJson(text)) ?? text.slice(0, 200));
}

/**
 * Server-sent events split from a body as its bytes arrive: `feed` returns the data of every event the bytes
 * completed. Synchronous, so a stream's events cost no async step of their own on the way to the client.
 */
export class SseSplitter {
  #pending: string[] = [];
  readonly #parser = createParser({ onEvent: (event) => this.#pending.push(event.data) });

  feed(bytes: Buffer): string[] {
    this.#parser.feed(bytes.toString("utf8"));
    const events = this.#pending;
    this.#pending = [];
    return events;
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
