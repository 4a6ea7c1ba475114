import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidRequestError } from "../../src/core/errors.js";
import { validateGenerateRequest } from "../../src/core/validate-generate-request.js";

const valid = { prompt: "hi", maxTokens: 8, temperature: 0 };

test("accepts a plain request", () => {
  assert.doesNotThrow(() => validateGenerateRequest(valid));
});

for (const [name, patch, param] of [
  ["empty prompt", { prompt: "" }, "prompt"],
  ["zero max_tokens", { maxTokens: 0 }, "max_tokens"],
  ["negative max_tokens", { maxTokens: -3 }, "max_tokens"],
  ["fractional max_tokens", { maxTokens: 1.5 }, "max_tokens"],
  ["temperature above 2", { temperature: 2.5 }, "temperature"],
  ["NaN temperature", { temperature: Number.NaN }, "temperature"],
  ["top_p of 0", { topP: 0 }, "top_p"],
  ["negative top_k", { topK: -1 }, "top_k"],
  ["negative seed", { seed: -1 }, "seed"],
  ["nine stop strings", { stop: ["a", "b", "c", "d", "e", "f", "g", "h", "i"] }, "stop"],
  ["an empty stop string", { stop: [""] }, "stop"],
] as const) {
  test(`rejects ${name} naming '${param}'`, () => {
    assert.throws(
      () => validateGenerateRequest({ ...valid, ...patch }),
      (error: unknown) =>
        error instanceof InvalidRequestError && error.param === param && error.status === 400,
    );
  });
}
