import type { RequestEndEvent } from "../telemetry/events.js";
import { distributionOf } from "./distribution.js";

/**
 * Live A/B results of a gateway route, read from what the gateway already exports: its access log (exact,
 * one line per request) or its /metrics text (histograms, so percentiles are estimates within a bucket).
 */
export interface ArmResult {
  arm: string;
  requests: number;
  /** Answers with status ≥ 500: the arm (and its fallbacks) failed the client. */
  errors: number;
  /** Requests another model served after the arm failed (a fallback). */
  servedByFallback: number;
  /** Of answered requests (from a log); of every request (from /metrics, whose histogram has no status). */
  e2eMs: Percentiles;
  ttftMs?: Percentiles;
  /** Median time per output token after the first. */
  tpotMsP50?: number;
  completionTokens: number;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

export interface ArmComparison {
  arm: string;
  baseline: string;
  e2eP50Ratio: number;
  ttftP50Ratio?: number;
  errorRateDelta: number;
  /** Two-sided p-value of a two-proportion z-test on the error rates (1 when neither arm erred). */
  errorRatePValue: number;
}

export interface LiveAbReport {
  route: string;
  source: "log" | "metrics";
  arms: ArmResult[];
  comparisons: ArmComparison[];
}

/** Reads a gateway's JSON access log (one pino line per request) for one route's arms. */
export function armsFromLog(text: string, route: string): ArmResult[] {
  const byArm = new Map<string, RequestEndEvent[]>();
  for (const line of text.split("\n")) {
    if (!line.includes('"event":"request"')) continue;
    const event = JSON.parse(line) as RequestEndEvent;
    if (event.publicModel !== route || !event.arm) continue;
    const events = byArm.get(event.arm) ?? [];
    events.push(event);
    byArm.set(event.arm, events);
  }
  return [...byArm.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([arm, events]) => {
      const ttft = events.flatMap((event) => (event.ttftMs === undefined ? [] : [event.ttftMs]));
      const tpot = events.flatMap((event) =>
        event.timePerOutputTokenMs === undefined ? [] : [event.timePerOutputTokenMs],
      );
      return {
        arm,
        requests: events.length,
        errors: events.filter((event) => event.status >= 500).length,
        servedByFallback: events.filter((event) => event.status < 400 && servedBy(event.model) !== arm)
          .length,
        e2eMs: exactPercentiles(
          events.filter((event) => event.status < 400).map((event) => event.durationMs),
        ),
        ...(ttft.length > 0 && { ttftMs: exactPercentiles(ttft) }),
        ...(tpot.length > 0 && { tpotMsP50: exactPercentiles(tpot).p50 }),
        completionTokens: events.reduce((sum, event) => sum + (event.completionTokens ?? 0), 0),
      };
    });
}

/** Reads a gateway's /metrics text for one route's arms; percentiles are interpolated within buckets. */
export function armsFromMetrics(text: string, route: string): ArmResult[] {
  const samples = parsePrometheusText(text).filter(
    (sample) => sample.labels.public_model === route && sample.labels.arm,
  );
  const arms = [...new Set(samples.map((sample) => sample.labels.arm as string))].sort();
  return arms.map((arm) => {
    const of = (name: string) =>
      samples.filter((sample) => sample.name === name && sample.labels.arm === arm);
    const requests = of("infergate_requests_total");
    const e2e = bucketQuantiles(of("infergate_request_duration_seconds_bucket"));
    const ttft = bucketQuantiles(of("infergate_time_to_first_token_seconds_bucket"));
    const tpot = bucketQuantiles(of("infergate_time_per_output_token_seconds_bucket"));
    return {
      arm,
      requests: sum(requests),
      errors: sum(requests.filter((sample) => Number(sample.labels.status) >= 500)),
      servedByFallback: sum(
        requests.filter(
          (sample) => Number(sample.labels.status) < 400 && servedBy(sample.labels.model ?? "") !== arm,
        ),
      ),
      e2eMs: e2e ?? { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN },
      ...(ttft && { ttftMs: ttft }),
      ...(tpot && { tpotMsP50: tpot.p50 }),
      completionTokens: sum(
        of("infergate_tokens_total").filter((sample) => sample.labels.direction === "completion"),
      ),
    };
  });
}

/** Every arm against `baseline` (default: the arm with the most requests). */
export function compareArms(
  route: string,
  source: LiveAbReport["source"],
  arms: ArmResult[],
  baseline?: string,
): LiveAbReport {
  const base =
    arms.find((arm) => arm.arm === baseline) ?? [...arms].sort((a, b) => b.requests - a.requests)[0];
  const comparisons = base
    ? arms
        .filter((arm) => arm !== base)
        .map((arm) => ({
          arm: arm.arm,
          baseline: base.arm,
          e2eP50Ratio: arm.e2eMs.p50 / base.e2eMs.p50,
          ...(arm.ttftMs && base.ttftMs && { ttftP50Ratio: arm.ttftMs.p50 / base.ttftMs.p50 }),
          errorRateDelta: arm.errors / arm.requests - base.errors / base.requests,
          errorRatePValue: twoProportionPValue(arm.errors, arm.requests, base.errors, base.requests),
        }))
    : [];
  return { route, source, arms, comparisons };
}

/** A served model's id without its precision (`lm-base:q8_0` → `lm-base`), to tell arm from fallback. */
function servedBy(model: string): string {
  const colon = model.lastIndexOf(":");
  return colon === -1 ? model : model.slice(0, colon);
}

/** Percentiles of logged durations, as every bench report computes them; NaN when there are none. */
function exactPercentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN };
  const { p50, p95, p99 } = distributionOf(values);
  return { p50, p95, p99 };
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of Prometheus' text exposition format (comments and blank lines skipped). */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_, c: string) =>
        c === "n" ? "\n" : c,
      );
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

