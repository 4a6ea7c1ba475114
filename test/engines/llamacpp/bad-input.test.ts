import assert from "node:assert/strict";
import {
  closeSync,
  copyFileSync,
  mkdtempSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parseConfig } from "../../../src/config/load-config.js";
import {
  InvalidRequestError,
  ModelLoadError,
  ModelNotFoundError,
  PromptTooLongError,
  UnknownPrecisionError,
  UnsupportedTaskError,
} from "../../../src/core/errors.js";
import { createEngines } from "../../../src/engines/engines.js";
import { ModelRegistry } from "../../../src/models/model-registry.js";
import { collect, repoRoot } from "../../helpers.js";

/** Broken copies of a real GGUF: cut short, garbage, empty, and one deleted after the config was read. */
function brokenModels(): { registry: ModelRegistry; deleted: string } {
  const dir = mkdtempSync(join(tmpdir(), "infergate-bad-"));
  const good = readFileSync(join(repoRoot, "models/lm-small-q8_0.gguf"));
  writeFileSync(join(dir, "truncated.gguf"), good.subarray(0, Math.floor(good.length * 0.6)));
  writeFileSync(join(dir, "garbage.gguf"), Buffer.from("this is not a gguf file at all, just text"));
  writeFileSync(join(dir, "empty.gguf"), "");
  // Valid header, corrupted tensor data region: llama.cpp loads it; it must not crash anything.
  copyFileSync(join(repoRoot, "models/lm-small-q8_0.gguf"), join(dir, "header-only.gguf"));
  const fd = openSync(join(dir, "header-only.gguf"), "r+");
  writeSync(fd, Buffer.from("GGUF\x63\x00\x00\x00"), 0, 8, 0); // unsupported GGUF version 99
  closeSync(fd);
  const deleted = join(dir, "deleted.gguf");
  writeFileSync(deleted, good);
  const model = (precision: string, file: string) => ({
    id: precision,
    task: "generate",
    engine: "llamacpp",
    variants: { [precision]: file },
    threads: 1,
    parallel: 1,
  });
  const config = parseConfig(
    {
      models: [
        model("q8_0", "truncated.gguf"),
        model("q4_0", "garbage.gguf"),
        model("f16", "empty.gguf"),
        model("bf16", "header-only.gguf"),
        model("f32", "deleted.gguf"),
        { ...model("q6_k", join(repoRoot, "models/lm-small-q8_0.gguf")), id: "good", context_size: 128 },
      ],
    },
    dir,
    "test",
  );
  return { registry: new ModelRegistry(config), deleted };
}

describe("bad input fails clearly, and the same process goes on serving", async () => {
  const { registry, deleted } = brokenModels();
  const engines = createEngines();
  after(() => engines.close());

  const healthy = async () => {
    const model = await engines.load(registry.resolve("good"));
    const result = await collect(model.generate({ prompt: "Whale, n.", maxTokens: 8, temperature: 0 }));
    assert.equal(result.done.usage.completionTokens, 8);
  };

  for (const [id, reason] of [
    ["q8_0", /truncated\.gguf: the file is truncated: \d+ of 3441280 bytes/],
    ["q4_0", /garbage\.gguf: .*GGUF magic/i],
    ["f16", /empty\.gguf: .*GGUF magic/i],
    ["bf16", /header-only\.gguf: .*version/i],
  ] as const) {
    test(`a broken GGUF (${id}) → ModelLoadError naming the file`, async () => {
      await assert.rejects(
        engines.load(registry.resolve(id)),
        (error: unknown) =>
          error instanceof ModelLoadError &&
          error.code === "IG_MODEL_LOAD_FAILED" &&
          reason.test(error.message),
      );
      await healthy();
    });
  }

  test("a model file that vanished after the config was read → ModelLoadError 'file not found'", async () => {
    const { rmSync } = await import("node:fs");
    rmSync(deleted);
    await assert.rejects(engines.load(registry.resolve("f32")), /deleted\.gguf: file not found/);
    await healthy();
  });

  test("unknown model id and unknown precision", async () => {
    assert.throws(() => registry.resolve("nope"), ModelNotFoundError);
    assert.throws(() => registry.resolve("good:q4_0"), UnknownPrecisionError);
    await healthy();
  });

  test("empty prompt, max_tokens ≤ 0, a prompt past the context → InvalidRequest / PromptTooLong", async () => {
    const model = await engines.load(registry.resolve("good"));
    for (const request of [
      { prompt: "", maxTokens: 8, temperature: 0 },
      { prompt: "hi", maxTokens: 0, temperature: 0 },
      { prompt: "hi", maxTokens: -5, temperature: 0 },
    ]) {
      await assert.rejects(collect(model.generate(request)), InvalidRequestError);
    }
    await assert.rejects(
      collect(model.generate({ prompt: "word ".repeat(400), maxTokens: 8, temperature: 0 })),
      (error: unknown) => error instanceof PromptTooLongError && error.status === 400,
    );
    await assert.rejects(model.classify(["x"]), UnsupportedTaskError);
    await healthy();
  });
});
