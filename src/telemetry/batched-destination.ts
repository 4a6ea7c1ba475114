import type { DestinationStream } from "pino";

/** What is needed of the stream underneath: pino's `destination()` (sonic-boom) is one. */
export interface FlushableStream {
  write(text: string): unknown;
  flush(callback?: (error?: Error) => void): void;
  flushSync(): void;
}

/** How long lines are gathered before they are handed on, at most. */
const GATHER_MS = 10;
/** Lines gathered past this many are handed on at once. */
const MAX_GATHERED_LINES = 1024;

/**
 * Log lines gathered for up to 10 ms and handed on as one string. Sonic-boom measures the byte length of its whole
 * pending buffer on every write, which flattens kilobytes of string per line at the gateway's rates; and handing
 * on once per event-loop turn (setImmediate) cost the gateway 8 µs a request, a zero-timeout poll per turn.
 * Flushing hands the gathered lines on first, so nothing is lost at exit.
 */
export class BatchedDestination implements DestinationStream {
  #lines: string[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: FlushableStream,
    private readonly gatherMs = GATHER_MS,
  ) {
    process.once("exit", () => this.flushSync());
  }

  write(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length >= MAX_GATHERED_LINES) this.#handOn();
    else if (!this.#timer) this.#timer = setTimeout(this.#handOn, this.gatherMs).unref();
  }

  flush(callback?: (error?: Error) => void): void {
    this.#handOn();
    this.target.flush(callback);
  }

  flushSync(): void {
    this.#handOn();
    this.target.flushSync();
  }

  readonly #handOn = (): void => {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#lines.length === 0) return;
    const text = this.#lines.join("");
    this.#lines = [];
    this.target.write(text);
  };
}
