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
      ["ner-encoder", "tag", "onnx", "int8"],
    ],
  );
  assert.equal(
    (config.models[0] as { variants?: Record<string, string> } | undefined)?.variants?.f16,
    join(repoRoot, "models/lm-base-f16.gguf"),
  );
  assert.deepEqual(config.defaults, {
    generate: "lm-base",
    classify: "spam-encoder",
    embed: "spam-encoder",
    tag: "ner-encoder",
  });
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

test("routes: the issue's example parses; bad references, names, rules and policies fail naming the key", () => {
  const upstreams = [
    {
      id: "up-a",
      task: "generate",
      engine: "openai",
      base_url: "http://127.0.0.1:9101/v1",
      upstream_model: "m",
    },
    {
      id: "up-g",
      task: "generate",
      engine: "gemini",
      base_url: "http://127.0.0.1:9102",
      upstream_model: "gemini-2.5-flash",
      api_key_env: "GEMINI_API_KEY",
    },
    { id: "lm-base", task: "generate", engine: "llamacpp", variants: { q8_0: gguf } },
    {
      id: "enc",
      task: "classify",
      engine: "openai",
      base_url: "http://127.0.0.1:9103/v1",
      upstream_model: "c",
    },
  ];
  const chat = {
    name: "chat",
    targets: [
      { model: "up-a", weight: 90 },
      { model: "up-g", weight: 10 },
    ],
    sticky_key: "header:x-user-id",
    fallback: ["lm-base"],
    retry: { attempts: 2 },
    breaker: { failures: 5, half_open_after_ms: 2000 },
    timeout_ms: { first_token: 2000, total: 30000 },
  };
  const config = parseConfig({ models: upstreams, routes: [chat] }, repoRoot, "test.yaml");
  assert.equal(config.routes[0]?.retry.attempts, 2);
  assert.equal(config.routes[0]?.timeout_ms.first_token, 2000);

  const withRoute = (route: Record<string, unknown>) => ({
    models: upstreams,
    routes: [{ ...chat, ...route }],
  });
  rejects(
    withRoute({ fallback: ["lm-huge"] }),
    /routes\[0\] \(chat\)\.fallback\[0\]: unknown model 'lm-huge'/,
  );
  rejects(withRoute({ name: "up-a" }), /routes\[0\] \(up-a\)\.name: 'up-a' is already a model id/);
  rejects(
    withRoute({ fallback: ["enc"] }),
    /fallback\[0\]: 'enc' is a classify model; this route serves generate/,
  );
  rejects(withRoute({ sticky_key: "cookie:x" }), /sticky_key: must be 'header:NAME' or 'field:user'/);
  rejects(
    withRoute({ specialists: [{ model: "lm-base", match: "(" }] }),
    /specialists\[0\]\.match: Invalid regular/,
  );
  rejects(withRoute({ specialists: [{ model: "lm-base" }] }), /give a 'match' rule, a 'classifier', or both/);
  rejects(
    withRoute({ specialists: [{ model: "lm-base", classifier: { model: "up-a", label: "spam" } }] }),
    /classifier\.model: 'up-a' is not a classify model/,
  );
  rejects(
    withRoute({ breaker: { failures: 3, failure_rate: 0.5 } }),
    /breaker: give either 'failures' or 'failure_rate'/,
  );
  rejects(withRoute({ targets: [] }), /routes\[0\] \(chat\)\.targets: Too small/);
  rejects({ models: upstreams, routes: [chat, chat] }, /duplicate route name 'chat'/);
});
