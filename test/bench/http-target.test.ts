import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openTarget } from "../../src/bench/bench-target.js";
import { benchmarkTarget } from "../../src/bench/run-benchmark.js";
import { createEngines } from "../../src/engines/engines.js";
import { defaultRegistry } from "../helpers.js";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";

describe("an HTTP endpoint as a bench target, against a server that sleeps exact delays", () => {
  let upstream: MockUpstream;
  const engines = createEngines();
  before(async () => {
    // 5 chunks: the first after 60 ms, then one every 20 ms → TTFT 60, E2E 140, ITL 20.
    upstream = await startMockUpstream({ pieces: ["a", "b", "c", "d", "e"], ttftMs: 60, itlMs: 20 });
  });
  after(async () => {
    await engines.close();
    await upstream.close();
  });

  test("TTFT, ITL and E2E come out as the server's delays", async () => {
    const target = await openTarget(upstream.url, {
      registry: await defaultRegistry(),
      engines,
      model: "mock",
    });
    assert.equal(target.location, upstream.url);
    const report = await benchmarkTarget(
      target,
      { name: "t", items: [{ text: "hi" }] },
      {
        strategy: { kind: "concurrent", concurrency: 2 },
        constraints: { requests: 8, warmupRequests: 1 },
        settings: { maxTokens: 5, temperature: 0 },
        // Generous: this checks that goodput is reported for an endpoint (its arithmetic has its own test); a
        // 40 ms margin over the 60 ms TTFT was once missed on a loaded 2-core CI machine.
        slo: { ttft_ms: 250 },
      },
    );
    const { metrics } = report;
    assert.equal(metrics.requests, 8);
    assert.equal(metrics.errors, 0);
    assert.equal(metrics.mean_output_tokens, 5);
    assert.ok(metrics.ttft_ms.p50 >= 60 && metrics.ttft_ms.p50 < 75, `TTFT ${metrics.ttft_ms.p50}`);
    assert.ok(metrics.e2e_ms.p50 >= 140 && metrics.e2e_ms.p50 < 165, `E2E ${metrics.e2e_ms.p50}`);
    assert.ok(metrics.itl_ms.p50 >= 19 && metrics.itl_ms.p50 < 25, `ITL ${metrics.itl_ms.p50}`);
    assert.ok(
      metrics.chunk_gap_ms.p50 >= 19 && metrics.chunk_gap_ms.p50 < 25,
      `gap ${metrics.chunk_gap_ms.p50}`,
    );
    assert.equal(metrics.goodput?.good_fraction, 1);
  });
});
