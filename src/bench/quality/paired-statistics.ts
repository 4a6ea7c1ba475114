/**
 * Statistics for two targets scored on the same items (lm-evaluation-harness's `significance.py` is the model:
 * small, cited, seeded). Pure functions; no I/O.
 */

export interface Interval {
  low: number;
  high: number;
}

/** z for a two-sided 95% interval. */
const Z_95 = 1.959963984540054;

/** Wilson score interval of a proportion (Wilson 1927): sound near 0 and 1, where the normal one is not. */
export function wilsonInterval(successes: number, trials: number, z = Z_95): Interval {
  if (trials === 0) return { low: 0, high: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const center = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

export interface McNemarResult {
  /** Items only the first model got right, and only the second. */
  only_first_correct: number;
  only_second_correct: number;
  /** χ² with continuity correction, (|b − c| − 1)² / (b + c). */
  chi_squared: number;
  /** Two-sided: exact binomial over the discordant pairs when there are at most 25 of them, else χ² (1 dof). */
  p_value: number;
  method: "exact" | "chi_squared";
}

/** Up to this many discordant pairs the exact binomial test is used (Edwards 1948; the usual rule of thumb). */
const EXACT_UP_TO = 25;

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
  const chi_squared = n > 0 ? Math.max(0, Math.abs(b - c) - 1) ** 2 / n : 0;
  const exact = n <= EXACT_UP_TO;
  return {
    only_first_correct: b,
    only_second_correct: c,
    chi_squared,
    p_value: exact ? exactBinomialTwoSided(Math.min(b, c), n) : chiSquaredOneDofSurvival(chi_squared),
    method: exact ? "exact" : "chi_squared",
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

/** P(χ²₁ ≥ x) = erfc(√(x/2)). */
function chiSquaredOneDofSurvival(x: number): number {
  return erfc(Math.sqrt(x / 2));
}

/** Complementary error function, Chebyshev fit with relative error below 1.2e-7 (Numerical Recipes, erfcc). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/**
 * mulberry32: a small seeded generator of uniform numbers in [0, 1), so a bootstrap repeats exactly. Each call
 * returns the next number.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface BootstrapDifference {
  /** metric(target) − metric(baseline) on all items. */
  difference: number;
  /** 2.5th and 97.5th percentiles of the resampled differences. */
  low: number;
  high: number;
}

export interface BootstrapOptions {
  resamples?: number;
  seed?: number;
}

/**
 * Paired bootstrap of a difference: the same resample of item indices (drawn with replacement, `n` at a time) is
 * scored for both targets, and the metric is recomputed on each resample, so it is right for F1 and ROUGE as
 * well as for means. Percentile interval, 10,000 resamples and seed 1 by default.
 *
 * @example
 * pairedBootstrap(items.length, (indices) => accuracyOn(a, indices) - accuracyOn(b, indices))
 */
export function pairedBootstrap(
  n: number,
  differenceOn: (indices: Int32Array) => number,
  { resamples = 10_000, seed = 1 }: BootstrapOptions = {},
): BootstrapDifference {
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const difference = differenceOn(all);
  if (n === 0) return { difference, low: difference, high: difference };
  const random = seededRandom(seed);
  const differences = new Float64Array(resamples);
  const indices = new Int32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) indices[i] = Math.floor(random() * n);
    differences[r] = differenceOn(indices);
  }
  differences.sort();
  return { difference, low: quantile(differences, 0.025), high: quantile(differences, 0.975) };
}

/** Linear interpolation between the closest ranks (numpy's default "linear" method) of sorted values. */
export function quantile(sorted: Float64Array | readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  const low = sorted[below] as number;
  return low + ((sorted[above] as number) - low) * (position - below);
}
