import type { PromptedClassification } from "../bench/prompted-classifier.js";
import type { LoadPlan } from "../bench/run-benchmark.js";

/** Tokens a generative candidate may write per item, in every run a plan makes. */
export const PLAN_MAX_TOKENS = 64;
const WARMUP_REQUESTS = 2;

/**
 * The load every run of a plan uses — candidates, the capacity sweep, verification — so no figure is compared
 * with one measured otherwise: open loop at `rate` (one request at a time without one), greedy, two warm-ups.
 */
export function planLoad(
  rate: number | undefined,
  bound: { requests: number } | { durationS: number },
  classification?: PromptedClassification,
): LoadPlan {
  return {
    strategy: rate !== undefined ? { kind: "constant", rate } : { kind: "concurrent", concurrency: 1 },
    constraints: { ...bound, warmupRequests: WARMUP_REQUESTS },
    settings: { maxTokens: PLAN_MAX_TOKENS, temperature: 0 },
    ...(classification && { classification }),
  };
}
