import assert from "node:assert/strict";
import { test } from "node:test";
import type { Distribution } from "../../src/bench/distribution.js";
import { loadMetrics } from "../../src/bench/load-metrics.js";
import type { RequestRecord } from "../../src/bench/request-record.js";

/** A request sent at `sentAt` whose content chunks arrive at the given times; it ends with the last one. */
function request(
  index: number,
  sentAt: number,
  chunkTimes: number[],
  outputTokens: number,
  extra: Partial<RequestRecord> = {},
): RequestRecord {
  return {
    index,
    plannedAt: sentAt,
    sentAt,
    endAt: chunkTimes.at(-1) ?? sentAt,
    chunkTimes,
    outputTokens,
    warmup: false,
    ...extra,
  };
}

/** HDR histograms keep 3 significant digits: every figure must be within 1 ms of the exact one. */
function near(distribution: Distribution | undefined, expected: Partial<Distribution>): void {
  for (const [key, value] of Object.entries(expected)) {
    const got = distribution?.[key as keyof Distribution] ?? Number.NaN;
    assert.ok(Math.abs(got - value) <= 1, `${key}: ${got}, expected ${value}`);
  }
}

test("TTFT, ITL, E2E, chunk gaps and throughput follow the definitions exactly", () => {
  const records = [
    // TTFT 100, E2E 400, 4 tokens → ITL (400 − 100) / 3 = 100
    request(0, 0, [100, 200, 300, 400], 4),
    // TTFT 50, E2E 250, 5 tokens in 3 chunks → ITL 50; chunk gaps 100, 100
    request(1, 100, [150, 250, 350], 5),
    // one token: TTFT = E2E = 30, no ITL
    request(2, 200, [230], 1),
  ];
  const metrics = loadMetrics(records);
  assert.equal(metrics.requests, 3);
  near(metrics.ttft_ms, { p50: 50, max: 100, mean: 60 });
  near(metrics.e2e_ms, { p50: 250, max: 400 });
  assert.equal(metrics.itl_ms.count, 2);
  near(metrics.itl_ms, { p50: 50, max: 100, mean: 75 });
  assert.equal(metrics.chunk_gap_ms.count, 5);
  near(metrics.chunk_gap_ms, { p50: 100, max: 100 });
  // 10 output tokens, 3 requests from the first send (0) to the last end (400 ms).
  assert.equal(metrics.duration_s, 0.4);
  assert.equal(metrics.output_tokens_per_s, 25);
  assert.equal(metrics.requests_per_s, 7.5);
  near(metrics.per_user_tokens_per_s, { p50: 10, max: 20 });
  assert.equal(metrics.mean_output_tokens, 10 / 3);
});

test("percentiles come from 100 known values within 1 ms", () => {
  const records = Array.from({ length: 100 }, (_, i) => request(i, 0, [i + 1], 1));
  const { e2e_ms } = loadMetrics(records);
  assert.ok(Math.abs(e2e_ms.p50 - 50) <= 1, `p50 ${e2e_ms.p50}`);
  assert.ok(Math.abs(e2e_ms.p90 - 90) <= 1, `p90 ${e2e_ms.p90}`);
  assert.ok(Math.abs(e2e_ms.p95 - 95) <= 1, `p95 ${e2e_ms.p95}`);
  assert.ok(Math.abs(e2e_ms.p99 - 99) <= 1, `p99 ${e2e_ms.p99}`);
  assert.equal(e2e_ms.max, 100);
  assert.equal(e2e_ms.mean, 50.5);
});

test("goodput counts requests meeting every SLO; errors count against it and in no latency", () => {
  const records = [
    request(0, 0, [100, 200, 300], 3), // TTFT 100, ITL 100
    request(1, 0, [300, 310, 320], 3), // TTFT 300: misses ttft
    request(2, 0, [50, 250, 450], 3), // ITL 200: misses itl
    request(3, 0, [], 0, { endAt: 10, error: "boom" }),
  ];
  const metrics = loadMetrics(records, { slo: { ttft_ms: 200, itl_ms: 150 } });
  assert.equal(metrics.errors, 1);
  assert.equal(metrics.error_rate, 0.25);
  assert.equal(metrics.ttft_ms.count, 3);
  assert.equal(metrics.goodput?.good_fraction, 0.25);
  assert.equal(metrics.goodput?.requests_per_s, 1 / 0.45);
});

test("warm-up requests are left out; open-loop latency is also measured from the planned send", () => {
  const records = [
    request(0, 0, [1000], 1, { warmup: true }),
    request(1, 100, [150], 1, { plannedAt: 20 }),
    request(2, 200, [260], 1, { plannedAt: 200 }),
  ];
  const metrics = loadMetrics(records, { openLoop: true });
  assert.equal(metrics.requests, 2);
  near(metrics.e2e_ms, { p50: 50, max: 60 });
  near(metrics.corrected?.e2e_ms, { p50: 60, max: 130 });
});

test("a long run's half a million records are summarized without exhausting the stack", () => {
  const records = Array.from({ length: 500_000 }, (_, i) => request(i, i, [i + 2], 1));
  const metrics = loadMetrics(records);
  assert.equal(metrics.requests, 500_000);
  near(metrics.e2e_ms, { p50: 2, max: 2 });
});
