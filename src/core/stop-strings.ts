/**
 * Cuts a stream of text at the first stop string. Text that could still turn out to be the start of a stop
 * string is held back until the next piece decides it, so a stop string never leaks to the caller, even when it
 * arrives split across tokens.
 *
 * @example
 * const stops = new StopStrings(["\n\n"]);
 * stops.push("Hello\n");   // {text: "Hello", stopped: false}  ("\n" held back)
 * stops.push("\nWorld");   // {text: "", stopped: true}
 */
export class StopStrings {
  #held = "";

  constructor(private readonly stops: readonly string[] = []) {}

  /** The text that may go out now; when stopped, also which stop string stopped it. */
  push(piece: string): { text: string; stopped: boolean; stop?: string } {
    const text = this.#held + piece;
    this.#held = "";
    if (this.stops.length === 0) return { text, stopped: false };
    let cut = -1;
    let found = "";
    for (const stop of this.stops) {
      const at = text.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) {
        cut = at;
        found = stop;
      }
    }
    if (cut !== -1) return { text: text.slice(0, cut), stopped: true, stop: found };
    const hold = this.#longestStopPrefixSuffix(text);
    this.#held = text.slice(text.length - hold);
    return { text: text.slice(0, text.length - hold), stopped: false };
  }

  /** Whatever was held back, once the stream has ended without a stop. */
  flush(): string {
    const text = this.#held;
    this.#held = "";
    return text;
  }

  #longestStopPrefixSuffix(text: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let length = Math.min(stop.length - 1, text.length); length > longest; length--) {
        if (text.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}
