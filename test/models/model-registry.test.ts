import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { ModelNotFoundError, UnknownPrecisionError } from "../../src/core/errors.js";
import { defaultRegistry, repoRoot } from "../helpers.js";

test("resolves an id to its default precision, and id:precision to that variant", async () => {
  const registry = await defaultRegistry();
  const plain = registry.resolve("lm-base");
  assert.equal(plain.precision, "q8_0");
  assert.equal(plain.source, join(repoRoot, "models/lm-base-q8_0.gguf"));
  assert.equal(registry.resolve("lm-base:q4_0").source, join(repoRoot, "models/lm-base-q4_0.gguf"));
  assert.equal(registry.resolve("lm-base:q4_0", "f16").precision, "f16");
  assert.equal(registry.resolve("spam-encoder:fp32").source, join(repoRoot, "models/spam-encoder"));
});

test("unknown ids and precisions fail with coded errors that list what exists", async () => {
  const registry = await defaultRegistry();
  assert.throws(
    () => registry.resolve("lm-huge"),
    (error: unknown) =>
      error instanceof ModelNotFoundError &&
      error.code === "IG_MODEL_NOT_FOUND" &&
      error.status === 404 &&
      /known: lm-base, lm-small, spam-encoder/.test(error.message),
  );
  assert.throws(
    () => registry.resolve("lm-small:q4_0"),
    (error: unknown) =>
      error instanceof UnknownPrecisionError &&
      error.status === 400 &&
      /variants: f16, q8_0/.test(error.message),
  );
});

test("defaults per task come from the config", async () => {
  const registry = await defaultRegistry();
  assert.equal(registry.defaultFor("generate").id, "lm-base");
  assert.equal(registry.defaultFor("classify").id, "spam-encoder");
  assert.equal(registry.defaultFor("embed").id, "spam-encoder");
});
