import type { BenchTarget } from "./bench-target.js";
import { benchmarkTarget, type LoadPlan } from "./run-benchmark.js";
import type { Workload } from "./workload.js";

export interface SweepSpec {
  parameter: "concurrency" | "rate";
  values: number[];
}

export interface SweepPoint {
  value: number;
  output_tokens_per_s: number;
  requests_per_s: number;
  ttft_p50_ms: number;
  e2e_p50_ms: number;
  e2e_p99_ms: number;
  error_rate: number;
  good_fraction?: number;
}

export interface SweepResult {
  parameter: SweepSpec["parameter"];
  points: SweepPoint[];
  /** The last value worth running at, and why the next one was not. */
  knee?: { value: number; reason: string };
}

/** Throughput must grow by at least this much from one point to the next, or the sweep has found its knee. */
const MIN_GAIN = 0.1;
/** With SLOs, a point where fewer requests than this meet them breaks the sweep. */
const MIN_GOOD_FRACTION = 0.9;

/** Runs the plan once per sweep value (concurrency, or open-loop rate) and finds where it stops paying. */
export async function sweepTarget(
  target: BenchTarget,
  workload: Workload,
  plan: LoadPlan,
  sweep: SweepSpec,
): Promise<SweepResult> {
  const points: SweepPoint[] = [];
  for (const value of sweep.values) {
    const strategy: LoadPlan["strategy"] =
      sweep.parameter === "concurrency"
        ? { kind: "concurrent", concurrency: value }
        : { kind: "constant", rate: value };
    const { metrics } = await benchmarkTarget(target, workload, { ...plan, strategy });
    points.push({
      value,
      output_tokens_per_s: metrics.output_tokens_per_s,
      requests_per_s: metrics.requests_per_s,
      ttft_p50_ms: metrics.ttft_ms.p50,
      e2e_p50_ms: metrics.e2e_ms.p50,
      e2e_p99_ms: metrics.e2e_ms.p99,
      error_rate: metrics.error_rate,
      ...(metrics.goodput && { good_fraction: metrics.goodput.good_fraction }),
    });
  }
  const knee = kneeOf(points, target.task === "generate" ? "output_tokens_per_s" : "requests_per_s");
  return { parameter: sweep.parameter, points, ...(knee && { knee }) };
}

/** The last point before throughput stops growing by MIN_GAIN, errors appear, or the SLOs break. */
export function kneeOf(
  points: readonly SweepPoint[],
  rate: "output_tokens_per_s" | "requests_per_s",
): SweepResult["knee"] {
  for (let i = 1; i < points.length; i++) {
    const previous = points[i - 1] as SweepPoint;
    const point = points[i] as SweepPoint;
    if (point.good_fraction !== undefined && point.good_fraction < MIN_GOOD_FRACTION) {
      return {
        value: previous.value,
        reason: `at ${point.value} only ${(point.good_fraction * 100).toFixed(0)}% of requests meet the SLOs`,
      };
    }
    if (point.error_rate > 0)
      return {
        value: previous.value,
        reason: `at ${point.value} ${(point.error_rate * 100).toFixed(1)}% of requests fail`,
      };
    if (point[rate] < previous[rate] * (1 + MIN_GAIN)) {
      return {
        value: previous.value,
        reason: `throughput grows less than ${MIN_GAIN * 100}% from ${previous.value} to ${point.value}`,
      };
    }
  }
  return points.length > 0
    ? { value: (points.at(-1) as SweepPoint).value, reason: "throughput still growing at the last point" }
    : undefined;
}

export function parseSweep(text: string): SweepSpec {
  const [parameter, list = ""] = text.split("=");
  const values = list.split(",").map(Number);
  if (
    (parameter !== "concurrency" && parameter !== "rate") ||
    values.length < 2 ||
    values.some((v) => !(v > 0))
  ) {
    throw new Error(`expected concurrency=1,2,4,... or rate=5,10,..., got '${text}'`);
  }
  if (parameter === "concurrency" && values.some((v) => !Number.isInteger(v)))
    throw new Error("concurrency values must be integers");
  return { parameter, values };
}
