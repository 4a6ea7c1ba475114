import assert from "node:assert/strict";
import { test } from "node:test";
import { kneeOf, parseSweep, type SweepPoint } from "../../src/bench/sweep.js";

const point = (value: number, rate: number, extra: Partial<SweepPoint> = {}): SweepPoint => ({
  value,
  output_tokens_per_s: rate,
  requests_per_s: rate / 10,
  items_per_s: rate / 10,
  ttft_p50_ms: 1,
  e2e_p50_ms: 1,
  e2e_p99_ms: 1,
  error_rate: 0,
  ...extra,
});

test("the knee is the last point before throughput stops growing by 10%", () => {
  const knee = kneeOf(
    [point(1, 100), point(2, 180), point(4, 300), point(8, 310), point(16, 320)],
    "output_tokens_per_s",
  );
  assert.deepEqual(knee, { value: 4, reason: "throughput grows less than 10% from 4 to 8" });
});

test("an SLO breaking or errors appearing ends the sweep first", () => {
  assert.equal(
    kneeOf(
      [point(1, 100, { good_fraction: 1 }), point(2, 190, { good_fraction: 0.5 })],
      "output_tokens_per_s",
    )?.value,
    1,
  );
  assert.match(
    kneeOf([point(1, 100), point(2, 190, { error_rate: 0.2 })], "output_tokens_per_s")?.reason ?? "",
    /20\.0% of requests fail/,
  );
  assert.deepEqual(kneeOf([point(1, 100), point(2, 300)], "output_tokens_per_s"), {
    value: 2,
    reason: "throughput still growing at the last point",
  });
});

test("sweep specs are parsed and checked", () => {
  assert.deepEqual(parseSweep("concurrency=1,2,4"), { parameter: "concurrency", values: [1, 2, 4] });
  assert.deepEqual(parseSweep("rate=2.5,5"), { parameter: "rate", values: [2.5, 5] });
  assert.deepEqual(parseSweep("batch=1,4,16"), { parameter: "batch", values: [1, 4, 16] });
  for (const bad of [
    "size=1,2",
    "batch=1.5,2",
    "concurrency=1",
    "concurrency=1,x",
    "concurrency=1.5,2",
    "rate=0,1",
  ]) {
    assert.throws(() => parseSweep(bad), Error, bad);
  }
});
