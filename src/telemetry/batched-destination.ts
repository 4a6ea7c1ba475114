import type { DestinationStream } from "pino";

/** What is needed of the stream underneath: pino's `destination()` (sonic-boom) is one. */
export interface FlushableStream {
  write(text: string): unknown;
  flush(callback?: (error?: Error) => void): void;
  flushSync(): void;
}

/**
 * Log lines gathered over one turn of the event loop and handed on as one string. Sonic-boom measures the byte
 * length of its whole pending buffer on every write, which flattens kilobytes of string per line at the gateway's
 * rates; once per turn it is cheap. Flushing hands the gathered lines on first, so nothing is lost at exit.
 */
export class BatchedDestination implements DestinationStream {
  #lines: string[] = [];
  #scheduled = false;

  constructor(private readonly target: FlushableStream) {
    process.once("exit", () => this.flushSync());
  }

  write(line: string): void {
    this.#lines.push(line);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#handOn);
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
    this.#scheduled = false;
    if (this.#lines.length === 0) return;
    const text = this.#lines.join("");
    this.#lines = [];
    this.target.write(text);
  };
}
