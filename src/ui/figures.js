// What the run view computes from a stored run: no DOM here, so it runs (and is tested) in Node too.

/** A target's main quality figure: accuracy, else strict entity F1, else its first generation metric. */
export function qualityOf(target) {
  const { metrics } = target;
  return (
    metrics.accuracy?.accuracy ?? metrics.entities?.strict?.f1 ?? Object.values(metrics.quality ?? {})[0]
  );
}

/** The 95% interval of that figure where the report has one (Wilson for accuracy, bootstrap for entity F1). */
export function qualityIntervalOf(target) {
  const { metrics } = target;
  return metrics.accuracy?.wilson_95 ?? (metrics.accuracy ? undefined : metrics.entities?.f1_95);
}

/** A latency distribution's percentile, or undefined where it holds no request (ITL of a classifier). */
export const latency = (distribution, percentile) =>
  distribution?.count === 0 ? undefined : distribution?.[percentile];

/** What the scatter can plot on an axis, and which way is better. `percentile` applies to latencies. */
export const AXES = {
  quality: { label: () => "quality", better: "higher", value: qualityOf },
  e2e: { label: (p) => `E2E ${p} (ms)`, better: "lower", value: (t, p) => latency(t.metrics.e2e_ms, p) },
  ttft: { label: (p) => `TTFT ${p} (ms)`, better: "lower", value: (t, p) => latency(t.metrics.ttft_ms, p) },
  itl: { label: (p) => `ITL ${p} (ms)`, better: "lower", value: (t, p) => latency(t.metrics.itl_ms, p) },
  items: { label: () => "items/s", better: "higher", value: (t) => t.metrics.requests_per_s },
  tokens: { label: () => "output tokens/s", better: "higher", value: (t) => t.metrics.output_tokens_per_s },
  goodput: {
    label: () => "goodput (req/s)",
    better: "higher",
    value: (t) => t.metrics.goodput?.requests_per_s,
  },
  cost_items: {
    label: () => "$ per 1k items",
    better: "lower",
    value: (t) => t.metrics.cost_per_1k_items_usd,
  },
  cost_tokens: {
    label: () => "$ per 1M output tokens",
    better: "lower",
    value: (t) => t.metrics.cost_per_1m_output_tokens_usd,
  },
  memory: {
    label: () => "peak MiB per request",
    better: "lower",
    value: (t) =>
      t.metrics.peak_rss_bytes_per_request === undefined
        ? undefined
        : t.metrics.peak_rss_bytes_per_request / 2 ** 20,
  },
};

/**
 * The points no other point beats: at least as good on every axis and better on one. `points` are arrays of
 * figures, `better` says per axis "higher" or "lower"; a point missing a figure is on no frontier. Returns indices.
 */
export function paretoFrontier(points, better) {
  const sign = better.map((way) => (way === "higher" ? 1 : -1));
  const complete = (point) => point.every((value) => typeof value === "number" && Number.isFinite(value));
  const dominates = (a, b) =>
    a.every((value, axis) => value * sign[axis] >= b[axis] * sign[axis]) &&
    a.some((value, axis) => value * sign[axis] > b[axis] * sign[axis]);
  return points.flatMap((point, index) =>
    complete(point) && !points.some((other) => other !== point && complete(other) && dominates(other, point))
      ? [index]
      : [],
  );
}

/** Every measured request's latency (ms): E2E, or TTFT (the first chunk; the end where none came). */
export function latenciesOf(records, kind) {
  return records
    .filter((record) => !record.warmup && record.error === undefined)
    .map(
      (record) => (kind === "ttft" ? (record.chunkTimes[0] ?? record.endAt) : record.endAt) - record.sentAt,
    );
}

/**
 * Shared bins for several series of latencies, `count` of them, spaced geometrically from the lowest value to the
 * highest (a long tail keeps its shape); a series' counts per bin. Linear where a value is 0.
 */
export function histogram(series, count = 20) {
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (const values of series)
    for (const value of values) {
      low = Math.min(low, value);
      high = Math.max(high, value);
    }
  if (!Number.isFinite(low)) return { bins: [], counts: series.map(() => []) };
  const bins = count;
  const edge =
    low > 0 && high > low
      ? (at) => low * (high / low) ** (at / bins)
      : (at) => low + ((high - low || 1) * at) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, at) => edge(at));
  const binOf = (value) => {
    let at = 0;
    while (at < bins - 1 && value >= edges[at + 1]) at++;
    return at;
  };
  return {
    bins: edges.slice(0, -1).map((from, at) => ({ from, to: edges[at + 1] })),
    counts: series.map((values) => {
      const counts = new Array(bins).fill(0);
      for (const value of values) counts[binOf(value)]++;
      return counts;
    }),
  };
}

/** The objectives a run is held to in the page: a quality floor, TTFT and E2E p99 ceilings, an error ceiling. */
export const OBJECTIVES = {
  quality: { label: "quality ≥", bound: "min" },
  ttft: { label: "TTFT p99 ≤ ms", bound: "max" },
  e2e: { label: "E2E p99 ≤ ms", bound: "max" },
  errors: { label: "errors ≤ %", bound: "max" },
};

/** The figures objectives are checked against, from a target's summary (or one of its sweep points). */
export function objectiveFigures(target, point) {
  if (point)
    return {
      quality: qualityOf(target),
      ttft: point.ttft_p99_ms,
      e2e: point.e2e_p99_ms,
      errors: point.error_rate * 100,
    };
  return {
    quality: qualityOf(target),
    ttft: latency(target.metrics.ttft_ms, "p99"),
    e2e: latency(target.metrics.e2e_ms, "p99"),
    errors: target.metrics.error_rate * 100,
  };
}

/**
 * Per objective set: "met", "missed" or "unmeasured" (the figure is absent, e.g. a sweep point saved before TTFT
 * p99 was recorded). Objectives left empty are not checked.
 */
export function checkObjectives(figures, objectives) {
  const outcome = {};
  for (const [name, { bound }] of Object.entries(OBJECTIVES)) {
    const limit = objectives[name];
    if (limit === undefined) continue;
    const figure = figures[name];
    if (figure === undefined) outcome[name] = "unmeasured";
    else outcome[name] = (bound === "min" ? figure >= limit : figure <= limit) ? "met" : "missed";
  }
  return outcome;
}

/** The objectives a run carries itself: its goodput SLOs (TTFT and E2E per request) as p99 ceilings. */
export function objectivesOfRun(report) {
  const slo = report.load?.slo ?? {};
  return {
    ...(slo.ttft_ms !== undefined && { ttft: slo.ttft_ms }),
    ...(slo.e2e_ms !== undefined && { e2e: slo.e2e_ms }),
  };
}

/** The values a run's sweeps ran at, ascending, over all swept targets. */
export function sweepValues(targets) {
  return [...new Set(targets.flatMap((t) => t.sweep?.points.map((point) => point.value) ?? []))].sort(
    (a, b) => a - b,
  );
}
