/**
 * Edits of JSON text that leave everything else as it was written: a proxied body goes on verbatim but for one
 * field, and splicing that field costs a fraction of parsing and writing the whole body again.
 */

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COMMA = 44;

/** The index of the quote that closes the string opened at `start`, or -1. */
function stringEnd(json: string, start: number): number {
  for (let end = json.indexOf('"', start + 1); end !== -1; end = json.indexOf('"', end + 1)) {
    let backslashes = 0;
    for (let at = end - 1; json.charCodeAt(at) === BACKSLASH; at--) backslashes++;
    if (backslashes % 2 === 0) return end;
  }
  return -1;
}

/**
 * `json`, the text of an object (valid JSON: the caller parsed it), with its top-level `key` set to the string
 * `value`: the old value's text replaced, or the key added first where the object has none. Undefined where the
 * splice cannot be sure of the result — the key holds something other than a string, or a top-level key is
 * written with escapes — and the caller writes the object itself.
 */
export function withTopLevelString(json: string, key: string, value: string): string | undefined {
  let depth = 0;
  let expectingKey = false;
  let found = false;
  let opening = -1;
  // Character by character between strings, a string at a time (indexOf) within them: a charCodeAt loop runs
  // several times faster than a regular expression's exec per token.
  for (let at = 0; at < json.length; at++) {
    const char = json.charCodeAt(at);
    if (char === QUOTE) {
      const end = stringEnd(json, at);
      if (end === -1) return undefined;
      if (depth === 1) {
        if (found) return `${json.slice(0, at)}${JSON.stringify(value)}${json.slice(end + 1)}`;
        if (expectingKey) {
          expectingKey = false;
          const name = json.slice(at + 1, end);
          if (name.includes("\\")) return undefined;
          found = name === key;
        }
      }
      at = end;
    } else if (char === OPEN_OBJECT || char === OPEN_ARRAY) {
      if (found) return undefined;
      depth++;
      if (depth === 1) {
        if (char !== OPEN_OBJECT) return undefined;
        opening = at;
        expectingKey = true;
      }
    } else if (char === CLOSE_OBJECT || char === CLOSE_ARRAY) {
      if (found) return undefined;
      depth--;
      if (depth === 0) break;
    } else if (char === COMMA && depth === 1) {
      // A comma between top-level members: a key comes next.
      if (found) return undefined;
      expectingKey = true;
    }
  }
  if (opening === -1) return undefined;
  const rest = json.slice(opening + 1);
  const separator = rest.trimStart().startsWith("}") ? "" : ",";
  return `${json.slice(0, opening + 1)}${JSON.stringify(key)}:${JSON.stringify(value)}${separator}${rest}`;
}

/** An upstream's JSON as it came (an answer, or one streamed event): the text, and its parsed value. */
export interface RawJson {
  text: string;
  value: Record<string, unknown>;
}

/** `raw`'s text with its top-level `key` set to `value`: spliced, or the object written anew where that fails. */
export function rawWith(raw: RawJson, key: string, value: string): string {
  return withTopLevelString(raw.text, key, value) ?? JSON.stringify({ ...raw.value, [key]: value });
}
