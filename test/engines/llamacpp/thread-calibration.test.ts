import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { getLlama } from "node-llama-cpp";
import { parseConfig } from "../../../src/config/load-config.js";
import { createEngines } from "../../../src/engines/engines.js";
import { calibrateThreads, candidateThreadCounts } from "../../../src/engines/llamacpp/thread-calibration.js";
import { ModelRegistry } from "../../../src/models/model-registry.js";
import { repoRoot } from "../../helpers.js";

test("candidate thread counts: powers of two up to the cores, and the core count", () => {
  assert.deepEqual(candidateThreadCounts(1), [1]);
  assert.deepEqual(candidateThreadCounts(2), [1, 2]);
  assert.deepEqual(candidateThreadCounts(6), [1, 2, 4, 6]);
  assert.deepEqual(candidateThreadCounts(16), [1, 2, 4, 8, 16]);
});

describe("calibration", async () => {
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: 0 });
  after(() => llama.dispose());

  test("measures each candidate once, keeps the fastest, and remembers it per machine and model", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "infergate-calibration-"));
    const path = join(repoRoot, "models/lm-small-q8_0.gguf");
    const model = await llama.loadModel({ modelPath: path });
    try {
      const first = await calibrateThreads(model, path, llama.cpuMathCores, cacheDir);
      assert.equal(first.cached, false);
      assert.ok(first.tookMs > 0);
      const speeds = Object.entries(first.tokensPerSecond);
      assert.ok(speeds.length >= 1);
      const fastest = speeds.reduce((best, entry) => (entry[1] > best[1] ? entry : best));
      assert.equal(String(first.threads), fastest[0]);
      const second = await calibrateThreads(model, path, llama.cpuMathCores, cacheDir);
      assert.deepEqual(second, { ...first, tookMs: 0, cached: true });
      const saved = JSON.parse(readFileSync(join(cacheDir, "thread-calibration.json"), "utf8"));
      assert.equal(Object.keys(saved).length, 1);
      assert.match(Object.keys(saved)[0] ?? "", /lm-small-q8_0\.gguf/);
    } finally {
      await model.dispose();
    }
  });
});

test("a thread count from the config or the caller overrides calibration", async () => {
  const model = { task: "generate", engine: "llamacpp", variants: { q8_0: "models/lm-small-q8_0.gguf" } };
  const registry = new ModelRegistry(
    parseConfig(
      {
        models: [
          { ...model, id: "fixed", threads: 1 },
          { ...model, id: "auto" },
        ],
      },
      repoRoot,
      "t",
    ),
  );
  await using engines = createEngines();
  const fixed = await engines.load(registry.resolve("fixed"));
  assert.deepEqual([fixed.runtime.threads, fixed.runtime.threads_source], [1, "config"]);
  const overridden = await engines.load(registry.resolve("auto"), { threads: 1 });
  assert.deepEqual([overridden.runtime.threads, overridden.runtime.threads_source], [1, "option"]);
  const calibrated = await engines.load(registry.resolve("auto"));
  assert.equal(calibrated.runtime.threads_source, "calibrated");
});
