// Latency distributions of a run: the CDF by percentile per target (from the report), and histograms of every
// measured request (from the stored records).
import { histogramChart, lineChart } from "../charts.js";
import { element } from "../dom.js";
import { histogram, latenciesOf } from "../figures.js";

/** `entries`: the stored runs of the targets, `{target, workload, records}`, in the report's order. */
export function latencies(report, entries) {
  const withCdf = report.targets.filter((t) => t.cdf?.e2e_ms?.length);
  const named = (entry) => `${entry.target} on ${entry.workload}`;
  const histograms = ["e2e", "ttft"].flatMap((kind) => {
    const measured = entries
      .map((entry) => ({ label: named(entry), values: latenciesOf(entry.records ?? [], kind) }))
      .filter((series) => series.values.length > 0);
    // A TTFT histogram says something only where the answers came as a stream of chunks.
    if (
      measured.length === 0 ||
      (kind === "ttft" && !entries.some((e) => e.records?.some((r) => r.chunkTimes.length > 1)))
    )
      return [];
    const { bins, counts } = histogram(measured.map((series) => series.values));
    return [
      histogramChart(
        `${kind === "e2e" ? "E2E latency" : "Time to first token"}: requests per bin (ms, bins growing geometrically)`,
        "ms",
        bins,
        measured.map((series, at) => ({ label: series.label, data: counts[at] })),
      ),
    ];
  });
  if (withCdf.length === 0 && histograms.length === 0) return "";
  return element(
    "section",
    { "aria-label": "latency" },
    element("h2", {}, "Latency"),
    withCdf.length
      ? lineChart(
          "E2E latency (ms) by percentile, per target",
          withCdf[0].cdf.e2e_ms.map(([percentile]) => `p${percentile}`),
          withCdf.map((t) => ({
            label: `${t.target} on ${t.workload}`,
            data: t.cdf.e2e_ms.map(([, ms]) => ms),
          })),
          Number.POSITIVE_INFINITY,
        )
      : "",
    ...histograms,
  );
}
