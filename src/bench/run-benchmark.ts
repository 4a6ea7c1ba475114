import { InvalidRequestError } from "../core/errors.js";
import type { Perplexity } from "../core/types.js";
import { observeGcPauses } from "../telemetry/gc-pauses.js";
import { type BenchTarget, type GenerationSettings, sendTo } from "./bench-target.js";
import { cdfOf, type Distribution } from "./distribution.js";
import type { ColdStartSample } from "./isolated-run.js";
import { type LoadMetrics, loadMetrics, type Slo } from "./load-metrics.js";
import { type PromptedClassification, resolveScoring } from "./prompted-classifier.js";
import type { Calibration } from "./quality/calibration.js";
import type { AccuracyReport, LabelledAnswer } from "./quality/classification-metrics.js";
import type { EntityCounts, EntitySpan } from "./quality/entity-metrics.js";
import type { EntityReport } from "./quality/entity-quality.js";
import { generationMetrics } from "./quality/generation-metrics.js";
import { quantile } from "./quality/paired-statistics.js";
import { describePerturbation, type Perturbation, perturbText } from "./quality/perturb.js";
import {
  type ItemOutcome,
  type QualityByLength,
  recordsByItem,
  scoreTarget,
} from "./quality/target-quality.js";
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
  /** Bounds of the input-length buckets quality is broken down by (default: the dataset's quartiles). */
  lengthBuckets?: readonly number[];
  /** Run every item of a scored workload a second time, perturbed, and report quality and consistency. */
  perturb?: Perturbation;
  /**
   * `semantic_similarity`: each answer's cosine to its closest reference, from this embedding model's vectors, and
   * `semantic_similarity_pass`, the share at or above `threshold`.
   */
  semantic?: { embed: (texts: readonly string[]) => Promise<Float32Array[]>; threshold: number };
}

/** Quality on perturbed inputs, and how often the answer stayed what it was. */
export interface Robustness {
  perturbation: string;
  /** Accuracy (classification) on the perturbed items. */
  accuracy?: number;
  /** Each generation metric's mean on the perturbed items. */
  quality?: Record<string, number>;
  /** Share of the items answered both times whose answer (label, or generated text) did not change. */
  consistency: number;
  items: number;
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
    /** Entity-level precision/recall/F1 (tagging workloads). */
    entities?: EntityReport;
    calibration?: Calibration;
    quality_by_length?: QualityByLength;
    robustness?: Robustness;
    cost_per_1m_output_tokens_usd?: number;
    /** Where quality is scored: the price of 1,000 items, from configured prices or the machine's price per hour. */
    cost_per_1k_items_usd?: number;
    /** The main quality metric (accuracy, else the first generation metric) ÷ the price of 1,000 items. */
    quality_per_usd?: number;
    /** In-process targets: CPU seconds this process spent per 1,000 items (all threads; a proxy for energy). */
    cpu_s_per_1k_items?: number;
    /** In-process targets: the garbage collector's pauses during the measured run. */
    gc_pauses?: GcSummary;
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
  /** Tagging workloads, per item: the predicted entities and their counts against the gold (null: not answered). */
  entities_by_item?: (EntitySpan[] | null)[];
  entity_counts_by_item?: (EntityCounts | null)[];
  /** Per item outcomes, written to items.jsonl. */
  items?: ItemOutcome[];
  records?: RequestRecord[];
}

/**
 * Sends the workload through the target as the plan schedules it, to warm its path (connections, caches, code run
 * for the first time); nothing is measured or scored. Returns how many requests were sent.
 */
export async function warmTarget(target: BenchTarget, workload: Workload, plan: LoadPlan): Promise<number> {
  const records = await runSchedule({
    items: workload.items,
    send: sendTo(target, plan.settings, workload, plan.classification),
    strategy: plan.strategy,
    constraints: plan.constraints,
  });
  return records.length;
}

