import { cpus, totalmem } from "node:os";
import { type McNemarResult, mcnemar } from "./accuracy.js";
import type { LoadPlan, TargetReport } from "./run-benchmark.js";

export interface Comparison {
  target: string;
  baseline: string;
  /** target ÷ baseline; above 1 is more (faster for rates, slower for latencies). */
  ratios: Record<string, number>;
  mcnemar?: McNemarResult;
}

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
  targets: Omit<TargetReport, "correct_by_item">[];
  comparisons: Comparison[];
  verdicts: string[];
}

/**
 * Puts reports side by side: each target against the baseline of its task (the one named, else the first of
 * that task), with ratios and a verdict line a person can act on.
 */
export function buildReport(
  reports: readonly TargetReport[],
  plan: LoadPlan,
  baselineName?: string,
  keepRecords = false,
): Report {
  const comparisons: Comparison[] = [];
  const verdicts: string[] = [];
  for (const task of new Set(reports.map((report) => report.task))) {
    const group = reports.filter((report) => report.task === task);
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
    targets: reports.map(({ correct_by_item: _, records, ...report }) => ({
      ...report,
      ...(keepRecords && records && { records }),
    })),
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
  const comparison: Comparison = { target: report.target, baseline: baseline.target, ratios };
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
  return comparison;
}

/** e.g. "lm-base:q8_0 is 1.24x faster than lm-base:f16 (output tokens/s 2104 vs 1697), TTFT p50 0.81x". */
function verdictOf(report: TargetReport, baseline: TargetReport, comparison: Comparison): string {
  const { ratios } = comparison;
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
  const accuracy = report.metrics.accuracy;
  const baseAccuracy = baseline.metrics.accuracy;
  if (accuracy && baseAccuracy && comparison.mcnemar) {
    const p = comparison.mcnemar.p_value;
    const same = p >= 0.05;
    const direction = accuracy.accuracy >= baseAccuracy.accuracy ? "higher" : "lower";
    line += same
      ? ` at equal accuracy (${accuracy.accuracy.toFixed(3)} vs ${baseAccuracy.accuracy.toFixed(3)}, McNemar p = ${p.toFixed(2)})`
      : ` with ${direction} accuracy (${accuracy.accuracy.toFixed(3)} vs ${baseAccuracy.accuracy.toFixed(3)}, McNemar p = ${p.toPrecision(2)})`;
  }
  return line;
}
