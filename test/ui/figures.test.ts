import assert from "node:assert/strict";
import { describe, test } from "node:test";

// The page's own module (plain JavaScript, served as is): what the run view computes, with no DOM.
const figures = await import(new URL("../../src/ui/figures.js", import.meta.url).href);

describe("the dashboard's figures", () => {
  test("the Pareto frontier: no point on it is beaten on every axis; a point missing a figure is on none", () => {
    // [E2E p50 ms (lower is better), accuracy (higher)]
    const points = [
      [10, 0.7], // fastest
      [20, 0.9], // most accurate
      [25, 0.8], // beaten by [20, 0.9] on both
      [15, 0.8], // between the two: on the frontier
      [15, 0.8], // a tie with it: neither beats the other
      [12, undefined],
      [30, 0.9], // as accurate as [20, 0.9] but slower
    ];
    assert.deepEqual(figures.paretoFrontier(points, ["lower", "higher"]), [0, 1, 3, 4]);
    // With cost as a third axis (lower is better), a slow but cheap point joins it.
    const withCost = points.map((point, index) => [...point, index === 6 ? 0.1 : 1]);
    assert.deepEqual(figures.paretoFrontier(withCost, ["lower", "higher", "lower"]), [0, 1, 3, 4, 6]);
    assert.deepEqual(figures.paretoFrontier([], ["lower", "higher"]), []);
  });

  test("histogram: shared bins, geometric from the lowest value to the highest; every value counted once", () => {
    const fast = [1, 1.5, 2, 3, 4];
    const slow = [10, 20, 40, 80, 100];
    const { bins, counts } = figures.histogram([fast, slow], 10);
    assert.equal(bins.length, 10);
    assert.equal(bins[0].from, 1);
    assert.ok(Math.abs(bins.at(-1).to - 100) < 1e-9);
    for (let at = 1; at < bins.length; at++)
      assert.ok(
        Math.abs(bins[at].to / bins[at].from - bins[0].to / bins[0].from) < 1e-9,
        "each bin as wide in ratio",
      );
    assert.deepEqual(
      counts.map((series: number[]) => series.reduce((sum, count) => sum + count, 0)),
      [5, 5],
    );
    assert.equal(counts[1][9], 2, "80 and the highest value, 100, in the last bin");
    assert.equal(counts[0][0], 2, "1 and 1.5 below 1.585, the first edge");
    // One value, or a 0: linear bins, nothing lost.
    assert.deepEqual(figures.histogram([[5, 5, 5]], 4).counts, [[3, 0, 0, 0]]);
    assert.deepEqual(figures.histogram([[0, 1, 2, 3]], 3).counts, [[1, 1, 2]]);
    assert.deepEqual(figures.histogram([[]]).bins, []);
  });

  test("latencies of the measured requests: warm-ups and failures left out, TTFT from the first chunk", () => {
    const records = [
      { sentAt: 0, endAt: 50, chunkTimes: [10, 30], warmup: false },
      { sentAt: 100, endAt: 130, chunkTimes: [], warmup: false },
      { sentAt: 0, endAt: 999, chunkTimes: [1], warmup: true },
      { sentAt: 0, endAt: 5, chunkTimes: [], warmup: false, error: "boom" },
    ];
    assert.deepEqual(figures.latenciesOf(records, "e2e"), [50, 30]);
    assert.deepEqual(figures.latenciesOf(records, "ttft"), [10, 30]);
  });

  test("objectives: met, missed, or unmeasured where the figure is absent; empty ones not checked", () => {
    const target = {
      metrics: {
        accuracy: { accuracy: 0.85, wilson_95: { low: 0.7, high: 0.93 } },
        ttft_ms: { count: 0 },
        e2e_ms: { count: 40, p99: 120 },
        error_rate: 0.02,
      },
    };
    assert.deepEqual(
      figures.checkObjectives(figures.objectiveFigures(target), {
        quality: 0.8,
        e2e: 100,
        ttft: 50,
        errors: 5,
      }),
      { quality: "met", e2e: "missed", ttft: "unmeasured", errors: "met" },
    );
    const point = { ttft_p50_ms: 4, e2e_p99_ms: 90, error_rate: 0.1 };
    assert.deepEqual(
      figures.checkObjectives(figures.objectiveFigures(target, point), { e2e: 100, ttft: 50, errors: 5 }),
      { e2e: "met", ttft: "unmeasured", errors: "missed" },
    );
    assert.deepEqual(figures.qualityIntervalOf(target), { low: 0.7, high: 0.93 });
    assert.deepEqual(figures.objectivesOfRun({ load: { slo: { e2e_ms: 500, itl_ms: 20 } } }), { e2e: 500 });
  });
});
