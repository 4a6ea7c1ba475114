import { type Distribution, distributionOf } from "./distribution.js";
import type { RequestRecord } from "./request-record.js";

/** Service-level objectives a request must meet, all of them, to count toward goodput. */
export interface Slo {
  ttft_ms?: number;
  itl_ms?: number;
  e2e_ms?: number;
}

export interface LoadMetrics {
  requests: number;
  errors: number;
  error_rate: number;
  duration_s: number;
  /** Time to first content, measured from the actual send. */
  ttft_ms: Distribution;
  /** (E2E − TTFT) / (output tokens − 1), one value per request of two or more tokens. */
  itl_ms: Distribution;
  e2e_ms: Distribution;
  /** Raw gaps between content chunks. */
  chunk_gap_ms: Distribution;
  /** Open loop only: latencies measured from the planned send time (coordinated-omission corrected). */
  corrected?: { ttft_ms: Distribution; e2e_ms: Distribution };
  output_tokens_per_s: number;
  requests_per_s: number;
  /** 1 / ITL, per request. */
  per_user_tokens_per_s: Distribution;
  mean_output_tokens: number;
  mean_input_tokens?: number;
  goodput?: { slo: Slo; requests_per_s: number; good_fraction: number };
}

/**
 * The figures of one run, by the definitions AIPerf/GenAI-Perf use (docs/report.md). Warm-up requests are
 * left out; failed requests count in the error rate and against goodput, and in no latency.
 */
export function loadMetrics(
  all: readonly RequestRecord[],
  options: { slo?: Slo; openLoop?: boolean } = {},
): LoadMetrics {
  const records = all.filter((record) => !record.warmup);
  const ok = records.filter((record) => record.error === undefined);
  // A loop, not Math.min(...records): a long run has more records than the call stack has room for arguments.
  let firstStart = Number.POSITIVE_INFINITY;
  let lastEnd = Number.NEGATIVE_INFINITY;
  for (const record of records) {
    firstStart = Math.min(firstStart, record.sentAt);
    lastEnd = Math.max(lastEnd, record.endAt);
  }
  const seconds = records.length > 0 ? Math.max((lastEnd - firstStart) / 1000, 1e-9) : 0;

  const ttft = (record: RequestRecord, from: number) => (record.chunkTimes[0] ?? record.endAt) - from;
  const itl = (record: RequestRecord) =>
    record.outputTokens > 1
      ? (record.endAt - record.sentAt - ttft(record, record.sentAt)) / (record.outputTokens - 1)
      : undefined;
  const itls = ok.map(itl).filter((value): value is number => value !== undefined);
  const gaps = ok.flatMap((record) =>
    record.chunkTimes.slice(1).map((at, i) => at - (record.chunkTimes[i] ?? at)),
  );
  const outputTokens = ok.reduce((sum, record) => sum + record.outputTokens, 0);
  const inputs = ok.filter((record) => record.inputTokens !== undefined);

  const metrics: LoadMetrics = {
    requests: records.length,
    errors: records.length - ok.length,
    error_rate: records.length > 0 ? (records.length - ok.length) / records.length : 0,
    duration_s: seconds,
    ttft_ms: distributionOf(ok.map((record) => ttft(record, record.sentAt))),
    itl_ms: distributionOf(itls),
    e2e_ms: distributionOf(ok.map((record) => record.endAt - record.sentAt)),
    chunk_gap_ms: distributionOf(gaps),
    output_tokens_per_s: seconds > 0 ? outputTokens / seconds : 0,
    requests_per_s: seconds > 0 ? ok.length / seconds : 0,
    per_user_tokens_per_s: distributionOf(itls.filter((value) => value > 0).map((value) => 1000 / value)),
    mean_output_tokens: ok.length > 0 ? outputTokens / ok.length : 0,
    ...(inputs.length > 0 && {
      mean_input_tokens: inputs.reduce((sum, record) => sum + (record.inputTokens ?? 0), 0) / inputs.length,
    }),
  };
  if (options.openLoop) {
    metrics.corrected = {
      ttft_ms: distributionOf(ok.map((record) => ttft(record, record.plannedAt))),
      e2e_ms: distributionOf(ok.map((record) => record.endAt - record.plannedAt)),
    };
  }
  if (options.slo && Object.keys(options.slo).length > 0) {
    const slo = options.slo;
    const meets = (record: RequestRecord) => {
      if (record.error !== undefined) return false;
      const from = options.openLoop ? record.plannedAt : record.sentAt;
      const interToken = itl(record);
      return (
        (slo.ttft_ms === undefined || ttft(record, from) <= slo.ttft_ms) &&
        (slo.e2e_ms === undefined || record.endAt - from <= slo.e2e_ms) &&
        (slo.itl_ms === undefined || interToken === undefined || interToken <= slo.itl_ms)
      );
    };
    const good = records.filter(meets).length;
    metrics.goodput = {
      slo,
      requests_per_s: seconds > 0 ? good / seconds : 0,
      good_fraction: records.length > 0 ? good / records.length : 0,
    };
  }
  return metrics;
}
