// One target of a run in full: how it ran, its latency distributions, its quality figures and its sweep.
import { element, number, percent, table } from "../dom.js";
import { qualityIntervalOf, qualityOf } from "../figures.js";

const DISTRIBUTIONS = [
  ["TTFT", "ttft_ms"],
  ["ITL", "itl_ms"],
  ["E2E", "e2e_ms"],
  ["gap between chunks", "chunk_gap_ms"],
  ["cold start", "cold_start_ms"],
];

export function targetDetails(target) {
  const { metrics } = target;
  const interval = qualityIntervalOf(target);
  const facts = [
    ["task", target.task ?? "–"],
    ["where", target.location ?? "–"],
    ["weights", target.weights_bytes ? `${number(target.weights_bytes / 2 ** 20)} MiB` : "–"],
    ...Object.entries(target.runtime ?? {}).map(([name, value]) => [name, String(value)]),
    ["requests", String(metrics.requests)],
    ["errors", `${metrics.errors ?? 0} (${percent(metrics.error_rate)})`],
    ...(qualityOf(target) === undefined
      ? []
      : [
          [
            "quality",
            `${number(qualityOf(target), 3)}${interval ? ` (95% CI ${number(interval.low, 3)}–${number(interval.high, 3)})` : ""}`,
          ],
        ]),
    ...(metrics.accuracy ? [["macro F1", number(metrics.accuracy.macro_f1, 3)]] : []),
    ...(metrics.calibration ? [["ECE", number(metrics.calibration.ece, 3)]] : []),
    ...(metrics.gc_pauses
      ? [
          [
            "GC pauses",
            `${number(metrics.gc_pauses.total_ms)} ms in all, p99 ${number(metrics.gc_pauses.p99_ms, 2)} ms`,
          ],
        ]
      : []),
  ];
  const distributions = DISTRIBUTIONS.filter(([, key]) => metrics[key] && metrics[key].count !== 0);
  return element(
    "section",
    { "aria-label": "target details", id: "target-details" },
    element("h2", { tabindex: "-1" }, `${target.target} on ${target.workload}`),
    element(
      "dl",
      { class: "facts" },
      ...facts.flatMap(([name, value]) => [element("dt", {}, name), element("dd", {}, value)]),
    ),
    table(
      "latency distributions (ms)",
      [
        { title: "", cell: ([name]) => name },
        ...["count", "mean", "p50", "p90", "p95", "p99", "max"].map((field) => ({
          title: field,
          cell: ([, key]) => number(metrics[key][field], field === "count" ? 0 : 2),
        })),
      ],
      distributions,
    ),
  );
}
