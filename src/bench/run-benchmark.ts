import type { Perplexity } from "../core/types.js";
import { type AccuracyReport, accuracyOf } from "./accuracy.js";
import { type BenchTarget, type GenerationSettings, sendTo } from "./bench-target.js";
import { cdfOf, type Distribution } from "./distribution.js";
import type { ColdStartSample } from "./isolated-run.js";
import { type LoadMetrics, loadMetrics, type Slo } from "./load-metrics.js";
import type { RequestRecord } from "./request-record.js";
import { type Constraints, runSchedule, type Strategy } from "./scheduler.js";
import type { SweepResult } from "./sweep.js";
import type { Workload } from "./workload.js";

export interface LoadPlan {
  strategy: Strategy;
  constraints: Constraints;
  settings: GenerationSettings;
  slo?: Slo;
  /** Held-out documents to score an in-process language model's perplexity on, each cut to `maxTokens`. */
  perplexity?: { documents: readonly string[]; maxTokens: number };
  /** US dollars per hour of the machine running in-process targets, for a cost per 1M tokens. */
  machinePricePerHour?: number;
}

export interface TargetReport {
  target: string;
  task: BenchTarget["task"];
  location: string;
  workload: string;
  runtime: Readonly<Record<string, string | number | boolean>>;
  metrics: LoadMetrics & {
    accuracy?: AccuracyReport;
    cost_per_1m_output_tokens_usd?: number;
    /** Median over sampled requests of the resident-set high-water mark of a process serving just this model. */
    peak_rss_bytes_per_request?: number;
    /** How far each request took the resident set above where it was before it. */
    peak_rss_growth_bytes_per_request?: { p50: number; max: number };
    perplexity?: Perplexity & { documents: number; max_tokens_per_document: number };
    cold_start_ms?: Distribution;
    cold_start?: ColdStartSample[];
  };
  /** With --sweep: the same run at each concurrency or rate, and where throughput stops paying. */
  sweep?: SweepResult;
  /** Bytes of weights the target holds (0 for an endpoint). */
  weights_bytes: number;
  /** Latency distributions as [percentile, ms] points, for charts. */
  cdf: { ttft_ms: [number, number][]; e2e_ms: [number, number][] };
  /** Per item of the workload, whether the target's answer was right (classification), for paired tests. */
  correct_by_item?: (boolean | null)[];
  records?: RequestRecord[];
}

/** Runs one target through the plan and summarizes it. */
export async function benchmarkTarget(
  target: BenchTarget,
  workload: Workload,
  plan: LoadPlan,
  onRecord?: (record: RequestRecord) => void,
): Promise<TargetReport> {
  const records = await runSchedule({
    items: workload.items,
    send: sendTo(target, plan.settings),
    strategy: plan.strategy,
    constraints: plan.constraints,
    ...(onRecord && { onRecord }),
  });
  const metrics: TargetReport["metrics"] = loadMetrics(records, {
    ...(plan.slo && { slo: plan.slo }),
    openLoop: plan.strategy.kind !== "concurrent",
  });
  const measured = records.filter((record) => !record.warmup && record.error === undefined);
  const report: TargetReport = {
    target: target.name,
    task: target.task,
    location: target.location,
    workload: workload.name,
    runtime: target.model.runtime,
    metrics,
    weights_bytes: (await target.model.memory()).weightsBytes,
    cdf: {
      ttft_ms: cdfOf(measured.map((record) => (record.chunkTimes[0] ?? record.endAt) - record.sentAt)),
      e2e_ms: cdfOf(measured.map((record) => record.endAt - record.sentAt)),
    },
    records,
  };
  if (target.task === "classify" && workload.items.some((item) => item.label !== undefined)) {
    const byItem = new Map<number, RequestRecord>();
    for (const record of records)
      if (!record.warmup) byItem.set(record.index % workload.items.length, record);
    const pairs = [...byItem.entries()].flatMap(([index, record]) => {
      const label = workload.items[index]?.label;
      return label === undefined
        ? []
        : [{ label, ...(record.prediction && { prediction: record.prediction }) }];
    });
    metrics.accuracy = accuracyOf(pairs);
    report.correct_by_item = workload.items.map((item, index) => {
      const record = byItem.get(index);
      return record === undefined || item.label === undefined ? null : record.prediction === item.label;
    });
  }
  if (plan.perplexity && target.task === "generate" && target.location === "in-process") {
    const { documents, maxTokens } = plan.perplexity;
    metrics.perplexity = {
      ...(await target.model.perplexity(documents, maxTokens)),
      documents: documents.length,
      max_tokens_per_document: maxTokens,
    };
  }
  const cost = costPerMillionOutputTokens(target, metrics, plan.machinePricePerHour);
  if (cost !== undefined) metrics.cost_per_1m_output_tokens_usd = cost;
  return report;
}

/**
 * From the model's configured prices (an API: input and output tokens at their rates, per output token), or
 * from a machine price per hour over the measured throughput (a model run here).
 */
function costPerMillionOutputTokens(
  target: BenchTarget,
  metrics: LoadMetrics,
  pricePerHour?: number,
): number | undefined {
  const price = target.model.ref.spec.cost;
  if (price && metrics.mean_output_tokens > 0) {
    const input = (metrics.mean_input_tokens ?? 0) * price.input_per_1m_tokens;
    return (input + metrics.mean_output_tokens * price.output_per_1m_tokens) / metrics.mean_output_tokens;
  }
  if (pricePerHour !== undefined && target.location === "in-process" && metrics.output_tokens_per_s > 0) {
    return (pricePerHour / (metrics.output_tokens_per_s * 3600)) * 1_000_000;
  }
  return undefined;
}
