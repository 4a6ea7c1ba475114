import { type Interval, wilsonInterval } from "./paired-statistics.js";

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** One labelled item as a classifier answered it. `prediction` is absent when the answer named no label. */
export interface LabelledAnswer {
  label: string;
  prediction?: string;
}

export interface AccuracyReport {
  accuracy: number;
  correct: number;
  total: number;
  macro_f1: number;
  per_class: Record<string, ClassMetrics>;
  /** Share of items whose answer named no label (counted wrong). */
  invalid_rate: number;
  /** Accuracy over the items whose answer named a label. */
  accuracy_given_valid: number;
  /** Wilson score 95% interval of the accuracy. */
  wilson_95: Interval;
  /** rows: gold label, columns: predicted label (`labels` order, then "(invalid)" when any answer was). */
  confusion: { labels: string[]; matrix: number[][] };
  /** How a label was read from the target's answer: "classifier", "loglik", "constrained" or "generate". */
  scoring?: string;
  /** loglik only: accuracy when the label with the highest log-probability per character wins (acc_norm). */
  accuracy_length_normalised?: number;
}

export const INVALID = "(invalid)";

/** Accuracy, per-class precision/recall/F1, macro F1 and the confusion matrix; a missing prediction is wrong. */
export function accuracyOf(
  answers: readonly LabelledAnswer[],
  knownLabels: readonly string[] = [],
): AccuracyReport {
  const labels = [
    ...new Set([
      ...knownLabels,
      ...answers.flatMap((a) => [a.label, ...(a.prediction ? [a.prediction] : [])]),
    ]),
  ].sort();
  const index = new Map(labels.map((label, i) => [label, i]));
  const invalid = answers.filter((answer) => answer.prediction === undefined).length;
  const columns = invalid > 0 ? [...labels, INVALID] : labels;
  const matrix = labels.map(() => columns.map(() => 0));
  for (const { label, prediction } of answers) {
    const row = matrix[index.get(label) as number] as number[];
    const column = prediction === undefined ? labels.length : (index.get(prediction) as number);
    row[column] = (row[column] ?? 0) + 1;
  }
  const per_class: Record<string, ClassMetrics> = {};
  labels.forEach((label, i) => {
    const truePositives = matrix[i]?.[i] ?? 0;
    const predicted = matrix.reduce((sum, row) => sum + (row[i] ?? 0), 0);
    const actual = (matrix[i] ?? []).reduce((sum, count) => sum + count, 0);
    const precision = predicted > 0 ? truePositives / predicted : 0;
    const recall = actual > 0 ? truePositives / actual : 0;
    per_class[label] = {
      precision,
      recall,
      f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
      support: actual,
    };
  });
  const correct = answers.filter((answer) => answer.prediction === answer.label).length;
  const total = answers.length;
  const valid = total - invalid;
  // Macro F1 over the classes the data has: a label only ever predicted (never gold) has no recall to average.
  const f1s = labels
    .filter((label) => (per_class[label]?.support ?? 0) > 0)
    .map((label) => per_class[label]?.f1 ?? 0);
  return {
    accuracy: total > 0 ? correct / total : 0,
    correct,
    total,
    macro_f1: f1s.length > 0 ? f1s.reduce((a, b) => a + b, 0) / f1s.length : 0,
    per_class,
    invalid_rate: total > 0 ? invalid / total : 0,
    accuracy_given_valid: valid > 0 ? correct / valid : 0,
    wilson_95: wilsonInterval(correct, total),
    confusion: { labels: columns, matrix },
  };
}
