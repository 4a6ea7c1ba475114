import * as hdr from "hdr-histogram-js";

/** A latency distribution, in milliseconds. */
export interface Distribution {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * Percentiles from an HDR histogram at microsecond resolution and 3 significant digits (0.1% error), as
 * AIPerf and wrk2 compute them.
 */
export function distributionOf(valuesMs: readonly number[]): Distribution {
  if (valuesMs.length === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0 };
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let sum = 0;
  let max = 0;
  for (const value of valuesMs) {
    histogram.recordValue(Math.max(1, Math.round(value * 1000)));
    sum += value;
    max = Math.max(max, value);
  }
  const at = (percentile: number) => histogram.getValueAtPercentile(percentile) / 1000;
  const result = {
    count: valuesMs.length,
    mean: sum / valuesMs.length,
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    max,
  };
  histogram.destroy();
  return result;
}

/** Points of the cumulative distribution, [percentile, milliseconds], for latency CDF charts. */
export function cdfOf(valuesMs: readonly number[], points = 50): [number, number][] {
  if (valuesMs.length === 0) return [];
  const sorted = [...valuesMs].sort((a, b) => a - b);
  return Array.from({ length: points + 1 }, (_, i) => {
    const percentile = (100 * i) / points;
    const index = Math.min(sorted.length - 1, Math.ceil((percentile / 100) * sorted.length) - 1);
    return [percentile, sorted[Math.max(0, index)] ?? 0];
  });
}
