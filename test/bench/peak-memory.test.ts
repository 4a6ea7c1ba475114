import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { measurePeakMemory, peakMemorySupported } from "../../src/bench/peak-memory.js";
import { parseConfig } from "../../src/config/load-config.js";
import { createEngines } from "../../src/engines/engines.js";
import { ModelRegistry } from "../../src/models/model-registry.js";
import { collect, eventually, repoRoot } from "../helpers.js";

const MB = 1024 * 1024;

/** The GC, without starting node with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

test("the high-water mark follows each request and is reset between them", async () => {
  assert.equal(peakMemorySupported(), true, "this Linux machine supports /proc/self/clear_refs");
  const transient = (megabytes: number) => async () => {
    const buffer = Buffer.alloc(megabytes * MB, 1); // touched, so resident
    return buffer.length;
  };
  const small = await measurePeakMemory(transient(8));
  const big = await measurePeakMemory(transient(120));
  collectGarbage(); // frees the big buffer, so the resident set really falls
  // V8 hands a freed buffer's memory back on a background thread, after the collection: waited for, so what
  // follows tests the mark's reset, not that thread's speed (a slow hour failed it).
  assert.ok(
    await eventually(() => process.memoryUsage.rss() < big.peakRssBytes - 80 * MB, 10_000),
    `the big buffer's memory was not given back (${process.memoryUsage.rss() / MB} MB resident)`,
  );
  const smallAgain = await measurePeakMemory(transient(8));
  assert.ok(big.growthBytes > 100 * MB, `big request grew ${big.growthBytes / MB} MB`);
  assert.ok(small.growthBytes < 40 * MB, `small request grew ${small.growthBytes / MB} MB`);
  // Had the mark not been reset, the small request after the big one would report the big one's peak.
  assert.ok(
    smallAgain.peakRssBytes < big.peakRssBytes - 60 * MB,
    `${smallAgain.peakRssBytes / MB} vs ${big.peakRssBytes / MB} MB`,
  );
});

const engines = createEngines();
after(() => engines.close());

test("a request with a longer context takes more memory on a real model", async () => {
  const registry = new ModelRegistry(
    parseConfig(
      {
        models: [
          {
            id: "m",
            task: "generate",
            engine: "llamacpp",
            variants: { f16: "models/lm-base-f16.gguf" },
            parallel: 1,
            context_size: 2048,
          },
        ],
      },
      repoRoot,
      "test",
    ),
  );
  const model = await engines.load(registry.resolve("m"));
  const run = (prompt: string) => () => collect(model.generate({ prompt, maxTokens: 4, temperature: 0 }));
  const short = await measurePeakMemory(run("Whale, n."));
  const long = await measurePeakMemory(run("The whale surfaced near the ship. ".repeat(200)));
  // ~1,600 more tokens of f16 KV cache (3 kB a token) and a bigger compute batch become resident.
  assert.ok(
    long.growthBytes > short.growthBytes + 2 * MB,
    `long ${long.growthBytes / MB} MB, short ${short.growthBytes / MB} MB`,
  );
});
