import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadMetrics } from "../../src/bench/load-metrics.js";
import { runSchedule } from "../../src/bench/scheduler.js";

const items = ["a", "b", "c"];

test("closed loop: N workers, every request recorded once, items reused in order", async () => {
  const sent: string[] = [];
  let inFlight = 0;
  let peak = 0;
  const records = await runSchedule({
    items,
    strategy: { kind: "concurrent", concurrency: 3 },
    constraints: { requests: 12, warmupRequests: 3 },
    send: async (item) => {
      sent.push(item);
      peak = Math.max(peak, ++inFlight);
      await sleep(5);
      inFlight--;
      return { chunkTimes: [performance.now()], outputTokens: 1 };
    },
  });
  assert.equal(records.length, 15);
  assert.equal(records.filter((record) => record.warmup).length, 3);
  assert.equal(peak, 3);
  assert.deepEqual(sent.slice(0, 6).sort(), ["a", "a", "b", "b", "c", "c"]);
  for (const record of records) assert.equal(record.plannedAt, record.sentAt);
});

test("open loop at a constant rate sends on schedule; a stalled target shows in corrected latency only", async () => {
  let calls = 0;
  const records = await runSchedule({
    items,
    strategy: { kind: "constant", rate: 100, maxInFlight: 1 },
    constraints: { requests: 12 },
    send: async () => {
      // The fourth request stalls for 150 ms; the rest answer in 2 ms.
      await sleep(++calls === 4 ? 150 : 2);
      return { chunkTimes: [performance.now()], outputTokens: 1 };
    },
  });
  const gaps = records.slice(1).map((record, i) => record.plannedAt - (records[i]?.plannedAt ?? 0));
  for (const gap of gaps) assert.ok(Math.abs(gap - 10) < 1e-9, `planned 10 ms apart, got ${gap}`);
  const metrics = loadMetrics(records, { openLoop: true });
  const queued = records.filter((record) => record.sentAt - record.plannedAt > 50);
  assert.ok(queued.length >= 5, `${queued.length} requests waited behind the stall`);
  // Raw latency sees only the stalled request itself; the corrected one sees everyone queued behind it.
  assert.ok(metrics.e2e_ms.p50 < 20, `raw p50 ${metrics.e2e_ms.p50}`);
  assert.ok((metrics.corrected?.e2e_ms.p50 ?? 0) > 50, `corrected p50 ${metrics.corrected?.e2e_ms.p50}`);
  // Timers may fire up to a millisecond early; the stalled request still spans ~150 ms of schedule.
  assert.ok((metrics.corrected?.e2e_ms.max ?? 0) >= 145, `corrected max ${metrics.corrected?.e2e_ms.max}`);
  for (const record of records)
    assert.ok(record.sentAt >= record.plannedAt, "never sent before its planned time");
});

test("poisson arrivals are seeded and average the rate", async () => {
  const plan = async () =>
    (
      await runSchedule({
        items,
        strategy: { kind: "poisson", rate: 2000, seed: 7 },
        constraints: { requests: 200 },
        send: async () => ({ chunkTimes: [performance.now()], outputTokens: 1 }),
      })
    ).map((record, _, all) => record.plannedAt - (all[0]?.plannedAt ?? 0));
  const first = await plan();
  const second = await plan();
  for (const [i, at] of first.entries()) assert.ok(Math.abs(at - (second[i] ?? 0)) < 1e-6, `arrival ${i}`);
  const mean = (first.at(-1) ?? 0) / (first.length - 1);
  assert.ok(Math.abs(mean - 0.5) < 0.15, `mean gap ${mean} ms for 2000 req/s`);
});

test("a duration bound stops the run; errors are recorded, not thrown", async () => {
  const started = performance.now();
  let longestSend = 0;
  const records = await runSchedule({
    items,
    strategy: { kind: "concurrent", concurrency: 2 },
    constraints: { durationS: 0.2 },
    send: async (item) => {
      const sent = performance.now();
      await sleep(10);
      longestSend = Math.max(longestSend, performance.now() - sent);
      if (item === "b") throw new Error("target failed");
      return { chunkTimes: [performance.now()], outputTokens: 1 };
    },
  });
  const elapsed = performance.now() - started;
  // It stops at the bound, finishing only what was in flight then (its length measured here, at this hour's speed).
  assert.ok(
    elapsed >= 200 && elapsed < 200 + 3 * longestSend + 50,
    `${elapsed} ms (sends up to ${longestSend} ms)`,
  );
  assert.ok(records.some((record) => record.error === "target failed"));
  assert.ok(records.length > 10);
});

test("at its in-flight bound the open loop holds the bound exactly, at a cost per request that does not grow with it", async () => {
  /** Sends as fast as the bound lets it; every request ends on the event loop's next turn. */
  const atBound = async (maxInFlight: number) => {
    let inFlight = 0;
    let peak = 0;
    const started = performance.now();
    const records = await runSchedule({
      items,
      strategy: { kind: "constant", rate: 1e7, maxInFlight },
      constraints: { requests: 20_000 },
      send: async () => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        return { chunkTimes: [performance.now()], outputTokens: 1 };
      },
    });
    assert.equal(records.length, 20_000);
    assert.equal(peak, maxInFlight);
    return performance.now() - started;
  };
  await atBound(1000); // warms the code up
  const narrow = await atBound(10);
  const wide = await atBound(1000);
  // Waiting with a Promise.race over everything in flight made the wide run ~30x the narrow one.
  assert.ok(
    wide < 4 * narrow + 50,
    `20,000 requests: ${wide.toFixed(0)} ms at 1,000 in flight, ${narrow.toFixed(0)} ms at 10`,
  );
});
