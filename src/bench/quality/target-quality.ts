import type { RequestRecord } from "../request-record.js";
import type { WorkItem, Workload } from "../workload.js";
import { type Calibration, calibrationOf } from "./calibration.js";
import { type AccuracyReport, accuracyOf, type LabelledAnswer } from "./classification-metrics.js";
import { type EntityCounts, type EntitySpan, scoresOf } from "./entity-metrics.js";
import { type EntityReport, entityQuality } from "./entity-quality.js";
import type { GenerationMetric } from "./generation-metrics.js";
import { argmax } from "./label-scores.js";

/** One item as a target answered it: what `items.jsonl` holds. */
export interface ItemOutcome {
  index: number;
  /** The item's text, its first 120 characters, to recognise it by. */
  preview: string;
  gold?: string | string[];
  /** A tagging item: the entities predicted, as `TYPE text`. */
  entities?: string[];
  output?: string;
  /** The label read from the answer; null when it named none. */
  parsed?: string | null;
  correct?: boolean;
  scores?: Record<string, number>;
  latency_ms?: number;
  input_tokens?: number;
  output_tokens?: number;
  error?: string;
}

/** A target's answers scored against the workload, with what paired statistics need per item. */
export interface TargetQuality {
  accuracy?: AccuracyReport;
  /** loglik only: the label with the highest log-probability per character wins (lm-evaluation-harness's acc_norm). */
  accuracy_length_normalised?: number;
  calibration?: Calibration;
  /** Mean over items of each generation metric. */
  quality?: Record<string, number>;
  /** A tagging workload: entity-level scores; per item, the predicted spans and their counts (for bootstraps). */
  entities?: EntityReport;
  entity_predictions?: (EntitySpan[] | null)[];
  entity_counts?: (EntityCounts | null)[];
  /** The main metric (accuracy, else the first generation metric) per input-length bucket. */
  quality_by_length?: QualityByLength;
  /** Per workload item (null: not answered): the classification answer, and each generation metric's score. */
  answers?: (LabelledAnswer | null)[];
  scores?: (Record<string, number> | null)[];
  items: ItemOutcome[];
}

export interface QualityByLength {
  metric: string;
  /** How length is counted: an estimate every target shares, so the buckets hold the same items for all. */
  unit: "estimated tokens (characters / 4)";
  buckets: { from: number; to: number | null; items: number; value: number | null }[];
}

/** An item's length in estimated tokens: characters / 4, the same for every target (no tokenizer is shared). */
export const estimatedTokens = (text: string) => Math.ceil(text.length / 4);

/** Bucket bounds: those given (`0,256,1024` → [0,256), [256,1024), [1024,∞)), else the dataset's quartiles. */
export function lengthBounds(workload: Workload, given?: readonly number[]): number[] {
  if (given && given.length > 0) return [...given];
  const lengths = workload.items.map((item) => estimatedTokens(item.text)).sort((a, b) => a - b);
  const at = (q: number) => lengths[Math.min(lengths.length - 1, Math.floor(q * lengths.length))] ?? 0;
  return [...new Set([0, at(0.25), at(0.5), at(0.75)])];
}

function qualityByLength(
  workload: Workload,
  metric: string,
  perItem: readonly (number | null)[],
  bounds: readonly number[],
): QualityByLength {
  const buckets = bounds.map((from, i) => {
    const to = bounds[i + 1] ?? null;
    let sum = 0;
    let items = 0;
    workload.items.forEach((item, index) => {
      const length = estimatedTokens(item.text);
      const value = perItem[index];
      if (value === null || value === undefined || length < from || (to !== null && length >= to)) return;
      sum += value;
      items++;
    });
    return { from, to, items, value: items > 0 ? sum / items : null };
  });
  return { metric, unit: "estimated tokens (characters / 4)", buckets };
}

/** The last measured record of each workload item (a run may send an item more than once). */
export function recordsByItem(
  workload: Workload,
  records: readonly RequestRecord[],
): (RequestRecord | undefined)[] {
  const byItem = new Array<RequestRecord | undefined>(workload.items.length);
  for (const record of records) if (!record.warmup) byItem[record.index % workload.items.length] = record;
  return byItem;
}

export function scoreTarget(
  workload: Workload,
  records: readonly RequestRecord[],
  metrics: Readonly<Record<string, GenerationMetric>>,
  scoring: string,
  lengthBucketBounds?: readonly number[],
  /** Per item, scores computed elsewhere (semantic similarity needs an embedding model), merged in. */
  precomputed?: readonly (Readonly<Record<string, number>> | null)[],
): TargetQuality {
  const byItem = recordsByItem(workload, records);
  const tagged = workload.task === "tag" ? entityQuality(workload, byItem) : undefined;
  const items = workload.items.flatMap((item, index) => {
    const record = byItem[index];
    return record ? [outcomeOf(item, index, record, tagged?.predicted[index])] : [];
  });
  const bounds = lengthBounds(workload, lengthBucketBounds);
  if (tagged) {
    const f1 = tagged.counts.map((counts) => (counts ? scoresOf(counts).f1 : null));
    return {
      entities: tagged.report,
      entity_predictions: tagged.predicted,
      entity_counts: tagged.counts,
      quality_by_length: qualityByLength(workload, "entity F1 (strict, per document)", f1, bounds),
      items,
    };
  }
  if (workload.task === "classify") {
    const quality = classificationQuality(workload, byItem, scoring);
    const correct = (quality.answers ?? []).map((answer) =>
      answer ? Number(answer.prediction === answer.label) : null,
    );
    return { ...quality, quality_by_length: qualityByLength(workload, "accuracy", correct, bounds), items };
  }
  if (workload.task === "generate") {
    const quality = generationQuality(workload, byItem, metrics, precomputed);
    const [main] = Object.keys(metrics);
    const perItem = (quality.scores ?? []).map((row) => (row && main ? (row[main] ?? null) : null));
    return {
      ...quality,
      ...(main && { quality_by_length: qualityByLength(workload, main, perItem, bounds) }),
      items,
    };
  }
  return { items };
}

