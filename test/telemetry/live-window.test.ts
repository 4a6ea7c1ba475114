import assert from "node:assert/strict";
import { test } from "node:test";
import type { RequestEndEvent } from "../../src/telemetry/events.js";
import { type LiveData, liveView, mergeLiveData } from "../../src/telemetry/live-view.js";
import { LiveWindow, mergeSeconds, quantileOf } from "../../src/telemetry/live-window.js";

const event = (fields: Partial<RequestEndEvent> = {}): RequestEndEvent => ({
  route: "/v1/chat/completions",
  model: "up",
  status: 200,
  durationMs: 10,
  promptTokens: 3,
  completionTokens: 2,
  ...fields,
});
const idle = { load: [], breakers: [], precisions: [] };

test("a latency quantile from the window's buckets is at most 25% above the true one, never below", () => {
  let clock = 1_000_000_000;
  const window = new LiveWindow(() => clock);
  for (let i = 1; i <= 1000; i++) window.record(event({ durationMs: i }));
  const [second] = window.seconds();
  for (const [q, exact] of [
    [0.5, 500],
    [0.95, 950],
    [0.99, 990],
  ] as const) {
    const read = quantileOf(second?.e2e ?? [], q) ?? 0;
    assert.ok(read >= exact && read <= exact * 1.25, `p${q * 100} ${read} for ${exact}`);
  }
  clock += 900_000;
  assert.deepEqual(window.seconds(), [], "15 minutes later the second has left the window");
  window.close();
});

test("the live view: tiles over the last 10 s, the per-second series, models, A/B arms and the cache hit ratio", () => {
  let clock = 1_000_000_000;
  const window = new LiveWindow(() => clock);
  for (let s = 0; s < 20; s++) {
    for (let i = 0; i < 10; i++)
      window.record(
        event({
          durationMs: 5,
          ttftMs: 2,
          publicModel: "chat",
          arm: i < 8 ? "up" : "local",
          cache: i % 2 ? "hit" : "miss",
        }),
      );
    window.record(event({ status: 502, model: "other", durationMs: 50 }));
    clock += 1000;
  }
  const now = Math.floor(clock / 1000) - 1;
  const view = liveView(window.seconds(), { ...idle, load: [{ model: "up", inFlight: 3, queued: 1 }] }, now);
  assert.equal(view.series.length, 900);
  assert.equal(view.series.at(-1)?.requests_per_s, 11);
  assert.equal(view.series.at(-30)?.requests_per_s, 0);
  assert.equal(view.series.at(-30)?.e2e_p95_ms, null);
  assert.equal(view.tiles.requests_per_s, 11);
  assert.equal(view.tiles.tokens_per_s, 55);
  assert.ok(Math.abs(view.tiles.error_ratio - 1 / 11) < 1e-9);
  assert.equal(view.tiles.cache_hit_ratio, 0.5);
  assert.ok((view.tiles.ttft_p95_ms ?? 0) >= 2 && (view.tiles.ttft_p95_ms ?? 0) <= 2.5);
  assert.equal(view.tiles.in_flight, 3);
  assert.equal(view.tiles.queue_depth, 1);
  const up = view.models.find((model) => model.model === "up");
  assert.ok(
    Math.abs((up?.requests_per_s ?? 0) - 200 / 60) < 1e-9,
    "20 s of 10 a second, over the last minute",
  );
  assert.equal(view.models.find((model) => model.model === "other")?.error_ratio, 1);
  assert.deepEqual(
    view.arms.map((arm) => [arm.route, arm.arm, arm.share]),
    [
      ["chat", "local", 0.2],
      ["chat", "up", 0.8],
    ],
  );
  window.close();
});

test("workers' windows and states sum: seconds by time, load by model, a breaker at its worst state", () => {
  let clock = 1_000_000_000;
  const a = new LiveWindow(() => clock);
  const b = new LiveWindow(() => clock);
  a.record(event());
  b.record(event());
  b.record(event({ model: "local" }));
  clock += 1000;
  b.record(event());
  const parts: LiveData[] = [
    {
      seconds: a.seconds(),
      state: {
        load: [{ model: "up", inFlight: 1, queued: 0 }],
        breakers: [{ route: "chat", target: "up", state: "closed" }],
        precisions: [{ model: "lm", precision: "q8_0" }],
      },
    },
    {
      seconds: b.seconds(),
      state: {
        load: [{ model: "up", inFlight: 2, queued: 4 }],
        breakers: [{ route: "chat", target: "up", state: "open" }],
        precisions: [{ model: "lm", precision: "q8_0" }],
      },
    },
  ];
  const merged = mergeLiveData(parts);
  assert.deepEqual(
    merged.seconds.map((second) => [
      second.requests,
      second.models.up?.requests,
      second.models.local?.requests,
    ]),
    [
      [3, 2, 1],
      [1, 1, undefined],
    ],
  );
  assert.deepEqual(merged.state.load, [{ model: "up", inFlight: 3, queued: 4 }]);
  assert.deepEqual(merged.state.breakers, [{ route: "chat", target: "up", state: "open" }]);
  assert.equal(merged.state.precisions.length, 1);
  assert.deepEqual(mergeSeconds([]), []);
  a.close();
  b.close();
});
