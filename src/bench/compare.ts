import { cpus, totalmem } from "node:os";
import type { LabelledAnswer } from "./quality/classification-metrics.js";
import { type EntityCounts, scoresOf } from "./quality/entity-metrics.js";
import { classificationBootstrap, entityBootstrap, generationBootstrap } from "./quality/paired-quality.js";
import { type BootstrapDifference, type McNemarResult, mcnemar } from "./quality/paired-statistics.js";
import type { ItemOutcome } from "./quality/target-quality.js";
import type { LoadPlan, TargetReport } from "./run-benchmark.js";

export interface Comparison {
  target: string;
  baseline: string;
  /** The workload both ran: a target can appear in more than one group. */
  workload: string;
  /** target ÷ baseline; above 1 is more (faster for rates, slower for latencies). */
  ratios: Record<string, number>;
  mcnemar?: McNemarResult;
  /** Paired bootstrap 95% intervals of target − baseline, per quality metric, on the items both answered. */
  bootstrap?: Record<string, BootstrapDifference>;
  /** Per item both answered: target better (win), the same (tie) or worse (loss) on the main quality metric. */
  win_tie_loss?: { win: number; tie: number; loss: number };
  /** Classification: the items the two label differently (the first 50 of `count`). */
  disagreements?: { count: number; items: Disagreement[] };
}

export interface Disagreement {
  index: number;
  preview: string;
  gold: string;
  /** The labels read (null: the answer named none). */
  target: string | null;
  baseline: string | null;
}

const MAX_DISAGREEMENTS = 50;

/** Fields a target report carries for the comparison only; the JSON report leaves them out. */
type PerItem = "correct_by_item" | "answers_by_item" | "scores_by_item" | "items";

export interface Report {
  schema: "infergate.report/1";
  created_at: string;
  machine: { cpus: number; cpu_model: string; memory_bytes: number; node: string; platform: string };
  load: {
    strategy: LoadPlan["strategy"];
    constraints: LoadPlan["constraints"];
    max_tokens: number;
    temperature: number;
    slo?: LoadPlan["slo"];
  };
  /** `correct_by_item` only when asked for (plan weighs domains by it). */
  targets: (Omit<TargetReport, PerItem> & Pick<TargetReport, "correct_by_item">)[];
  comparisons: Comparison[];
  verdicts: string[];
}

/**
 * Puts reports side by side: each target against the baseline of its group — the same task on the same workload
 * (the one named, else the first of the group) — with ratios, paired statistics and a verdict line a person can
 * act on.
 */
