import type { LabelledAnswer } from "./classification-metrics.js";
import { type EntityCounts, scoresOf, sumCounts } from "./entity-metrics.js";
import { type BootstrapDifference, type BootstrapOptions, pairedBootstrap } from "./paired-statistics.js";

/**
 * Paired bootstraps of classification quality: accuracy and macro F1 of `first` minus `second`, both recomputed on
 * every resample of the items both answered (the same resamples for both metrics).
 */
export function classificationBootstrap(
  first: readonly (LabelledAnswer | null)[],
  second: readonly (LabelledAnswer | null)[],
  options: BootstrapOptions = {},
): Record<"accuracy" | "macro_f1", BootstrapDifference> {
  const both = first.flatMap((a, i) => {
    const b = second[i];
    return a && b ? [[a, b] as const] : [];
  });
  const labels = [...new Set(both.map(([a]) => a.label))].sort();
  const indexOf = new Map(labels.map((label, i) => [label, i]));
  const gold = Int32Array.from(both, ([a]) => indexOf.get(a.label) as number);
  // A prediction outside the gold labels (or none) matches no class: -1.
  const predicted = (which: 0 | 1) =>
    Int32Array.from(both, (pair) => indexOf.get(pair[which].prediction ?? "") ?? -1);
  const firstPredicted = predicted(0);
  const secondPredicted = predicted(1);
  const accuracy = (prediction: Int32Array, indices: Int32Array) => {
    let right = 0;
    for (const i of indices) if (prediction[i] === gold[i]) right++;
    return indices.length > 0 ? right / indices.length : 0;
  };
  const macroF1 = (prediction: Int32Array, indices: Int32Array) => {
    const k = labels.length;
    const truePositive = new Int32Array(k);
    const predictedCount = new Int32Array(k);
    const actual = new Int32Array(k);
    for (const i of indices) {
      const g = gold[i] as number;
      const p = prediction[i] as number;
      actual[g] = (actual[g] as number) + 1;
      if (p >= 0) predictedCount[p] = (predictedCount[p] as number) + 1;
      if (p === g) truePositive[g] = (truePositive[g] as number) + 1;
    }
    let sum = 0;
    let classes = 0;
    for (let c = 0; c < k; c++) {
      if (actual[c] === 0) continue; // as accuracyOf: macro over the classes present
      classes++;
      const tp = truePositive[c] as number;
      const precision = (predictedCount[c] as number) > 0 ? tp / (predictedCount[c] as number) : 0;
      const recall = tp / (actual[c] as number);
      sum += precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    }
    return classes > 0 ? sum / classes : 0;
  };
  return {
    accuracy: pairedBootstrap(
      both.length,
      (indices) => accuracy(firstPredicted, indices) - accuracy(secondPredicted, indices),
      options,
    ),
    macro_f1: pairedBootstrap(
      both.length,
      (indices) => macroF1(firstPredicted, indices) - macroF1(secondPredicted, indices),
      options,
    ),
  };
}

/** Paired bootstraps of the mean of each generation metric, `first` minus `second`, over the items both answered. */
export function generationBootstrap(
  first: readonly (Readonly<Record<string, number>> | null)[],
  second: readonly (Readonly<Record<string, number>> | null)[],
  options: BootstrapOptions = {},
): Record<string, BootstrapDifference> {
  const both = first.flatMap((a, i) => {
    const b = second[i];
    return a && b ? [[a, b] as const] : [];
  });
  const names = Object.keys(both[0]?.[0] ?? {}).filter((name) => both.every(([, b]) => name in b));
  return Object.fromEntries(
    names.map((name) => {
      const differences = Float64Array.from(both, ([a, b]) => (a[name] ?? 0) - (b[name] ?? 0));
      const mean = (indices: Int32Array) => {
        let sum = 0;
        for (const i of indices) sum += differences[i] as number;
        return indices.length > 0 ? sum / indices.length : 0;
      };
      return [name, pairedBootstrap(both.length, mean, options)];
    }),
  );
}

/**
 * A paired bootstrap by document of strict entity F1, `first` minus `second`: each resample of the documents both
 * answered sums each target's counts and recomputes its micro F1.
 */
export function entityBootstrap(
  first: readonly (EntityCounts | null)[],
  second: readonly (EntityCounts | null)[],
  options: BootstrapOptions = {},
): BootstrapDifference {
  const both = first.flatMap((a, i) => {
    const b = second[i];
    return a && b ? [[a, b] as const] : [];
  });
  const f1 = (which: 0 | 1, indices: Int32Array) =>
    scoresOf(sumCounts(Array.from(indices, (i) => (both[i] as readonly [EntityCounts, EntityCounts])[which])))
      .f1;
  return pairedBootstrap(both.length, (indices) => f1(0, indices) - f1(1, indices), options);
}
