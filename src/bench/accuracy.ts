export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface AccuracyReport {
  accuracy: number;
  correct: number;
  total: number;
  macro_f1: number;
  per_class: Record<string, ClassMetrics>;
}

/** Accuracy and per-class precision, recall and F1 over labelled predictions (a missing prediction is wrong). */
export function accuracyOf(pairs: readonly { prediction?: string; label: string }[]): AccuracyReport {
  const labels = [
    ...new Set(pairs.flatMap((pair) => [pair.label, ...(pair.prediction ? [pair.prediction] : [])])),
  ].sort();
  const per_class: Record<string, ClassMetrics> = {};
  for (const label of labels) {
    const truePositives = pairs.filter((pair) => pair.prediction === label && pair.label === label).length;
    const predicted = pairs.filter((pair) => pair.prediction === label).length;
    const actual = pairs.filter((pair) => pair.label === label).length;
    const precision = predicted > 0 ? truePositives / predicted : 0;
    const recall = actual > 0 ? truePositives / actual : 0;
    per_class[label] = {
      precision,
      recall,
      f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
      support: actual,
    };
  }
  const correct = pairs.filter((pair) => pair.prediction === pair.label).length;
  const f1s = Object.values(per_class).map((metrics) => metrics.f1);
  return {
    accuracy: pairs.length > 0 ? correct / pairs.length : 0,
    correct,
    total: pairs.length,
    macro_f1: f1s.length > 0 ? f1s.reduce((a, b) => a + b, 0) / f1s.length : 0,
    per_class,
  };
}

export interface McNemarResult {
  /** Items only the first model got right, and only the second. */
  only_first_correct: number;
  only_second_correct: number;
  /** χ² with continuity correction, (|b − c| − 1)² / (b + c). */
  chi_squared: number;
  /** Exact two-sided binomial p-value over the discordant pairs. */
  p_value: number;
}

/** McNemar's test of two classifiers on the same items: do their error rates differ? */
export function mcnemar(firstCorrect: readonly boolean[], secondCorrect: readonly boolean[]): McNemarResult {
  if (firstCorrect.length !== secondCorrect.length)
    throw new Error("McNemar needs the same items for both models");
  let b = 0;
  let c = 0;
  firstCorrect.forEach((first, i) => {
    const second = secondCorrect[i];
    if (first && !second) b++;
    if (!first && second) c++;
  });
  const n = b + c;
  const chi_squared = n > 0 ? (Math.abs(b - c) - 1) ** 2 / n : 0;
  return {
    only_first_correct: b,
    only_second_correct: c,
    chi_squared: Math.max(0, chi_squared),
    p_value: exactBinomialTwoSided(Math.min(b, c), n),
  };
}

/** P(X ≤ k) doubled, X ~ Binomial(n, 1/2), summed in log space so large n does not underflow. */
function exactBinomialTwoSided(k: number, n: number): number {
  if (n === 0) return 1;
  let logChoose = 0;
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logChoose += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logChoose - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}