function sum(samples: readonly Sample[]): number {
  return samples.reduce((total, sample) => total + sample.value, 0);
}

/**
 * Quantiles (in ms) from cumulative `_bucket` samples in seconds, summed over every other label, by linear
 * interpolation within the bucket — what PromQL's histogram_quantile does.
 */
function bucketQuantiles(buckets: readonly Sample[]): Percentiles | undefined {
  const byBound = new Map<number, number>();
  for (const sample of buckets) {
    const bound = Number(sample.labels.le);
    byBound.set(bound, (byBound.get(bound) ?? 0) + sample.value);
  }
  const bounds = [...byBound.entries()].sort(([a], [b]) => a - b);
  const total = bounds.at(-1)?.[1] ?? 0;
  if (total === 0) return undefined;
  const quantile = (q: number) => {
    const rank = q * total;
    let lower = 0;
    let below = 0;
    for (const [bound, count] of bounds) {
      if (count >= rank) {
        if (!Number.isFinite(bound)) return lower * 1000;
        return (lower + ((bound - lower) * (rank - below)) / Math.max(1, count - below)) * 1000;
      }
      lower = bound;
      below = count;
    }
    return lower * 1000;
  };
  return { p50: quantile(0.5), p95: quantile(0.95), p99: quantile(0.99) };
}

/** Two-sided p-value that two error rates differ (pooled two-proportion z-test). */
function twoProportionPValue(errorsA: number, totalA: number, errorsB: number, totalB: number): number {
  const pooled = (errorsA + errorsB) / (totalA + totalB);
  const spread = Math.sqrt(pooled * (1 - pooled) * (1 / totalA + 1 / totalB));
  if (!(spread > 0)) return 1;
  const z = Math.abs(errorsA / totalA - errorsB / totalB) / spread;
  return 2 * (1 - standardNormalCdf(z));
}

/** Φ(z) via the Abramowitz–Stegun 7.1.26 approximation of erf (error < 1.5e-7). */
function standardNormalCdf(z: number): number {
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return 0.5 * (1 + (1 - poly * Math.exp(-x * x)));
}
