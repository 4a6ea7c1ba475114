/**
 * A one-line progress display on a terminal's stderr: done/total, rate and ETA. Prints nothing when stderr is
 * not a terminal, so piped output and CI logs stay clean.
 */
export class Progress {
  readonly #started = performance.now();
  readonly #enabled: boolean;
  #done = 0;
  #lastDraw = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.#enabled = stream.isTTY === true;
  }

  advance(count: number): void {
    this.#done += count;
    const now = performance.now();
    if (this.#enabled && (now - this.#lastDraw > 100 || this.#done >= this.total)) {
      this.#lastDraw = now;
      this.#draw(now);
    }
  }

  finish(): void {
    if (this.#enabled) this.stream.write("\n");
  }

  #draw(now: number): void {
    const seconds = (now - this.#started) / 1000;
    const rate = this.#done / Math.max(seconds, 1e-3);
    const eta = rate > 0 ? Math.max(0, (this.total - this.#done) / rate) : 0;
    const width = 24;
    const filled = Math.round((width * this.#done) / Math.max(this.total, 1));
    const bar = "█".repeat(filled) + "░".repeat(Math.max(0, width - filled));
    this.stream.write(
      `\r${this.label} ${bar} ${this.#done}/${this.total}  ${rate.toFixed(1)}/s  ETA ${eta.toFixed(0)}s `,
    );
  }
}
