/**
 * Entity-level precision, recall and F1 between gold and predicted spans, per document then summed (micro), in
 * three modes: strict (same span and type: seqeval's strict IOB2 when spans come from IOB2 tags), partial (spans
 * overlap, same type) and untyped (same span, any type). Each gold entity matches at most one prediction.
 */

export interface EntitySpan {
  start: number;
  end: number;
  type: string;
}

export interface EntityScores {
  precision: number;
  recall: number;
  f1: number;
}

export interface EntityMetrics {
  strict: EntityScores;
  partial: EntityScores;
  untyped: EntityScores;
  /** Mean of the per-type strict F1s, over every type in the gold or the predictions. */
  macro_f1: number;
  per_type: Record<string, EntityScores & { support: number }>;
}

/** True positives, false positives and false negatives: what micro scores and bootstrap resamples add up. */
export interface EntityCounts {
  tp: number;
  fp: number;
  fn: number;
}

export type MatchMode = "strict" | "partial" | "untyped";

const MATCHES: Record<MatchMode, (gold: EntitySpan, predicted: EntitySpan) => boolean> = {
  strict: (gold, predicted) =>
    gold.start === predicted.start && gold.end === predicted.end && gold.type === predicted.type,
  partial: (gold, predicted) =>
    gold.type === predicted.type && predicted.start < gold.end && gold.start < predicted.end,
  untyped: (gold, predicted) => gold.start === predicted.start && gold.end === predicted.end,
};

/** One document's counts in `mode`: each prediction takes the first gold entity it matches that is still free. */
export function documentCounts(
  gold: readonly EntitySpan[],
  predicted: readonly EntitySpan[],
  mode: MatchMode = "strict",
): EntityCounts {
  const matches = MATCHES[mode];
  const taken = new Set<number>();
  let tp = 0;
  for (const entity of predicted) {
    const at = gold.findIndex((candidate, index) => !taken.has(index) && matches(candidate, entity));
    if (at === -1) continue;
    taken.add(at);
    tp++;
  }
  return { tp, fp: predicted.length - tp, fn: gold.length - tp };
}

export function sumCounts(counts: readonly EntityCounts[]): EntityCounts {
  const total = { tp: 0, fp: 0, fn: 0 };
  for (const { tp, fp, fn } of counts) {
    total.tp += tp;
    total.fp += fp;
    total.fn += fn;
  }
  return total;
}

/** Scores from counts; with nothing predicted and nothing to find, every score is 1 (nothing was missed). */
export function scoresOf({ tp, fp, fn }: EntityCounts): EntityScores {
  const precision = tp + fp === 0 ? (fn === 0 ? 1 : 0) : tp / (tp + fp);
  const recall = tp + fn === 0 ? (fp === 0 ? 1 : 0) : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/** Every mode's micro scores, the macro F1 and the per-type table, over documents paired by index. */
export function entityMetrics(
  gold: readonly (readonly EntitySpan[])[],
  predicted: readonly (readonly EntitySpan[])[],
): EntityMetrics {
  if (gold.length !== predicted.length)
    throw new Error(`entity metrics over ${gold.length} gold and ${predicted.length} predicted documents`);
  const micro = (mode: MatchMode) =>
    scoresOf(
      sumCounts(gold.map((document, index) => documentCounts(document, predicted[index] ?? [], mode))),
    );
  const types = new Set<string>();
  for (const document of [...gold, ...predicted]) for (const entity of document) types.add(entity.type);
  const perType: EntityMetrics["per_type"] = {};
  for (const type of [...types].sort()) {
    const ofType = (document: readonly EntitySpan[]) => document.filter((entity) => entity.type === type);
    const counts = sumCounts(
      gold.map((document, index) => documentCounts(ofType(document), ofType(predicted[index] ?? []))),
    );
    perType[type] = { ...scoresOf(counts), support: counts.tp + counts.fn };
  }
  const f1s = Object.values(perType).map((scores) => scores.f1);
  return {
    strict: micro("strict"),
    partial: micro("partial"),
    untyped: micro("untyped"),
    macro_f1: f1s.length === 0 ? 1 : f1s.reduce((sum, f1) => sum + f1, 0) / f1s.length,
    per_type: perType,
  };
}
