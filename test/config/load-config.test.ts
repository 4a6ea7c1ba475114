import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfig, parseConfig } from "../../src/config/load-config.js";
import { ConfigError } from "../../src/core/errors.js";
import { repoRoot } from "../helpers.js";

const gguf = join(repoRoot, "models/lm-small-q8_0.gguf");
const model = { id: "m", task: "generate", engine: "llamacpp", variants: { q8_0: gguf } };

function rejects(raw: unknown, pattern: RegExp): void {
  assert.throws(
    () => parseConfig(raw, repoRoot, "test.yaml"),
    (error: unknown) => error instanceof ConfigError && pattern.test(error.message),
  );
}

test("the built-in config registers the bundled models with absolute paths", async () => {
  const config = await loadConfig();
  assert.deepEqual(
    config.models.map((m) => [m.id, m.task, m.engine, "variants" in m && m.default_precision]),
    [
      ["lm-base", "generate", "llamacpp", "q8_0"],
      ["lm-small", "generate", "llamacpp", "q8_0"],
      ["spam-encoder", "classify", "onnx", "int8"],
    ],
  );
  assert.equal(
    (config.models[0] as { variants?: Record<string, string> } | undefined)?.variants?.f16,
    join(repoRoot, "models/lm-base-f16.gguf"),
  );
  assert.deepEqual(config.defaults, { generate: "lm-base", classify: "spam-encoder", embed: "spam-encoder" });
});

test("applies defaults and picks the first variant when no default precision is given", () => {
  const config = parseConfig({ models: [model] }, repoRoot, "test.yaml");
  const [spec] = config.models;
  assert.equal(spec?.engine === "llamacpp" && spec.default_precision, "q8_0");
  assert.equal(spec?.engine === "llamacpp" && spec.parallel, 8);
  assert.equal(spec?.engine === "llamacpp" && spec.threads, "auto");
});

test("an unknown key fails naming its path and model id", () => {
  rejects({ models: [{ ...model, contxt_size: 5 }] }, /models\[0\] \(m\): Unrecognized key: "contxt_size"/);
  rejects({ models: [model], extra: 1 }, /\(root\): Unrecognized key: "extra"/);
});

test("a wrong type fails naming its path", () => {
  rejects(
    { models: [{ ...model, parallel: "eight" }] },
    /models\[0\] \(m\)\.parallel: Invalid input: expected number/,
  );
  rejects({ models: [{ ...model, engine: "tensorrt" }] }, /models\[0\] \(m\)\.engine/);
  rejects({ models: [{ ...model, variants: { q3_x: gguf } }] }, /models\[0\] \(m\)\.variants/);
});

test("a missing model file fails naming the variant and the path", () => {
  rejects(
    { models: [{ ...model, variants: { q8_0: "models/nope.gguf" } }] },
    /models\[0\] \(m\)\.variants\.q8_0: model file not found: .*models\/nope\.gguf/,
  );
});

test("duplicate ids, a default precision without a variant, and unknown defaults fail", () => {
  rejects({ models: [model, model] }, /models\[1\] \(m\)\.id: duplicate model id 'm'/);
  rejects(
    { models: [{ ...model, default_precision: "f16" }] },
    /default_precision: 'f16' is not among the variants/,
  );
  rejects({ models: [model], defaults: { generate: "other" } }, /defaults\.generate: unknown model 'other'/);
  rejects({}, /models: Invalid input: expected array/);
});

test("a YAML file resolves paths against its own folder; bad YAML and missing files fail clearly", async () => {
  const dir = mkdtempSync(join(tmpdir(), "infergate-config-"));
  const path = join(dir, "config.yaml");
  writeFileSync(path, `models:\n  - {id: m, task: generate, engine: llamacpp, variants: {q8_0: ${gguf}}}\n`);
  const config = await loadConfig(path);
  assert.equal((config.models[0] as { variants?: Record<string, string> } | undefined)?.variants?.q8_0, gguf);
  writeFileSync(path, "models: [unclosed\n");
  await assert.rejects(loadConfig(path), /invalid YAML/);
  await assert.rejects(
    loadConfig(join(dir, "absent.yaml")),
    /cannot read config file .*absent\.yaml: ENOENT/,
  );
});
