/**
 * Finds where a JSON value written piece by piece ends. llama.cpp's JSON grammars allow whitespace after the
 * value without end, so a small model can pad an answer with newlines up to its token limit: decoding stops
 * where the value closes instead. Ends: the brace or bracket that brings the depth back to zero, a top-level
 * string's closing quote, or the first whitespace after a top-level number or literal.
 */
export class JsonValueEnd {
  #depth = 0;
  #inString = false;
  #escaped = false;
  #scalar = false;
  #ended = false;

  get ended(): boolean {
    return this.#ended;
  }

  /** How much of `piece` belongs to the value when the value ends within it; undefined while it goes on. */
  push(piece: string): number | undefined {
    if (this.#ended) return 0;
    for (let i = 0; i < piece.length; i++) {
      const char = piece[i] as string;
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (char === "\\") this.#escaped = true;
        else if (char === '"') {
          this.#inString = false;
          if (this.#depth === 0) return this.#end(i + 1);
        }
      } else if (char === '"') this.#inString = true;
      else if (char === "{" || char === "[") this.#depth++;
      else if (char === "}" || char === "]") {
        this.#depth--;
        if (this.#depth === 0) return this.#end(i + 1);
      } else if (this.#depth === 0) {
        const space = char === " " || char === "\n" || char === "\t" || char === "\r";
        if (space && this.#scalar) return this.#end(i);
        if (!space) this.#scalar = true;
      }
    }
    return undefined;
  }

  #end(length: number): number {
    this.#ended = true;
    return length;
  }
}
