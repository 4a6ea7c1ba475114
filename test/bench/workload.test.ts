import assert from "node:assert/strict";
import { after, test } from "node:test";
import { benchmarkTarget } from "../../src/bench/run-benchmark.js";
import { parseSynthetic, syntheticWorkload } from "../../src/bench/workload.js";
import { createEngines } from "../../src/engines/engines.js";
import { defaultRegistry } from "../helpers.js";

const engines = createEngines();
after(() => engines.close());

test("synthetic prompts have the chosen token lengths by the target's tokenizer, and repeat by seed", async () => {
  const model = await engines.load((await defaultRegistry()).resolve("lm-base"));
  const tokens = (text: string) => model.tokenize(text).length;
  const fixed = syntheticWorkload({ inputTokens: 128, spread: 0, count: 10 }, tokens);
  // The fewest words that reach the length: at most one word over.
  for (const item of fixed.items)
    assert.ok(tokens(item.text) >= 128 && tokens(item.text) < 128 + 12, `${tokens(item.text)}`);
  const spread = syntheticWorkload({ inputTokens: 256, spread: 64, count: 40, seed: 3 }, tokens);
  const lengths = spread.items.map((item) => tokens(item.text));
  assert.ok(
    Math.min(...lengths) >= 192 && Math.max(...lengths) < 330,
    `${Math.min(...lengths)}..${Math.max(...lengths)}`,
  );
  assert.ok(new Set(lengths).size > 10, "lengths are spread");
  assert.deepEqual(syntheticWorkload({ inputTokens: 256, spread: 64, count: 40, seed: 3 }, tokens), spread);
  assert.notDeepEqual(
    syntheticWorkload({ inputTokens: 256, spread: 64, count: 40, seed: 4 }, tokens),
    spread,
  );
});

test("synthetic output lengths are exact per item and reach the model as such", async () => {
  const model = await engines.load((await defaultRegistry()).resolve("lm-small"));
  const tokens = (text: string) => model.tokenize(text).length;
  const workload = syntheticWorkload(
    { inputTokens: 32, spread: 0, outputTokens: 20, outputSpread: 5, count: 12, seed: 9 },
    tokens,
  );
  const lengths = workload.items.map((item) => item.maxTokens ?? 0);
  assert.ok(
    lengths.every((length) => length >= 15 && length <= 25),
    lengths.join(","),
  );
  assert.ok(new Set(lengths).size > 3);
  const target = { name: "lm-small", task: "generate" as const, model, location: "in-process" };
  const report = await benchmarkTarget(target, workload, {
    strategy: { kind: "concurrent", concurrency: 2 },
    constraints: { requests: 12 },
    settings: { maxTokens: 64, temperature: 0 },
  });
  const expected = lengths.reduce((a, b) => a + b, 0) / lengths.length;
  assert.equal(report.metrics.mean_output_tokens, expected);
});

test("synthetic specs are parsed and checked", () => {
  assert.deepEqual(parseSynthetic("input=64,spread=8,seed=2", 5), {
    inputTokens: 64,
    spread: 8,
    count: 5,
    seed: 2,
  });
  assert.deepEqual(parseSynthetic("input=64", 5), { inputTokens: 64, spread: 0, count: 5 });
  assert.deepEqual(parseSynthetic("input=64,output=32,output_spread=8", 5), {
    inputTokens: 64,
    spread: 0,
    count: 5,
    outputTokens: 32,
    outputSpread: 8,
  });
  for (const bad of [
    "input=0",
    "spread=2",
    "input=10,spread=10",
    "input=10,outputs=5",
    "input=10,output=4,output_spread=4",
  ]) {
    assert.throws(() => parseSynthetic(bad, 1), /--synthetic: expected input=N/, bad);
  }
});
