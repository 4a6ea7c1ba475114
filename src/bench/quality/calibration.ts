/** How well a classifier's probabilities match how often it is right. */
export interface Calibration {
  /** Mean over items of Σ over labels (p − 1[label is gold])²: 0 is perfect, 2 the worst (Brier 1950, all classes). */
  brier: number;
  /** Expected calibration error over 10 equal-width bins of the top probability (Guo et al. 2017). */
  ece: number;
  items: number;
}

export interface ScoredAnswer {
  label: string;
  /** Probability of each label, summing to 1. */
  scores: Readonly<Record<string, number>>;
}

const BINS = 10;

export function calibrationOf(answers: readonly ScoredAnswer[]): Calibration | undefined {
  if (answers.length === 0) return undefined;
  let brier = 0;
  const bins = Array.from({ length: BINS }, () => ({ count: 0, confidence: 0, correct: 0 }));
  for (const { label, scores } of answers) {
    let top = "";
    let topScore = -1;
    for (const [candidate, p] of Object.entries(scores)) {
      brier += (p - (candidate === label ? 1 : 0)) ** 2;
      if (p > topScore) [top, topScore] = [candidate, p];
    }
    if (!(label in scores)) brier += 1;
    // Bins are (0, 0.1], (0.1, 0.2], …, (0.9, 1]; a top probability of exactly 0 cannot happen.
    const bin = bins[Math.min(BINS - 1, Math.max(0, Math.ceil(topScore * BINS) - 1))];
    if (bin) {
      bin.count++;
      bin.confidence += topScore;
      if (top === label) bin.correct++;
    }
  }
  const n = answers.length;
  const ece = bins.reduce(
    (sum, bin) =>
      bin.count === 0
        ? sum
        : sum + (bin.count / n) * Math.abs(bin.correct / bin.count - bin.confidence / bin.count),
    0,
  );
  return { brier: brier / n, ece, items: n };
}