function classificationQuality(
  workload: Workload,
  byItem: readonly (RequestRecord | undefined)[],
  scoring: string,
): Omit<TargetQuality, "items"> {
  const answers = workload.items.map((item, index): LabelledAnswer | null => {
    const record = byItem[index];
    if (!record || item.label === undefined) return null;
    return { label: item.label, ...(record.prediction !== undefined && { prediction: record.prediction }) };
  });
  const answered = answers.filter((answer): answer is LabelledAnswer => answer !== null);
  const accuracy = { ...accuracyOf(answered, workload.labels), scoring };
  const scored = workload.items.flatMap((item, index) => {
    const scores = byItem[index]?.scores;
    return scores && item.label !== undefined ? [{ label: item.label, scores }] : [];
  });
  const calibration = scored.length === answered.length ? calibrationOf(scored) : undefined;
  const quality: Omit<TargetQuality, "items"> = { accuracy, answers, ...(calibration && { calibration }) };
  const normalised = lengthNormalisedAccuracy(workload, byItem);
  if (normalised !== undefined) quality.accuracy_length_normalised = normalised;
  return quality;
}

function lengthNormalisedAccuracy(
  workload: Workload,
  byItem: readonly (RequestRecord | undefined)[],
): number | undefined {
  let right = 0;
  let total = 0;
  workload.items.forEach((item, index) => {
    const logprobs = byItem[index]?.logprobs;
    if (!logprobs || item.label === undefined) return;
    // Per character of the continuation, which is " " + label.
    const perChar = Object.fromEntries(
      Object.entries(logprobs).map(([label, lp]) => [label, lp / (label.length + 1)]),
    );
    total++;
    if (argmax(perChar) === item.label) right++;
  });
  return total > 0 ? right / total : undefined;
}

function generationQuality(
  workload: Workload,
  byItem: readonly (RequestRecord | undefined)[],
  metrics: Readonly<Record<string, GenerationMetric>>,
  precomputed: readonly (Readonly<Record<string, number>> | null)[] = [],
): Omit<TargetQuality, "items"> {
  const extra = [...new Set(precomputed.flatMap((row) => Object.keys(row ?? {})))];
  const names = [...Object.keys(metrics), ...extra];
  const scores = workload.items.map((item, index) => {
    const record = byItem[index];
    if (!record) return null;
    // A failed request scores 0 on every metric: it gave no answer.
    const answer = record.error === undefined ? (record.output ?? "") : undefined;
    return Object.fromEntries(
      names.map((name) => {
        const metric = metrics[name];
        if (answer === undefined) return [name, 0];
        return [name, metric ? metric(answer, item) : (precomputed[index]?.[name] ?? 0)];
      }),
    );
  });
  const present = scores.filter((row): row is Record<string, number> => row !== null);
  const quality = Object.fromEntries(
    names.map((name) => [
      name,
      present.length > 0 ? present.reduce((sum, row) => sum + (row[name] ?? 0), 0) / present.length : 0,
    ]),
  );
  return { quality, scores };
}

/** Entities as a reader scans them: `PER Ahab`, in the order of the text (code-point offsets). */
export function entityStrings(text: string, entities: readonly EntitySpan[]): string[] {
  const points = Array.from(text);
  return entities.map((entity) =>
    entity.start < 0
      ? `${entity.type} (not in the text)`
      : `${entity.type} ${points.slice(entity.start, entity.end).join("")}`,
  );
}

function outcomeOf(
  item: WorkItem,
  index: number,
  record: RequestRecord,
  entities?: readonly EntitySpan[] | null,
): ItemOutcome {
  const gold = item.label ?? item.references ?? (item.entities && entityStrings(item.text, item.entities));
  return {
    index,
    preview: item.text.slice(0, 120),
    ...(gold !== undefined && { gold }),
    ...(entities && { entities: entityStrings(item.text, entities) }),
    ...(record.output !== undefined && { output: record.output }),
    ...(item.label !== undefined && {
      parsed: record.prediction ?? null,
      correct: record.prediction === item.label,
    }),
    ...(record.scores && { scores: record.scores }),
    ...(record.error === undefined && { latency_ms: record.endAt - record.sentAt }),
    ...(record.inputTokens !== undefined && { input_tokens: record.inputTokens }),
    output_tokens: record.outputTokens,
    ...(record.error !== undefined && { error: record.error }),
  };
}
