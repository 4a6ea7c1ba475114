import type { Report } from "../compare.js";

export interface Table {
  title: string;
  header: string[];
  rows: string[][];
}

const ms = (value: number) =>
  value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);

/**
 * One table per task and workload: the figures a reader compares first, with the ratio to the baseline; a tagging
 * workload adds its strict scores per entity type.
 */
export function summaryTables(report: Report): Table[] {
  const tables: Table[] = [];
  const groupOf = (target: Report["targets"][number]) => `${target.task}\u0000${target.workload}`;
  for (const group of new Set(report.targets.map(groupOf))) {
    const targets = report.targets.filter((target) => groupOf(target) === group);
    const task = targets[0]?.task;
    const generation = task === "generate";
    const any = (has: (m: (typeof targets)[number]["metrics"]) => unknown) =>
      targets.some((target) => has(target.metrics) !== undefined && has(target.metrics) !== false);
    const qualityNames = [...new Set(targets.flatMap((target) => Object.keys(target.metrics.quality ?? {})))];
    const header = [
      "target",
      "req/s",
      ...(generation ? ["out tok/s", "TTFT p50", "TTFT p99", "ITL p50"] : []),
      "E2E p50",
      "E2E p99",
      ...(any((m) => m.gc_pauses) ? ["GC ms", "GC p99"] : []),
      "errors",
      ...(any((m) => m.accuracy) ? ["scoring", "accuracy", "95% CI", "macro F1"] : []),
      ...(any((m) => (m.accuracy?.invalid_rate ?? 0) > 0) ? ["invalid"] : []),
      ...(any((m) => m.entities) ? ["entity F1", "F1 95% CI", "partial F1", "macro F1 (types)"] : []),
      ...(any((m) => m.entities?.format_failure_rate || m.entities?.hallucinated_entity_rate)
        ? ["format failures", "hallucinated"]
        : []),
      ...(any((m) => m.calibration) ? ["ECE"] : []),
      ...qualityNames,
      ...(any((m) => m.perplexity) ? ["perplexity"] : []),
      ...(any((m) => m.cost_per_1m_output_tokens_usd) ? ["$/1M out"] : []),
      ...(any((m) => m.cost_per_1k_items_usd) ? ["$/1k items"] : []),
      ...(any((m) => m.cpu_s_per_1k_items) && !generation ? ["CPU s/1k"] : []),
      ...(any((m) => m.peak_rss_bytes_per_request) ? ["peak RSS MB"] : []),
      ...(any((m) => m.cold_start_ms) ? ["cold start"] : []),
      "vs baseline",
    ];
    const rows = targets.map((target) => {
      const m = target.metrics;
      const comparison = report.comparisons.find(
        (c) => c.target === target.target && c.workload === target.workload,
      );
      const speed = comparison?.ratios[generation ? "output_tokens_per_s" : "requests_per_s"];
      const cells: Record<string, string> = {
        target: target.target,
        "req/s": m.requests_per_s.toFixed(1),
        "out tok/s": m.output_tokens_per_s.toFixed(0),
        "TTFT p50": ms(m.ttft_ms.p50),
        "TTFT p99": ms(m.ttft_ms.p99),
        "ITL p50": ms(m.itl_ms.p50),
        "E2E p50": ms(m.e2e_ms.p50),
        "E2E p99": ms(m.e2e_ms.p99),
        "GC ms": m.gc_pauses ? ms(m.gc_pauses.total_ms) : "-",
        "GC p99": m.gc_pauses ? ms(m.gc_pauses.p99_ms) : "-",
        errors: m.errors > 0 ? `${m.errors} (${(m.error_rate * 100).toFixed(1)}%)` : "0",
        scoring: m.accuracy?.scoring ?? "-",
        accuracy: m.accuracy ? m.accuracy.accuracy.toFixed(3) : "-",
        "95% CI": m.accuracy
          ? `${m.accuracy.wilson_95.low.toFixed(3)}-${m.accuracy.wilson_95.high.toFixed(3)}`
          : "-",
        "macro F1": m.accuracy ? m.accuracy.macro_f1.toFixed(3) : "-",
        invalid: m.accuracy ? `${(m.accuracy.invalid_rate * 100).toFixed(1)}%` : "-",
        ECE: m.calibration ? m.calibration.ece.toFixed(3) : "-",
        "entity F1": m.entities ? m.entities.strict.f1.toFixed(3) : "-",
        "F1 95% CI": m.entities
          ? `${m.entities.f1_95.low.toFixed(3)}-${m.entities.f1_95.high.toFixed(3)}`
          : "-",
        "partial F1": m.entities ? m.entities.partial.f1.toFixed(3) : "-",
        "macro F1 (types)": m.entities ? m.entities.macro_f1.toFixed(3) : "-",
        "format failures": m.entities ? `${(m.entities.format_failure_rate * 100).toFixed(1)}%` : "-",
        hallucinated: m.entities ? `${(m.entities.hallucinated_entity_rate * 100).toFixed(1)}%` : "-",
        perplexity: m.perplexity ? m.perplexity.perplexity.toFixed(2) : "-",
        "$/1M out": m.cost_per_1m_output_tokens_usd?.toFixed(3) ?? "-",
        "$/1k items": m.cost_per_1k_items_usd?.toPrecision(3) ?? "-",
        "CPU s/1k": m.cpu_s_per_1k_items?.toFixed(1) ?? "-",
        "peak RSS MB":
          m.peak_rss_bytes_per_request === undefined ? "-" : (m.peak_rss_bytes_per_request / 1e6).toFixed(0),
        "cold start": m.cold_start_ms ? ms(m.cold_start_ms.p50) : "-",
        "vs baseline": speed === undefined ? "baseline" : `${speed.toFixed(2)}x`,
      };
      for (const name of qualityNames) cells[name] = m.quality?.[name]?.toFixed(3) ?? "-";
      return header.map((column) => cells[column] ?? "-");
    });
    const workload = targets[0]?.workload ?? "";
    tables.push({ title: `${task} — ${workload} (times in ms)`, header, rows });
    if (any((m) => m.entities)) tables.push(entityTypeTable(targets, workload));
  }
  return tables;
}

function entityTypeTable(targets: Report["targets"], workload: string): Table {
  const rows = targets.flatMap(({ target, metrics }) =>
    Object.entries(metrics.entities?.per_type ?? {}).map(([type, scores]) => [
      target,
      type,
      scores.precision.toFixed(3),
      scores.recall.toFixed(3),
      scores.f1.toFixed(3),
      String(scores.support),
    ]),
  );
  return {
    title: `entities by type — ${workload} (strict: same span and type)`,
    header: ["target", "type", "precision", "recall", "F1", "support"],
    rows,
  };
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
