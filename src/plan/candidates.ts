import type { Report } from "../bench/compare.js";
import type { Distribution } from "../bench/distribution.js";
import type { Objective } from "./objectives.js";

/** One measured candidate (a model at one precision, or an endpoint), as the plan weighs it. */
export interface Candidate {
  /** As measured: `spam-encoder:int8`, or an endpoint's name. */
  name: string;
  task: string;
  location: string;
  /** Quality by metric: the point estimate and its 95% interval (a mean without one has low = high = value). */
  quality: Record<string, { value: number; low: number; high: number }>;
  e2e: Distribution;
  ttft: Distribution;
  /** US dollars per 1,000 items, when known. */
  costPer1k?: number;
  /** Peak resident memory of a process serving just this model, per request (MB). */
  memoryMb?: number;
  requestsPerS: number;
  errorRate: number;
  /** Why the gateway cannot serve it as measured (an LM prompted as a classifier: `/v1/classify` takes classifiers). */
  unservable?: string;
}

/** The candidates of a report's targets, with the costs a plan uses (see `costOf`). */
export function candidatesOf(targets: Report["targets"], pricePerCoreHour: number): Candidate[] {
  return targets.map((target) => {
    const m = target.metrics;
    const quality: Candidate["quality"] = {};
    if (m.accuracy)
      quality.accuracy = {
        value: m.accuracy.accuracy,
        low: m.accuracy.wilson_95.low,
        high: m.accuracy.wilson_95.high,
      };
    for (const [name, value] of Object.entries(m.quality ?? {}))
      quality[name] = { value, low: value, high: value };
    const candidate: Candidate = {
      name: target.target,
      task: target.task,
      location: target.location,
      quality,
      e2e: m.e2e_ms,
      ttft: m.ttft_ms,
      requestsPerS: m.requests_per_s,
      errorRate: m.error_rate,
    };
    const scoring = m.accuracy?.scoring;
    if (scoring !== undefined && scoring !== "classifier")
      candidate.unservable = `an LM prompted as a classifier (${scoring}) is measured, not served: a classify route takes classifiers`;
    const cost = costOf(target, pricePerCoreHour);
    if (cost !== undefined) candidate.costPer1k = cost;
    if (m.peak_rss_bytes_per_request) candidate.memoryMb = m.peak_rss_bytes_per_request / 1024 / 1024;
    return candidate;
  });
}

/**
 * The price of 1,000 items: an API's from its configured token prices; a model run here from the CPU time it
 * spent per item at the price of a core-hour. At a fixed open-loop rate every local candidate finishes the same
 * items in the same wall time, so wall-clock machine time would price them all alike; CPU time tells them apart.
 */
function costOf(target: Report["targets"][number], pricePerCoreHour: number): number | undefined {
  const m = target.metrics;
  if (target.location !== "in-process") return m.cost_per_1k_items_usd;
  if (m.cpu_s_per_1k_items === undefined) return undefined;
  return (m.cpu_s_per_1k_items / 3600) * pricePerCoreHour;
}

/** How a candidate fares against one objective. */
export interface Attainment {
  objective: string;
  bound: "min" | "max";
  limit: number;
  /** The figure compared (a quality floor: the interval's lower bound); undefined when not measured. */
  value?: number;
  met: boolean;
  /** Said instead of the figures, for a condition that has none (the candidate cannot be served). */
  note?: string;
}

/** Above this share of failed requests a candidate fails its plan whatever else it meets. */
export const MAX_ERROR_RATE = 0.01;

export function attain(candidate: Candidate, objective: Objective): Attainment {
  const value = figureFor(candidate, objective);
  const met =
    value !== undefined && (objective.bound === "min" ? value >= objective.limit : value <= objective.limit);
  const attainment: Attainment = {
    objective: objective.name,
    bound: objective.bound,
    limit: objective.limit,
    met,
  };
  if (value !== undefined) attainment.value = value;
  return attainment;
}

function figureFor(candidate: Candidate, objective: Objective): number | undefined {
  const metric = objective.metric;
  switch (metric.kind) {
    case "quality":
      return candidate.quality[metric.name]?.low;
    case "latency":
      return (metric.which === "e2e" ? candidate.e2e : candidate.ttft)[metric.percentile];
    case "cost":
      return candidate.costPer1k;
    case "memory":
      return candidate.memoryMb;
    default:
      return metric satisfies never;
  }
}