export function buildReport(
  reports: readonly TargetReport[],
  plan: LoadPlan,
  baselineName?: string,
  keepRecords = false,
  keepCorrectness = false,
): Report {
  const comparisons: Comparison[] = [];
  const verdicts: string[] = [];
  const groupOf = (report: TargetReport) => `${report.task}\u0000${report.workload}`;
  for (const key of new Set(reports.map(groupOf))) {
    const group = reports.filter((report) => groupOf(report) === key);
    const baseline = group.find((report) => report.target === baselineName) ?? group[0];
    if (!baseline) continue;
    for (const report of group) {
      if (report === baseline) continue;
      const comparison = compareTo(report, baseline);
      comparisons.push(comparison);
      verdicts.push(verdictOf(report, baseline, comparison));
    }
  }
  return {
    schema: "infergate.report/1",
    created_at: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model ?? "unknown",
      memory_bytes: totalmem(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    load: {
      strategy: plan.strategy,
      constraints: plan.constraints,
      max_tokens: plan.settings.maxTokens,
      temperature: plan.settings.temperature,
      ...(plan.slo && { slo: plan.slo }),
    },
    targets: reports.map(
      ({ correct_by_item, answers_by_item, scores_by_item, items, records, ...report }) => ({
        ...report,
        ...(keepRecords && records && { records }),
        ...(keepCorrectness && correct_by_item && { correct_by_item }),
      }),
    ),
    comparisons,
    verdicts,
  };
}

function compareTo(report: TargetReport, baseline: TargetReport): Comparison {
  const ratio = (value: number, base: number) => (base > 0 ? value / base : Number.NaN);
  const m = report.metrics;
  const b = baseline.metrics;
  const ratios: Record<string, number> = {
    requests_per_s: ratio(m.requests_per_s, b.requests_per_s),
    e2e_p50: ratio(m.e2e_ms.p50, b.e2e_ms.p50),
    e2e_p99: ratio(m.e2e_ms.p99, b.e2e_ms.p99),
  };
  if (report.task === "generate") {
    ratios.output_tokens_per_s = ratio(m.output_tokens_per_s, b.output_tokens_per_s);
    ratios.ttft_p50 = ratio(m.ttft_ms.p50, b.ttft_ms.p50);
    ratios.itl_p50 = ratio(m.itl_ms.p50, b.itl_ms.p50);
  }
  if (m.accuracy && b.accuracy) ratios.accuracy = ratio(m.accuracy.accuracy, b.accuracy.accuracy);
  if (m.perplexity && b.perplexity)
    ratios.perplexity = ratio(m.perplexity.perplexity, b.perplexity.perplexity);
  if (report.metrics.peak_rss_bytes_per_request && baseline.metrics.peak_rss_bytes_per_request)
    ratios.peak_rss = ratio(
      report.metrics.peak_rss_bytes_per_request,
      baseline.metrics.peak_rss_bytes_per_request,
    );
  const comparison: Comparison = {
    target: report.target,
    baseline: baseline.target,
    workload: report.workload,
    ratios,
  };
  if (report.correct_by_item && baseline.correct_by_item) {
    const paired = report.correct_by_item.flatMap((correct, i) => {
      const other = baseline.correct_by_item?.[i];
      return correct === null || other === null || other === undefined ? [] : [[correct, other] as const];
    });
    comparison.mcnemar = mcnemar(
      paired.map(([correct]) => correct),
      paired.map(([, other]) => other),
    );
  }
  if (report.answers_by_item && baseline.answers_by_item) {
    comparison.bootstrap = classificationBootstrap(report.answers_by_item, baseline.answers_by_item);
    comparison.disagreements = disagreementsOf(report, baseline, labelRead, (item) => String(item.gold));
    const right = (answer: LabelledAnswer | null | undefined) =>
      answer ? Number(answer.prediction === answer.label) : undefined;
    comparison.win_tie_loss = winTieLoss(
      report.answers_by_item.map(right),
      baseline.answers_by_item.map(right),
    );
  } else if (report.entity_counts_by_item && baseline.entity_counts_by_item) {
    comparison.bootstrap = {
      entity_f1: entityBootstrap(report.entity_counts_by_item, baseline.entity_counts_by_item),
    };
    comparison.disagreements = disagreementsOf(report, baseline, entitiesFound, (item) =>
      [item.gold ?? []].flat().join("; "),
    );
    const f1 = (counts: EntityCounts | null | undefined) => (counts ? scoresOf(counts).f1 : undefined);
    comparison.win_tie_loss = winTieLoss(
      report.entity_counts_by_item.map(f1),
      baseline.entity_counts_by_item.map(f1),
    );
  } else if (report.scores_by_item && baseline.scores_by_item) {
    comparison.bootstrap = generationBootstrap(report.scores_by_item, baseline.scores_by_item);
    const [main] = Object.keys(report.metrics.quality ?? {});
    const score = (row: Readonly<Record<string, number>> | null) => (row && main ? row[main] : undefined);
    comparison.win_tie_loss = winTieLoss(
      report.scores_by_item.map(score),
      baseline.scores_by_item.map(score),
    );
  }
  return comparison;
}

function winTieLoss(
  target: readonly (number | undefined)[],
  baseline: readonly (number | undefined)[],
): { win: number; tie: number; loss: number } {
  const counts = { win: 0, tie: 0, loss: 0 };
  target.forEach((value, i) => {
    const other = baseline[i];
    if (value === undefined || other === undefined) return;
    counts[value > other ? "win" : value < other ? "loss" : "tie"]++;
  });
  return counts;
}

/**
 * The items two targets answered differently (`answer`: what each answered; undefined: nothing to compare), with
 * the gold and both answers.
 */
function disagreementsOf(
  report: TargetReport,
  baseline: TargetReport,
  answer: (item: ItemOutcome) => string | null | undefined,
  gold: (item: ItemOutcome) => string,
): NonNullable<Comparison["disagreements"]> {
  const theirs = new Map((baseline.items ?? []).map((item) => [item.index, item]));
  const differing: Disagreement[] = [];
  for (const item of report.items ?? []) {
    const other = theirs.get(item.index);
    const mine = answer(item);
    if (!other || mine === undefined || mine === answer(other)) continue;
    differing.push({
      index: item.index,
      preview: item.preview,
      gold: gold(item),
      target: mine,
      baseline: answer(other) ?? null,
    });
  }
  return { count: differing.length, items: differing.slice(0, MAX_DISAGREEMENTS) };
}

/** A classifier's label read, and a tagger's entities as `TYPE text` lists. */
const labelRead = (item: ItemOutcome) => item.parsed;
const entitiesFound = (item: ItemOutcome) => (item.entities ?? []).join("; ");

/**
 * e.g. "lm-base:q8_0 is 1.24x faster than lm-base:f16 (output tokens/s 2104 vs 1697), TTFT p50 0.81x", or, where
 * quality differs significantly, quality first: "spam-encoder:int8 is more accurate than lm-base:q8_0 by +0.21
 * (95% CI +0.18 … +0.25, McNemar p < 0.001) at 38x the items/s and 0.7x the peak memory".
 */
function verdictOf(report: TargetReport, baseline: TargetReport, comparison: Comparison): string {
  const { ratios } = comparison;
  const accuracy = report.metrics.accuracy;
  const baseAccuracy = baseline.metrics.accuracy;
  const p = comparison.mcnemar?.p_value;
  const accuracyCi = comparison.bootstrap?.accuracy;
  if (accuracy && baseAccuracy && p !== undefined && p < 0.05 && accuracyCi) {
    const direction = accuracyCi.difference >= 0 ? "more" : "less";
    const memory = ratios.peak_rss === undefined ? "" : ` and ${ratios.peak_rss.toFixed(2)}x the peak memory`;
    return `${report.target} is ${direction} accurate than ${baseline.target} by ${signed(accuracyCi.difference)} (95% CI ${signed(accuracyCi.low)} … ${signed(accuracyCi.high)}, McNemar ${pValue(p)}) at ${times(ratios.requests_per_s)} the items/s${memory}`;
  }
  // Entity F1 leads when its interval excludes no difference, as accuracy does when McNemar says it differs.
  const entityCi = comparison.bootstrap?.entity_f1;
  const entities = report.metrics.entities;
  const baseEntities = baseline.metrics.entities;
  if (entityCi && entities && baseEntities && (entityCi.low > 0 || entityCi.high < 0)) {
    const direction = entityCi.difference >= 0 ? "better" : "worse";
    const memory = ratios.peak_rss === undefined ? "" : ` and ${ratios.peak_rss.toFixed(2)}x the peak memory`;
    return `${report.target} tags entities ${direction} than ${baseline.target}: strict F1 ${entities.strict.f1.toFixed(3)} vs ${baseEntities.strict.f1.toFixed(3)} (${signed(entityCi.difference)}, 95% CI ${signed(entityCi.low)} … ${signed(entityCi.high)}) at ${times(ratios.requests_per_s)} the items/s${memory}`;
  }
  const speedKey = report.task === "generate" ? "output_tokens_per_s" : "requests_per_s";
  const speed = ratios[speedKey] ?? Number.NaN;
  const unit = report.task === "generate" ? "output tokens/s" : "requests/s";
  const value = (r: TargetReport) =>
    (report.task === "generate" ? r.metrics.output_tokens_per_s : r.metrics.requests_per_s).toFixed(0);
  const pace = speed >= 1 ? `${speed.toFixed(2)}x faster than` : `${(1 / speed).toFixed(2)}x slower than`;
  let line = `${report.target} is ${pace} ${baseline.target} (${unit} ${value(report)} vs ${value(baseline)})`;
  if (report.task === "generate") line += `, TTFT p50 ${(ratios.ttft_p50 ?? Number.NaN).toFixed(2)}x`;
  line += `, E2E p99 ${(ratios.e2e_p99 ?? Number.NaN).toFixed(2)}x`;
  const perplexity = report.metrics.perplexity;
  const basePerplexity = baseline.metrics.perplexity;
  if (perplexity && basePerplexity) {
    line += `, perplexity ${perplexity.perplexity.toFixed(2)} vs ${basePerplexity.perplexity.toFixed(2)} (lower is better)`;
  }
  const quality = report.metrics.quality;
  const baseQuality = baseline.metrics.quality;
  const [metric] = Object.keys(quality ?? {})
    .filter((name) => comparison.bootstrap?.[name])
    .slice(-1);
  if (quality && baseQuality && metric) {
    const ci = comparison.bootstrap?.[metric] as BootstrapDifference;
    line += `, ${metric} ${(quality[metric] ?? 0).toFixed(3)} vs ${(baseQuality[metric] ?? 0).toFixed(3)} (${signed(ci.difference)}, 95% CI ${signed(ci.low)} … ${signed(ci.high)})`;
  }
  if (entityCi && entities && baseEntities)
    line += ` at equal entity F1 (${entities.strict.f1.toFixed(3)} vs ${baseEntities.strict.f1.toFixed(3)}, 95% CI ${signed(entityCi.low)} … ${signed(entityCi.high)})`;
  if (accuracy && baseAccuracy && p !== undefined) {
    const ci = accuracyCi ? `, 95% CI ${signed(accuracyCi.low)} … ${signed(accuracyCi.high)}` : "";
    line += ` at equal accuracy (${accuracy.accuracy.toFixed(3)} vs ${baseAccuracy.accuracy.toFixed(3)}${ci}, McNemar ${pValue(p)})`;
  }
  return line;
}

const signed = (value: number) => `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(3)}`;
const pValue = (p: number) => (p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(p < 0.01 ? 3 : 2)}`);
const times = (ratio: number | undefined) =>
  ratio === undefined || !Number.isFinite(ratio)
    ? "?x"
    : `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(2)}x`;
