/** Label probabilities from log-probabilities (a softmax over the labels), and the label that scores highest. */
export function softmax(logprobs: Readonly<Record<string, number>>): Record<string, number> {
  const top = Math.max(...Object.values(logprobs));
  const weights = Object.entries(logprobs).map(([label, value]) => [label, Math.exp(value - top)] as const);
  const total = weights.reduce((sum, [, weight]) => sum + weight, 0);
  return Object.fromEntries(weights.map(([label, weight]) => [label, weight / total]));
}

export function argmax(scores: Readonly<Record<string, number>>): string {
  let best = "";
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const [label, score] of Object.entries(scores))
    if (score > bestScore) [best, bestScore] = [label, score];
  return best;
}
