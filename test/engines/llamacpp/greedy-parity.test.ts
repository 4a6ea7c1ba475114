import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { createEngines } from "../../../src/engines/engines.js";
import { collect, defaultRegistry, LLAMA_RUNTIMES, repoRoot } from "../../helpers.js";

interface Reference {
  prompt: string;
  prompt_ids: number[];
  greedy_ids: number[];
  greedy_text: string;
}

const expected = JSON.parse(readFileSync(`${repoRoot}models/expected_greedy.json`, "utf8")) as {
  models: Record<string, Reference[]>;
};

for (const runtime of LLAMA_RUNTIMES)
  describe(`f16 greedy output reproduces the float32 PyTorch reference (${runtime})`, async () => {
    const registry = await defaultRegistry(runtime);
    const engines = createEngines();
    after(() => engines.close());

    for (const [id, references] of Object.entries(expected.models)) {
      test(`${id}: same prompt tokens (BOS included) and all 24 greedy tokens for ${references.length} prompts`, async () => {
        const model = await engines.load(registry.resolve(`${id}:f16`));
        assert.equal(references.length, 5);
        for (const reference of references) {
          assert.deepEqual(model.tokenize(reference.prompt), reference.prompt_ids, reference.prompt);
          const result = await collect(
            model.generate({
              prompt: reference.prompt,
              maxTokens: reference.greedy_ids.length,
              temperature: 0,
            }),
          );
          assert.deepEqual(result.tokenIds, reference.greedy_ids, reference.prompt);
          assert.equal(result.text.trim(), reference.greedy_text.trim(), reference.prompt);
          assert.deepEqual(result.done, {
            usage: { promptTokens: reference.prompt_ids.length, completionTokens: 24 },
            finishReason: "length",
          });
        }
      });
    }
  });
