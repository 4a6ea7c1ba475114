import type { BenchTarget } from "./bench-target.js";
import type { RequestRecord } from "./request-record.js";
import { benchmarkTarget, type LoadPlan } from "./run-benchmark.js";
import { batchedWorkload, type Workload } from "./workload.js";

/**
 * `concurrency` and `rate` vary the load; `batch` varies how the target works: an encoder gets that many texts per
 * request, a llama.cpp model is reloaded with that many parallel sequences and driven at that concurrency.
 */
export interface SweepSpec {
  parameter: "concurrency" | "rate" | "batch";
  values: number[];
}

/** What a sweep point needs to run the target with one value, and what it tells as it goes. */
export interface SweepHooks {
  /** A copy of the target whose llama.cpp context holds `parallel` sequences. */
  withParallel(parallel: number): Promise<BenchTarget>;
  /** A point starts: its value and the measured requests it will send (undefined: bounded by time). */
  onPoint?(value: number, requests: number | undefined): void;
  onRecord?(value: number, record: RequestRecord): void;
}

export interface SweepPoint {
  value: number;
  output_tokens_per_s: number;
  requests_per_s: number;
  /** Texts handled per second: requests/s times the batch size in an encoder batch sweep. */
  items_per_s: number;
  ttft_p50_ms: number;
  /** Absent in runs saved before it was measured. */
  ttft_p99_ms?: number;
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

/** Runs the plan once per sweep value and finds where it stops paying. */
export async function sweepTarget(
  target: BenchTarget,
  workload: Workload,
  plan: LoadPlan,
  sweep: SweepSpec,
  hooks: SweepHooks,
): Promise<SweepResult> {
  const points: SweepPoint[] = [];
  const encoder = target.task !== "generate";
  for (const value of sweep.values) {
    const point = await pointPlan(target, workload, plan, sweep.parameter, value, hooks);
    hooks.onPoint?.(value, point.plan.constraints.requests);
    const { metrics } = await benchmarkTarget(
      point.target,
      point.workload,
      point.plan,
      hooks.onRecord && ((record) => hooks.onRecord?.(value, record)),
    );
    const textsPerRequest = sweep.parameter === "batch" && encoder ? value : 1;
    points.push({
      value,
      output_tokens_per_s: metrics.output_tokens_per_s,
      requests_per_s: metrics.requests_per_s,
      items_per_s: metrics.requests_per_s * textsPerRequest,
      ttft_p50_ms: metrics.ttft_ms.p50,
      ttft_p99_ms: metrics.ttft_ms.p99,
      e2e_p50_ms: metrics.e2e_ms.p50,
      e2e_p99_ms: metrics.e2e_ms.p99,
      error_rate: metrics.error_rate,
      ...(metrics.goodput && { good_fraction: metrics.goodput.good_fraction }),
    });
  }
  const knee = kneeOf(points, encoder ? "items_per_s" : "output_tokens_per_s");
  return { parameter: sweep.parameter, points, ...(knee && { knee }) };
}

async function pointPlan(
  target: BenchTarget,
  workload: Workload,
  plan: LoadPlan,
  parameter: SweepSpec["parameter"],
  value: number,
  hooks: SweepHooks,
): Promise<{ target: BenchTarget; workload: Workload; plan: LoadPlan }> {
  if (parameter === "concurrency") {
    return { target, workload, plan: { ...plan, strategy: { kind: "concurrent", concurrency: value } } };
  }
  if (parameter === "rate")
    return { target, workload, plan: { ...plan, strategy: { kind: "constant", rate: value } } };
  if (target.task !== "generate") {
    // The same number of texts at every point: fewer, larger requests as the batch grows.
    const { requests } = plan.constraints;
    const constraints =
      requests === undefined
        ? plan.constraints
        : { ...plan.constraints, requests: Math.ceil(requests / value) };
    return { target, workload: batchedWorkload(workload, value), plan: { ...plan, constraints } };
  }
  return {
    target: await hooks.withParallel(value),
    workload,
    plan: { ...plan, strategy: { kind: "concurrent", concurrency: value } },
  };
}

/** The last point before throughput stops growing by MIN_GAIN, errors appear, or the SLOs break. */
export function kneeOf(
  points: readonly SweepPoint[],
  rate: "output_tokens_per_s" | "requests_per_s" | "items_per_s",
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
  const last = points.at(-1);
  return last ? { value: last.value, reason: "throughput still growing at the last point" } : undefined;
}

export function parseSweep(text: string): SweepSpec {
  const [parameter, list = ""] = text.split("=");
  const values = list.split(",").map(Number);
  const known = parameter === "concurrency" || parameter === "rate" || parameter === "batch";
  if (!known || values.length < 2 || values.some((v) => !(v > 0))) {
    throw new Error(`expected concurrency=1,2,4,..., rate=5,10,... or batch=1,4,16,..., got '${text}'`);
  }
  if (parameter !== "rate" && values.some((v) => !Number.isInteger(v)))
    throw new Error(`${parameter} values must be integers`);
  return { parameter, values };
}
