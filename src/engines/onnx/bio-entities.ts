import { CodePointOffsets } from "../../core/code-points.js";
import type { TaggedEntity } from "../../core/types.js";
import type { TokenSpan } from "./token-offsets.js";

/** One token's predicted tag (`B-PER`, `I-PER`, `O`, …) and its probability. */
export interface TokenPrediction {
  span: TokenSpan;
  label: string;
  score: number;
}

/**
 * Entities from BIO tags read as strict IOB2 (seqeval's strict mode): `B-X` opens an entity of type X, `I-X`
 * continues an open entity of type X, and anything else closes it; an `I-X` with no X open is not an entity (it
 * is taken as `O`, where Hugging Face's "simple" aggregation would start one), so what is scored is what strict
 * evaluation counts. Tokens that spell no text (a lone word-boundary marker) are passed over. Offsets come back in
 * code points.
 */
export function bioEntities(text: string, predictions: readonly TokenPrediction[]): TaggedEntity[] {
  const points = new CodePointOffsets(text);
  const entities: TaggedEntity[] = [];
  let open: { type: string; start: number; end: number; scores: number[] } | undefined;
  const close = () => {
    if (!open) return;
    entities.push({
      start: points.toCodePoint(open.start),
      end: points.toCodePoint(open.end),
      type: open.type,
      text: text.slice(open.start, open.end),
      score: open.scores.reduce((sum, score) => sum + score, 0) / open.scores.length,
    });
    open = undefined;
  };
  for (const { span, label, score } of predictions) {
    if (span.start === span.end) continue;
    const dash = label.indexOf("-");
    const tag = dash === -1 ? label : label.slice(0, dash);
    const type = label.slice(dash + 1);
    if (tag !== "B" && tag !== "I") {
      close();
      continue;
    }
    // Byte pieces of one character share its span: the character continues what its first piece opened.
    if (open && span.end <= open.end) continue;
    if (tag === "B") {
      close();
      open = { type, start: span.start, end: span.end, scores: [score] };
    } else if (open?.type === type) {
      open.end = span.end;
      open.scores.push(score);
    } else close();
  }
  close();
  return entities;
}
