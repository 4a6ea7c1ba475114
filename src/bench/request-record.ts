import type { EntitySpan } from "./quality/entity-metrics.js";

/**
 * What the load generator saw of one request. Times are `performance.now()` milliseconds. `plannedAt` is
 * when the schedule meant to send it, `sentAt` when it was sent: the gap is queueing delay the client
 * imposed, which a closed loop hides and an open loop must not.
 */
export interface RequestRecord {
  index: number;
  plannedAt: number;
  sentAt: number;
  endAt: number;
  /** Arrival times of the chunks that carried content. */
  chunkTimes: number[];
  outputTokens: number;
  inputTokens?: number;
  /** For classification: the class the target answered (absent: its answer named none), and the expected one. */
  prediction?: string;
  label?: string;
  /** Probability of each label, where the target gives them (a classifier head, loglik). */
  scores?: Record<string, number>;
  /** loglik scoring: each label's log-probability as the prompt's continuation. */
  logprobs?: Record<string, number>;
  /** The generated text, where the answer is scored on it. */
  output?: string;
  /** A tagger's entities (code-point offsets), where a tagging workload scores them. */
  entities?: EntitySpan[];
  error?: string;
  /** Warm-up requests are recorded but left out of every figure. */
  warmup: boolean;
}

/** What a target returns for one item; the scheduler adds the times it owns. */
export type TargetResult = Pick<
  RequestRecord,
  "chunkTimes" | "outputTokens" | "inputTokens" | "prediction" | "scores" | "logprobs" | "output" | "entities"
>;
