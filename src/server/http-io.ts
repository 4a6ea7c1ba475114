import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { InvalidRequestError, PayloadTooLargeError, RequestAbortedError } from "../core/errors.js";

/**
 * The request body parsed as JSON, refused past `limit` bytes before it is all read. Read with listeners rather
 * than an async iterator, whose stream plumbing costs more than the rest of a small body's handling.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return readBodyText(req, limit).then(parseJsonText);
}

/** The request body's text (refused past `limit` bytes, or empty), for a handler that keeps it as sent. */
export function readBodyText(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (declared > limit) return Promise.reject(new PayloadTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => req.off("data", onData).off("end", onEnd).off("error", onAbort).off("close", onAbort);
    const fail = (error: Error) => {
      stop();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      // The rest is left unread; the gateway closes the connection after answering.
      else fail(new PayloadTooLargeError(limit));
    };
    const onEnd = () => {
      stop();
      if (size === 0) reject(new InvalidRequestError("request body is empty; expected a JSON object"));
      else resolve(Buffer.concat(chunks, size).toString("utf8"));
    };
    const onAbort = () => fail(new RequestAbortedError());
    req.on("data", onData).on("end", onEnd).on("error", onAbort).on("close", onAbort);
  });
}

/** A request body's JSON; not JSON → 400. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequestError("request body is not valid JSON");
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

/** A JSON body already written (an upstream's answer, spliced). */
export function sendJsonText(res: ServerResponse, status: number, json: string): void {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  res.end(json);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * A server-sent-events response: each `data` call is one event, sent without buffering delay, waiting for the
 * socket when the client reads slowly. Events written in the same tick (those parsed from one upstream packet)
 * leave in one write: the socket is corked until the tick ends, which costs no latency and saves a syscall per
 * event. The headers go with the first event (the stream starts once its first event is known).
 */
export class SseStream {
  #corked = false;
  readonly #uncork = () => {
    this.#corked = false;
    this.res.uncork();
  };

  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
  }

  /** Writes one event; the promise, only when the client reads slowly, settles once it may go on. */
  data(value: unknown): Promise<void> | undefined {
    return this.#write(`data: ${JSON.stringify(value)}\n\n`);
  }

  /** `data` for an event's JSON already written (an upstream's event, spliced). */
  dataText(json: string): Promise<void> | undefined {
    return this.#write(`data: ${json}\n\n`);
  }

  /** A named event (`event:` line), as the Responses API streams them; with an `id:` line where one is given. */
  event(type: string, value: unknown, id?: number): Promise<void> | undefined {
    const idLine = id === undefined ? "" : `id: ${id}\n`;
    return this.#write(`${idLine}event: ${type}\ndata: ${JSON.stringify(value)}\n\n`);
  }

  /** How long a client that loses the stream waits before it asks again (EventSource's `retry:`). */
  retry(ms: number): void {
    void this.#write(`retry: ${ms}\n\n`);
  }

  end(finalLine?: string): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    this.res.end(finalLine === undefined ? undefined : `data: ${finalLine}\n\n`);
  }

  /** Not async: a promise per event was a measurable part of relaying a stream. */
  #write(text: string): Promise<void> | undefined {
    if (this.res.writableEnded || this.res.destroyed) return undefined;
    if (!this.#corked) {
      this.#corked = true;
      this.res.cork();
      process.nextTick(this.#uncork);
    }
    if (this.res.write(text)) return undefined;
    return Promise.race([once(this.res, "drain"), once(this.res, "close")]).then(() => undefined);
  }
}
