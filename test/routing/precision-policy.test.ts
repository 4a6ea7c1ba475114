import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../src/config/load-config.js";
import { ModelLoadError } from "../../src/core/errors.js";
import { ModelRegistry, modelLabel } from "../../src/models/model-registry.js";
import { PrecisionPolicy } from "../../src/routing/precision-policy.js";
import { type PrecisionSwitchEvent, topics } from "../../src/telemetry/events.js";
import { eventually, repoRoot } from "../helpers.js";
import { authorized, startGateway } from "../server/gateway-harness.js";

const MB = 1024 * 1024;
const lmBase = {
  id: "lm-base",
  task: "generate",
  engine: "llamacpp",
  variants: {
    f16: "models/lm-base-f16.gguf",
    q8_0: "models/lm-base-q8_0.gguf",
    q4_0: "models/lm-base-q4_0.gguf",
  },
  default_precision: "f16",
};

describe("precision policy", () => {
  test("under memory pressure a model steps f16 → q8_0 → q4_0 while every request keeps succeeding", async () => {
    let rss = 200 * MB;
    const switches: PrecisionSwitchEvent[] = [];
    const stop = topics.precisionSwitch.subscribe((event) => switches.push(event));
    const running = await startGateway({
      raw: { models: [lmBase], server: { memory: { limit_mb: 1000, check_interval_ms: 50 } } },
      rss: () => rss,
    });
    try {
      const served: string[] = [];
      const ask = async () => {
        const response = await fetch(`${running.url}/v1/completions`, {
          method: "POST",
          headers: authorized(),
          body: JSON.stringify({ model: "lm-base", prompt: "Whale, n.", max_tokens: 4, temperature: 0 }),
        });
        assert.equal(response.status, 200);
        served.push(((await response.json()) as { model: string }).model);
      };
      await ask();
      assert.deepEqual(served, ["lm-base:f16"]);

      rss = 950 * MB; // past the 90% high-water mark of 1000 MB
      const deadline = performance.now() + 20_000;
      while (served.at(-1) !== "lm-base:q4_0" && performance.now() < deadline) await ask();
      assert.equal(served.at(-1), "lm-base:q4_0");
      assert.deepEqual([...new Set(served)], ["lm-base:f16", "lm-base:q8_0", "lm-base:q4_0"]);
      assert.deepEqual(
        switches.map(({ from, to, reason }) => `${from}→${to} ${reason}`),
        ["f16→q8_0 memory_pressure", "q8_0→q4_0 memory_pressure"],
      );

      // The variants it left are closed once idle; nothing smaller is left, so it stays.
      const onlyQ4 = () =>
        running.engines
          .loaded()
          .map((model) => modelLabel(model.ref))
          .join() === "lm-base:q4_0";
      assert.ok(await eventually(onlyQ4), "the left variants were not closed");
      const metrics = await (await fetch(`${running.url}/metrics`, { headers: authorized() })).text();
      assert.match(metrics, /infergate_serving_precision\{model="lm-base",precision="q4_0"\} 1/);
      assert.match(
        metrics,
        /infergate_precision_switches_total\{model="lm-base",from="f16",to="q8_0",reason="memory_pressure"\} 1/,
      );
      // A pinned precision is still served as asked.
      const pinned = await fetch(`${running.url}/v1/completions`, {
        method: "POST",
        headers: authorized(),
        body: JSON.stringify({ model: "lm-base:q8_0", prompt: "Whale, n.", max_tokens: 4 }),
      });
      assert.equal(((await pinned.json()) as { model: string }).model, "lm-base:q8_0");
    } finally {
      stop();
      await running.close();
    }
  });

  test("a variant that would cross the limit is never loaded: warm-up takes the largest that fits", async () => {
    const rss = 100 * MB;
    // 100 MB + f16 (25 MB) and + q8_0 (13 MB) cross 90% of 120 MB; q4_0 (8 MB) fits.
    const running = await startGateway({
      raw: { models: [lmBase], server: { memory: { limit_mb: 120 } } },
      rss: () => rss,
    });
    try {
      assert.deepEqual(
        running.engines.loaded().map((model) => modelLabel(model.ref)),
        ["lm-base:q4_0"],
      );
      const response = await fetch(`${running.url}/v1/completions`, {
        method: "POST",
        headers: authorized(),
        body: JSON.stringify({ model: "lm-base", prompt: "Whale, n.", max_tokens: 4 }),
      });
      assert.equal(((await response.json()) as { model: string }).model, "lm-base:q4_0");
    } finally {
      await running.close();
    }
  });

  test("a load that fails for lack of memory moves to the next smaller variant; other failures do not", () => {
    const config = parseConfig(
      { models: [lmBase], server: { memory: { limit_mb: 4096 } } },
      repoRoot,
      "test",
    );
    const registry = new ModelRegistry(config);
    const policy = new PrecisionPolicy(registry, config.server.memory, () => 0);
    const f16 = registry.resolve("lm-base:f16");
    const outOfMemory = Object.assign(new Error("not enough VRAM"), { name: "InsufficientMemoryError" });
    const smaller = policy.afterLoadFailure(f16, new ModelLoadError(f16.source, "x", { cause: outOfMemory }));
    assert.equal(smaller && modelLabel(smaller), "lm-base:q8_0");
    assert.equal(modelLabel(policy.resolve(registry.get("lm-base"))), "lm-base:q8_0");
    const q8 = registry.resolve("lm-base:q8_0");
    assert.equal(
      policy.afterLoadFailure(q8, new ModelLoadError(q8.source, "the file is truncated")),
      undefined,
    );
    assert.equal(
      modelLabel(policy.afterLoadFailure(q8, new Error("ggml: failed to allocate buffer")) ?? q8),
      "lm-base:q4_0",
    );
  });
});
