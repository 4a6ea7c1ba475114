// The run's leaderboard: one row per target and workload, every column sortable, the objectives' cells coloured.
import { element, number, percent, table } from "../dom.js";
import { checkObjectives, latency, objectiveFigures, qualityIntervalOf, qualityOf } from "../figures.js";

const mib = (bytes) => (bytes === undefined ? undefined : bytes / 2 ** 20);

/** Columns: title, value(target) (the sort key too), text(target), and which objective colours it. */
const COLUMNS = [
  {
    title: "quality (95% CI)",
    value: qualityOf,
    better: "higher",
    objective: "quality",
    text: (t) => {
      const interval = qualityIntervalOf(t);
      const quality = number(qualityOf(t), 3);
      return interval ? `${quality} (${number(interval.low, 3)}–${number(interval.high, 3)})` : quality;
    },
  },
  ...["ttft", "itl", "e2e"].flatMap((name) =>
    ["p50", "p95", "p99"].map((percentile) => ({
      title: `${name.toUpperCase()} ${percentile}`,
      value: (t) => latency(t.metrics[`${name}_ms`], percentile),
      better: "lower",
      ...(percentile === "p99" && name !== "itl" && { objective: name }),
    })),
  ),
  { title: "items/s", value: (t) => t.metrics.requests_per_s, better: "higher" },
  { title: "tokens/s", value: (t) => t.metrics.output_tokens_per_s || undefined, better: "higher" },
  {
    title: "goodput req/s (good)",
    value: (t) => t.metrics.goodput?.requests_per_s,
    better: "higher",
    text: (t) =>
      t.metrics.goodput
        ? `${number(t.metrics.goodput.requests_per_s)} (${percent(t.metrics.goodput.good_fraction)})`
        : "–",
  },
  { title: "$/1M tokens", value: (t) => t.metrics.cost_per_1m_output_tokens_usd, better: "lower", digits: 3 },
  { title: "$/1k items", value: (t) => t.metrics.cost_per_1k_items_usd, better: "lower", digits: 4 },
  { title: "peak MiB/request", value: (t) => mib(t.metrics.peak_rss_bytes_per_request), better: "lower" },
  { title: "cold start ms", value: (t) => t.metrics.cold_start_ms?.p50, better: "lower", digits: 0 },
  {
    title: "errors",
    value: (t) => t.metrics.error_rate,
    better: "lower",
    objective: "errors",
    text: (t) => percent(t.metrics.error_rate),
  },
];

/**
 * The leaderboard of `targets` (the report's, with `index` their place in it), held to `objectives`; a column no
 * target has a figure for is left out.
 */
export function leaderboard(targets, objectives) {
  const shown = COLUMNS.filter((column) => targets.some((t) => column.value(t) !== undefined));
  const outcomes = new Map(targets.map((t) => [t, checkObjectives(objectiveFigures(t), objectives)]));
  const colour = (column) => (t) => {
    const outcome = column.objective && outcomes.get(t)[column.objective];
    return outcome === "met" ? "good" : outcome === "missed" ? "bad" : "";
  };
  return table(
    "leaderboard: one row per target and workload",
    [
      { title: "target", cell: (t) => element("a", { href: t.detailsHref }, t.target), text: true },
      { title: "workload", cell: (t) => t.workload, text: true },
      ...shown.map((column) => ({
        title: column.title,
        cell: (t) => (column.text ? column.text(t) : number(column.value(t), column.digits ?? 1)),
        // Best first on the first click (higher-is-better columns descending), targets without the figure last.
        sort: (t) => {
          const value = column.value(t);
          return value === undefined ? Number.POSITIVE_INFINITY : column.better === "higher" ? -value : value;
        },
        className: colour(column),
      })),
    ],
    targets,
  );
}