/** Runs one target through the plan and summarizes it. */
export async function benchmarkTarget(
  target: BenchTarget,
  workload: Workload,
  plan: LoadPlan,
  onRecord?: (record: RequestRecord) => void,
): Promise<TargetReport> {
  if (workload.task === "classify" && target.task === "embed")
    throw new InvalidRequestError(
      `${target.name} is an embedding model; ${workload.name} is labelled, so it needs a classifier or a generative model`,
      "target",
    );
  if (workload.task === "tag" && target.task !== "tag" && target.task !== "generate")
    throw new InvalidRequestError(
      `${target.name} is a ${target.task} model; ${workload.name} has entities, so it needs a tagger or a generative model (asked for them as JSON)`,
      "target",
    );
  if (workload.task === "generate" && target.task !== "generate")
    throw new InvalidRequestError(
      `${target.name} is a ${target.task} model; ${workload.name} is scored against references, so it needs a generative one`,
      "target",
    );
  const cpuBefore = process.cpuUsage();
  // In-process, the collector pauses the very process that serves: its pauses are reported beside the latencies.
  const pauses: number[] = [];
  const stopObserving =
    target.location === "in-process" ? observeGcPauses((_, ms) => pauses.push(ms)) : undefined;
  const send = sendTo(target, plan.settings, workload, plan.classification);
  const schedule = (items: Workload["items"]) =>
    runSchedule({
      items,
      send,
      strategy: plan.strategy,
      constraints: plan.constraints,
      ...(onRecord && { onRecord }),
    });
  let records: RequestRecord[];
  try {
    records = await schedule(workload.items);
  } finally {
    if (stopObserving) {
      // Pauses are delivered after they happen: one turn of the event loop lets the last ones in.
      await new Promise((resolve) => setImmediate(resolve));
      stopObserving();
    }
  }
  const cpu = process.cpuUsage(cpuBefore);
  const metrics: TargetReport["metrics"] = loadMetrics(records, {
    ...(plan.slo && { slo: plan.slo }),
    openLoop: plan.strategy.kind !== "concurrent",
  });
  const measured = records.filter((record) => !record.warmup && record.error === undefined);
  const task = workload.task === "classify" || workload.task === "tag" ? workload.task : target.task;
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
  if (target.location === "in-process" && records.length > 0) {
    metrics.cpu_s_per_1k_items = ((cpu.user + cpu.system) / 1e6 / records.length) * 1000;
    metrics.gc_pauses = gcSummary(pauses);
  }
  if (workload.task !== undefined) {
    const scoring =
      target.task === "classify" ? "classifier" : resolveScoring(target, plan.classification?.scoring);
    const scorers = generationMetrics(plan.metrics, workload.items);
    const semantic =
      plan.semantic && workload.task === "generate"
        ? await semanticScores(workload, recordsByItem(workload, records), plan.semantic)
        : undefined;
    const quality = scoreTarget(workload, records, scorers, scoring, plan.lengthBuckets, semantic);
    if (plan.perturb) {
      const perturbed: Workload = {
        ...workload,
        items: workload.items.map((item, i) => ({
          ...item,
          text: perturbText(item.text, plan.perturb as Perturbation, i + 1),
        })),
      };
      const again = await schedule(perturbed.items);
      const shifted = scoreTarget(perturbed, again, scorers, scoring, plan.lengthBuckets);
      metrics.robustness = {
        perturbation: describePerturbation(plan.perturb),
        ...(shifted.accuracy && { accuracy: shifted.accuracy.accuracy }),
        ...(shifted.quality && { quality: shifted.quality }),
        ...consistencyOf(recordsByItem(workload, records), recordsByItem(workload, again)),
      };
    }
    if (quality.accuracy) {
      metrics.accuracy = quality.accuracy;
      if (quality.accuracy_length_normalised !== undefined)
        metrics.accuracy.accuracy_length_normalised = quality.accuracy_length_normalised;
      report.answers_by_item = quality.answers ?? [];
      report.correct_by_item = report.answers_by_item.map((answer) =>
        answer ? answer.prediction === answer.label : null,
      );
    }
    if (quality.entities) {
      metrics.entities = quality.entities;
      report.entities_by_item = quality.entity_predictions ?? [];
      report.entity_counts_by_item = quality.entity_counts ?? [];
    }
    if (quality.calibration) metrics.calibration = quality.calibration;
    if (quality.quality_by_length) metrics.quality_by_length = quality.quality_by_length;
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
    const main =
      metrics.accuracy?.accuracy ?? metrics.entities?.strict.f1 ?? Object.values(metrics.quality ?? {})[0];
    if (perItems !== undefined && perItems > 0 && main !== undefined)
      metrics.quality_per_usd = main / perItems;
  }
  return report;
}

export interface GcSummary {
  count: number;
  total_ms: number;
  p99_ms: number;
  max_ms: number;
}

function gcSummary(pauses: readonly number[]): GcSummary {
  const sorted = [...pauses].sort((a, b) => a - b);
  return {
    count: sorted.length,
    total_ms: sorted.reduce((sum, ms) => sum + ms, 0),
    p99_ms: sorted.length > 0 ? quantile(sorted, 0.99) : 0,
    max_ms: sorted.at(-1) ?? 0,
  };
}

/** Per answered item: cosine of the answer's embedding to the closest reference's, and whether it passes. */
async function semanticScores(
  workload: Workload,
  byItem: readonly (RequestRecord | undefined)[],
  semantic: NonNullable<LoadPlan["semantic"]>,
): Promise<(Record<string, number> | null)[]> {
  const texts: string[] = [];
  const slots = workload.items.map((item, index) => {
    const record = byItem[index];
    const references = item.references ?? [];
    if (!record || record.error !== undefined || references.length === 0) return null;
    const start = texts.length;
    texts.push(record.output ?? "", ...references);
    return { start, references: references.length };
  });
  const vectors = texts.length > 0 ? await semantic.embed(texts) : [];
  return slots.map((slot) => {
    if (!slot) return null;
    const answer = vectors[slot.start] as Float32Array;
    let best = -1;
    for (let r = 1; r <= slot.references; r++)
      best = Math.max(best, cosine(answer, vectors[slot.start + r] as Float32Array));
    return { semantic_similarity: best, semantic_similarity_pass: best >= semantic.threshold ? 1 : 0 };
  });
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  return normA > 0 && normB > 0 ? dot / Math.sqrt(normA * normB) : 0;
}

/** Items answered both times whose answer — the label read, else the text — is the same. */
function consistencyOf(
  first: readonly (RequestRecord | undefined)[],
  second: readonly (RequestRecord | undefined)[],
): { consistency: number; items: number } {
  let same = 0;
  let items = 0;
  first.forEach((record, i) => {
    const other = second[i];
    if (!record || !other || record.error !== undefined || other.error !== undefined) return;
    items++;
    const answer = (r: RequestRecord) => r.prediction ?? r.output ?? "";
    if (answer(record) === answer(other)) same++;
  });
  return { consistency: items > 0 ? same / items : 0, items };
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
