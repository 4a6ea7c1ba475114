import { InvalidRequestError } from "../core/errors.js";
import type { Perplexity } from "../core/types.js";
import { type BenchTarget, type GenerationSettings, sendTo } from "./bench-target.js";
import { cdfOf, type Distribution } from "./distribution.js";
import type { ColdStartSample } from "./isolated-run.js";
import { type LoadMetrics, loadMetrics, type Slo } from "./load-metrics.js";
import { type PromptedClassification, resolveScoring } from "./prompted-classifier.js";
import type { Calibration } from "./quality/calibration.js";
import type { AccuracyReport, LabelledAnswer } from "./quality/classification-metrics.js";
import { generationMetrics } from "./quality/generation-metrics.js";
import { type ItemOutcome, scoreTarget } from "./quality/target-quality.js";
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
  /** How a generative target is asked to classify, on a classification workload (default: the built-in prompt). */
  classification?: PromptedClassification;
  /** Generation metrics to score a reference workload with (default: those its rows make sense of). */
  metrics?: readonly string[];
}

export interface TargetReport {
  target: string;
  /** The task as run: a generative model prompted on a classification workload reports `classify`. */
  task: BenchTarget["task"];
  location: string;
  workload: string;
  runtime: Readonly<Record<string, string | number | boolean>>;
  metrics: LoadMetrics & {
    accuracy?: AccuracyReport;
    /** Mean over items of each generation metric (reference-scored workloads). */
    quality?: Record<string, number>;
    calibration?: Calibration;
    cost_per_1m_output_tokens_usd?: number;
    /** Where quality is scored: the price of 1,000 items, from configured prices or the machine's price per hour. */
    cost_per_1k_items_usd?: number;
    /** In-process targets: CPU seconds this process spent per 1,000 items (all threads; a proxy for energy). */
    cpu_s_per_1k_items?: number;
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
  /** Per item: the classification answer, or each generation metric's score (null: not answered); for bootstraps. */
  answers_by_item?: (LabelledAnswer | null)[];
  scores_by_item?: (Record<string, number> | null)[];
  /** Per item outcomes, written to items.jsonl. */
  items?: ItemOutcome[];
  records?: RequestRecord[];
}

/** Runs one target through the plan and summarizes it. */
export async function benchmarkTarget(
  target: BenchTarget,
  workload: Workload,
  plan: LoadPlan,
  onRecord?: (record: RequestRecord) => void,
): Promise<TargetReport> {
  if (workload.task === "generate" && target.task !== "generate")
    throw new InvalidRequestError(
      `${target.name} is a ${target.task} model; ${workload.name} is scored against references, so it needs a generative one`,
      "target",
    );
  const cpuBefore = process.cpuUsage();
  const records = await runSchedule({
    items: workload.items,
    send: sendTo(target, plan.settings, workload, plan.classification),
    strategy: plan.strategy,
    constraints: plan.constraints,
    ...(onRecord && { onRecord }),
  });
  const cpu = process.cpuUsage(cpuBefore);
  const metrics: TargetReport["metrics"] = loadMetrics(records, {
    ...(plan.slo && { slo: plan.slo }),
    openLoop: plan.strategy.kind !== "concurrent",
  });
  const measured = records.filter((record) => !record.warmup && record.error === undefined);
  const task = workload.task === "classify" ? "classify" : target.task;
  const report: TargetReport = {
    target: target.name,
    task,
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
  if (target.location === "in-process" && records.length > 0)
    metrics.cpu_s_per_1k_items = ((cpu.user + cpu.system) / 1e6 / records.length) * 1000;
  if (workload.task !== undefined) {
    const scoring =
      target.task === "classify" ? "classifier" : resolveScoring(target, plan.classification?.scoring);
    const quality = scoreTarget(
      workload,
      records,
      generationMetrics(plan.metrics, workload.items.map(scoredItemOf)),
      scoring,
    );
    if (quality.accuracy) {
      metrics.accuracy = quality.accuracy;
      if (quality.accuracy_length_normalised !== undefined)
        metrics.accuracy.accuracy_length_normalised = quality.accuracy_length_normalised;
      report.answers_by_item = quality.answers ?? [];
      report.correct_by_item = report.answers_by_item.map((answer) =>
        answer ? answer.prediction === answer.label : null,
      );
    }
    if (quality.calibration) metrics.calibration = quality.calibration;
    if (quality.quality) {
      metrics.quality = quality.quality;
      report.scores_by_item = quality.scores ?? [];
    }
    report.items = quality.items;
  }
  if (plan.perplexity && task === "generate" && target.location === "in-process") {
    const { documents, maxTokens } = plan.perplexity;
    metrics.perplexity = {
      ...(await target.model.perplexity(documents, maxTokens)),
      documents: documents.length,
      max_tokens_per_document: maxTokens,
    };
  }
  const cost = costPerMillionOutputTokens(target, metrics, plan.machinePricePerHour);
  if (cost !== undefined) metrics.cost_per_1m_output_tokens_usd = cost;
  if (workload.task !== undefined) {
    const perItems = costPerThousandItems(target, metrics, plan.machinePricePerHour);
    if (perItems !== undefined) metrics.cost_per_1k_items_usd = perItems;
  }
  return report;
}

function scoredItemOf(item: Workload["items"][number]) {
  return {
    references: item.references ?? [],
    ...(item.match !== undefined && { match: item.match }),
    ...(item.schema && { schema: item.schema }),
  };
}

/** An API's price for the tokens an item took, or the machine's price over the measured items per second. */
function costPerThousandItems(
  target: BenchTarget,
  metrics: LoadMetrics,
  pricePerHour?: number,
): number | undefined {
  const price = target.model.ref.spec.cost;
  if (price) {
    const input = (metrics.mean_input_tokens ?? 0) * price.input_per_1m_tokens;
    return ((input + metrics.mean_output_tokens * price.output_per_1m_tokens) / 1_000_000) * 1000;
  }
  if (pricePerHour !== undefined && target.location === "in-process" && metrics.requests_per_s > 0)
    return (pricePerHour / (metrics.requests_per_s * 3600)) * 1000;
  return undefined;
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
