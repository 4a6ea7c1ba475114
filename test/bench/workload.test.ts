import assert from "node:assert/strict";
import { after, test } from "node:test";
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

test("synthetic specs are parsed and checked", () => {
  assert.deepEqual(parseSynthetic("input=64,spread=8,seed=2", 5), {
    inputTokens: 64,
    spread: 8,
    count: 5,
    seed: 2,
  });
  assert.deepEqual(parseSynthetic("input=64", 5), { inputTokens: 64, spread: 0, count: 5 });
  for (const bad of ["input=0", "spread=2", "input=10,spread=10", "input=10,output=5"]) {
    assert.throws(() => parseSynthetic(bad, 1), /--synthetic: expected input=N/, bad);
  }
});
