import { UnsupportedTaskError } from "../../core/errors.js";

/** What aligning needs of a tokenizer: its pieces for a text, and their ids. */
export interface PieceTokenizer {
  tokenize(text: string): string[];
  convert_tokens_to_ids(tokens: string[]): number[];
}

/** A token's piece of the text: UTF-16 offsets, a leading word-boundary marker left out. */
export interface TokenSpan {
  start: number;
  end: number;
}

export interface AlignedTokens {
  ids: number[];
  spans: TokenSpan[];
}

const METASPACE = "\u2581";
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
const WHITESPACE = /\s/;

/**
 * Each token of `text` with the span of text it stands for, read off the tokenizer's own pieces: a SentencePiece
 * piece spells its text with "▁" for each space (the first one's may be the tokenizer's own prefix, which spells
 * nothing), byte-fallback pieces (`<0xE2>`) together spell one character, and a WordPiece piece spells its text
 * after the whitespace the tokenizer dropped ("##" continuing a word). Nothing is searched for: each piece must
 * spell the text exactly where the previous one ended, or the tokenizer rewrites text (lowercasing, accent
 * stripping) in a way offsets cannot be read from, and tagging it is refused. A byte piece's span is its whole
 * character's.
 */
export function alignTokens(tokenizer: PieceTokenizer, text: string, model: string): AlignedTokens {
  const pieces = tokenizer.tokenize(text);
  const ids = tokenizer.convert_tokens_to_ids(pieces);
  const metaspace = pieces[0]?.startsWith(METASPACE) === true;
  // Whether the first "▁" is the tokenizer's own prefix or the text's leading space, only the spelling can tell.
  const spans =
    spansOf(pieces, text, metaspace, metaspace) ??
    (metaspace ? spansOf(pieces, text, true, false) : undefined) ??
    refuse(model);
  return { ids, spans };
}

function refuse(model: string): never {
  throw new UnsupportedTaskError(
    model,
    "tag: its tokenizer's pieces do not spell the text they came from; a tokenizer that rewrites text, such as an uncased one, has no exact offsets",
  );
}

/** The spans `pieces` spell `text` with, or undefined where one does not spell the text where the last ended. */
function spansOf(
  pieces: readonly string[],
  text: string,
  metaspace: boolean,
  prefixed: boolean,
): TokenSpan[] | undefined {
  const spans: TokenSpan[] = [];
  let position = 0;
  let bytes: number[] = [];
  let byteStart = 0;
  let pendingBytes = 0;
  for (const [index, piece] of pieces.entries()) {
    const byte = BYTE_PIECE.exec(piece);
    if (byte) {
      const value = Number.parseInt(byte[1] as string, 16);
      if (bytes.length === 0) {
        byteStart = position;
        pendingBytes = value < 0x80 ? 1 : value < 0xe0 ? 2 : value < 0xf0 ? 3 : 4;
      }
      bytes.push(value);
      if (bytes.length === pendingBytes) {
        const character = Buffer.from(bytes).toString("utf8");
        if (!text.startsWith(character, byteStart)) return undefined;
        position = byteStart + character.length;
        // Every byte piece of the character, this one included, spans the whole character.
        spans.push({ start: byteStart, end: position });
        for (let i = spans.length - bytes.length; i < spans.length; i++)
          spans[i] = { start: byteStart, end: position };
        bytes = [];
      } else spans.push({ start: byteStart, end: byteStart });
      continue;
    }
    let spelled = piece;
    if (metaspace) {
      spelled = piece.replaceAll(METASPACE, " ");
      if (prefixed && index === 0) spelled = spelled.slice(1);
    } else if (piece.startsWith("##")) spelled = piece.slice(2);
    else while (position < text.length && WHITESPACE.test(text[position] as string)) position++;
    if (!text.startsWith(spelled, position)) return undefined;
    const leading = spelled.length - spelled.trimStart().length;
    spans.push({
      start: Math.min(position + leading, position + spelled.length),
      end: position + spelled.length,
    });
    position += spelled.length;
  }
  return bytes.length > 0 || position !== text.length ? undefined : spans;
}
