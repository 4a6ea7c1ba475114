import type { Report } from "../../src/bench/compare.js";
import type { TargetReport } from "../../src/bench/run-benchmark.js";

/**
 * A target's measured run as the run store keeps it: 40 spam/ham items, the first `right` answered right, each
 * request `latencyMs` long (plus 0-2 ms), with the summary figures a report carries.
 */
export function storedTarget(options: {
  right: number;
  latencyMs: number;
  target?: string;
  workload?: string;
}): TargetReport {
  const { right, latencyMs, target = "spam-encoder:int8", workload = "spam_dev" } = options;
  const gold = (index: number) => (index % 2 ? "spam" : "ham");
  const items = Array.from({ length: 40 }, (_, index) => ({
    index,
    preview: `mail ${index}`,
    gold: gold(index),
    parsed: index < right ? gold(index) : gold(index + 1),
    correct: index < right,
  }));
  const records = items.map((_, index) => ({
    index,
    plannedAt: 0,
    sentAt: 0,
    endAt: latencyMs + (index % 3),
    chunkTimes: [latencyMs / 2],
    outputTokens: 1,
    warmup: false,
  }));
  const metrics = {
    requests: 40,
    error_rate: 0,
    requests_per_s: 1000 / latencyMs,
    output_tokens_per_s: 1000 / latencyMs,
    ttft_ms: { p50: latencyMs / 2 },
    e2e_ms: { p50: latencyMs, p95: latencyMs + 2, p99: latencyMs + 2 },
    accuracy: { accuracy: right / 40 },
  };
  return { target, workload, items, records, metrics } as unknown as TargetReport;
}

/** The report of a run of `targets` (their summaries, as report.json holds them). */
export function storedReport(
  createdAt: string,
  targets: readonly TargetReport[] = [],
  verdicts: string[] = [],
): Report {
  return {
    schema: "infergate.report/1",
    created_at: createdAt,
    machine: { cpus: 2, cpu_model: "test", memory_bytes: 1, node: process.version, platform: "linux" },
    load: {
      strategy: { kind: "concurrent", concurrency: 1 },
      constraints: {},
      max_tokens: 1,
      temperature: 0,
    },
    targets: targets.map(({ items: _items, records: _records, ...summary }) => summary),
    comparisons: [],
    verdicts,
  } as unknown as Report;
}
