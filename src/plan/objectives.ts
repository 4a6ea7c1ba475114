import { InvalidRequestError } from "../core/errors.js";

/**
 * What a plan must meet. A quality floor is met only by its interval's lower bound (accuracy: Wilson 95%; a
 * generation metric: its mean, which has no interval here); latency ceilings by percentiles measured at the
 * expected load; cost and memory by the measured figures.
 */
export interface Objective {
  /** As the user wrote it: `min_accuracy`, `e2e_p99_ms`, `max_cost_per_1k`, … */
  name: string;
  /** The candidate's figure this limits. */
  metric: ObjectiveMetric;
  bound: "min" | "max";
  limit: number;
}

export type ObjectiveMetric =
  | { kind: "quality"; name: string }
  | { kind: "latency"; which: "e2e" | "ttft"; percentile: "p50" | "p90" | "p95" | "p99" }
  | { kind: "cost" }
  | { kind: "memory" };

const LATENCY = /^(e2e|ttft)_(p50|p90|p95|p99)_ms$/;

/**
 * `--slo min_accuracy=0.95,e2e_p99_ms=800,ttft_p99_ms=300,min_token_f1=0.6`, plus `--max-cost-per-1k` and
 * `--memory-limit-mb`.
 */
export function parseObjectives(
  slo: string,
  extra: { maxCostPer1k?: number; memoryLimitMb?: number } = {},
): Objective[] {
  const objectives: Objective[] = [];
  for (const part of slo.split(",").map((piece) => piece.trim())) {
    if (!part) continue;
    const [name = "", raw = ""] = part.split("=");
    const limit = Number(raw);
    if (!(raw !== "" && Number.isFinite(limit) && limit >= 0))
      throw new InvalidRequestError(`--slo: '${part}' needs a non-negative number after '='`, "slo");
    const latency = LATENCY.exec(name);
    if (latency) {
      objectives.push({
        name,
        metric: {
          kind: "latency",
          which: latency[1] as "e2e" | "ttft",
          percentile: latency[2] as "p50" | "p90" | "p95" | "p99",
        },
        bound: "max",
        limit,
      });
    } else if (name.startsWith("min_") && name.length > 4) {
      objectives.push({ name, metric: { kind: "quality", name: name.slice(4) }, bound: "min", limit });
    } else {
      throw new InvalidRequestError(
        `--slo: unknown objective '${name}'; use min_<quality metric> (min_accuracy, min_token_f1, …), e2e_p99_ms, ttft_p95_ms (p50, p90, p95, p99)`,
        "slo",
      );
    }
  }
  // Ceilings given as their own flags.
  const ceilings: [string, ObjectiveMetric, number | undefined][] = [
    ["max_cost_per_1k", { kind: "cost" }, extra.maxCostPer1k],
    ["memory_limit_mb", { kind: "memory" }, extra.memoryLimitMb],
  ];
  for (const [name, metric, limit] of ceilings)
    if (limit !== undefined) objectives.push({ name, metric, bound: "max", limit });
  if (objectives.length === 0)
    throw new InvalidRequestError(
      "plan needs at least one objective: --slo min_accuracy=…,e2e_p99_ms=…, --max-cost-per-1k or --memory-limit-mb",
      "slo",
    );
  return objectives;
}

export function latencyObjectives(objectives: readonly Objective[]): Objective[] {
  return objectives.filter((objective) => objective.metric.kind === "latency");
}
