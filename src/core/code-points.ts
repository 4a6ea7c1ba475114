/**
 * Offsets in Unicode code points, as Python strings and most NER datasets count them, for a JavaScript string
 * (which counts UTF-16 units: an emoji or a rare CJK character is two). Identity for text without surrogate pairs.
 */
export class CodePointOffsets {
  /** UTF-16 offset of each code point, and one past the end; undefined when the two counts agree. */
  readonly #utf16: number[] | undefined;
  readonly length: number;

  constructor(readonly text: string) {
    let pairs = false;
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      if (unit >= 0xd800 && unit <= 0xdbff) pairs = true;
    }
    if (!pairs) {
      this.#utf16 = undefined;
      this.length = text.length;
      return;
    }
    const offsets: number[] = [];
    for (let i = 0; i < text.length; i += (text.codePointAt(i) ?? 0) > 0xffff ? 2 : 1) offsets.push(i);
    this.length = offsets.length;
    offsets.push(text.length);
    this.#utf16 = offsets;
  }

  /** The UTF-16 offset of code point `offset` (0 to length). */
  toUtf16(offset: number): number {
    return this.#utf16 ? (this.#utf16[offset] ?? this.text.length) : offset;
  }

  /** The code point a UTF-16 offset falls on (a low surrogate counts as its pair's). */
  toCodePoint(utf16: number): number {
    const offsets = this.#utf16;
    if (!offsets) return utf16;
    let low = 0;
    let high = offsets.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((offsets[middle] ?? 0) <= utf16) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}
