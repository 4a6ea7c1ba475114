import type { Report } from "../compare.js";

export interface Table {
  title: string;
  header: string[];
  rows: string[][];
}

const ms = (value: number) =>
  value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);

/** One table per task: the figures a reader compares first, with the ratio to the baseline. */
export function summaryTables(report: Report): Table[] {
  const tables: Table[] = [];
  for (const task of new Set(report.targets.map((target) => target.task))) {
    const targets = report.targets.filter((target) => target.task === task);
    const generation = task === "generate";
    const header = [
      "target",
      "req/s",
      ...(generation ? ["out tok/s", "TTFT p50", "TTFT p99", "ITL p50"] : []),
      "E2E p50",
      "E2E p99",
      "errors",
      ...(targets.some((target) => target.metrics.accuracy) ? ["accuracy", "macro F1"] : []),
      ...(targets.some((target) => target.metrics.perplexity) ? ["perplexity"] : []),
      ...(targets.some((target) => target.metrics.cost_per_1m_output_tokens_usd !== undefined)
        ? ["$/1M out"]
        : []),
      ...(targets.some((target) => target.metrics.peak_rss_bytes_per_request !== undefined)
        ? ["peak RSS MB"]
        : []),
      ...(targets.some((target) => target.metrics.cold_start_ms !== undefined) ? ["cold start"] : []),
      "vs baseline",
    ];
    const rows = targets.map((target) => {
      const m = target.metrics;
      const comparison = report.comparisons.find((c) => c.target === target.target);
      const speed = comparison?.ratios[generation ? "output_tokens_per_s" : "requests_per_s"];
      return [
        target.target,
        m.requests_per_s.toFixed(1),
        ...(generation
          ? [m.output_tokens_per_s.toFixed(0), ms(m.ttft_ms.p50), ms(m.ttft_ms.p99), ms(m.itl_ms.p50)]
          : []),
        ms(m.e2e_ms.p50),
        ms(m.e2e_ms.p99),
        m.errors > 0 ? `${m.errors} (${(m.error_rate * 100).toFixed(1)}%)` : "0",
        ...(header.includes("accuracy")
          ? [
              m.accuracy ? m.accuracy.accuracy.toFixed(3) : "-",
              m.accuracy ? m.accuracy.macro_f1.toFixed(3) : "-",
            ]
          : []),
        ...(header.includes("$/1M out") ? [m.cost_per_1m_output_tokens_usd?.toFixed(3) ?? "-"] : []),
        ...(header.includes("perplexity") ? [m.perplexity ? m.perplexity.perplexity.toFixed(2) : "-"] : []),
        ...(header.includes("peak RSS MB")
          ? [
              m.peak_rss_bytes_per_request === undefined
                ? "-"
                : (m.peak_rss_bytes_per_request / 1e6).toFixed(0),
            ]
          : []),
        ...(header.includes("cold start") ? [m.cold_start_ms ? ms(m.cold_start_ms.p50) : "-"] : []),
        speed === undefined ? "baseline" : `${speed.toFixed(2)}x`,
      ];
    });
    const workload = targets[0]?.workload ?? "";
    tables.push({ title: `${task} — ${workload} (times in ms)`, header, rows });
  }
  return tables;
}

/** One line per swept target: the points, and where throughput stopped paying. */
export function kneeLines(report: Report): string[] {
  return report.targets.flatMap(({ target, task, sweep }) => {
    if (!sweep) return [];
    const rate = task === "generate" ? "output_tokens_per_s" : "items_per_s";
    const points = sweep.points.map((point) => `${point.value}: ${point[rate].toFixed(0)}`).join(", ");
    const knee = sweep.knee ? `; knee at ${sweep.parameter} ${sweep.knee.value} (${sweep.knee.reason})` : "";
    return [`${target} ${rate.replaceAll("_", " ")} by ${sweep.parameter} — ${points}${knee}`];
  });
}
