import assert from "node:assert/strict";
import { after, test } from "node:test";
import { bundledHeldOutDocuments } from "../../../src/bench/workload.js";
import { UnsupportedTaskError } from "../../../src/core/errors.js";
import { createEngines } from "../../../src/engines/engines.js";
import { defaultRegistry } from "../../helpers.js";

const engines = createEngines();
after(() => engines.close());

test("perplexity on held-out text tracks precision and size, as the model card measured", async () => {
  const registry = await defaultRegistry();
  const documents = bundledHeldOutDocuments().slice(0, 12);
  const score = async (model: string) =>
    (await engines.load(registry.resolve(model))).perplexity(documents, 300);
  const f16 = await score("lm-base:f16");
  const q8 = await score("lm-base:q8_0");
  const q4 = await score("lm-base:q4_0");
  const small = await score("lm-small:q8_0");
  // The card: 12.57 / 12.57 / 13.15, lm-small 16.24 (on its own choice of 12 documents).
  assert.equal(f16.tokens, 3069);
  assert.ok(f16.perplexity > 11 && f16.perplexity < 14, `f16 ${f16.perplexity}`);
  assert.ok(
    Math.abs(q8.perplexity / f16.perplexity - 1) < 0.005,
    `q8_0 ${q8.perplexity} vs f16 ${f16.perplexity}`,
  );
  assert.ok(q4.perplexity > f16.perplexity * 1.02, `q4_0 ${q4.perplexity}`);
  assert.ok(small.perplexity > f16.perplexity * 1.2, `lm-small ${small.perplexity}`);
  await assert.rejects(
    (await engines.load(registry.resolve("spam-encoder"))).perplexity(documents, 300),
    UnsupportedTaskError,
  );
});
