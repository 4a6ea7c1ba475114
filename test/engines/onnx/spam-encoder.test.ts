import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { InvalidRequestError, ModelLoadError, UnsupportedTaskError } from "../../../src/core/errors.js";
import { createEngines } from "../../../src/engines/engines.js";
import { collect, defaultRegistry, readSpamDev } from "../../helpers.js";

describe("spam-encoder on ONNX Runtime", async () => {
  const registry = await defaultRegistry();
  const engines = createEngines();
  const rows = readSpamDev();
  after(() => engines.close());

  for (const precision of ["fp32", "fp16", "int8"]) {
    test(`${precision}: accuracy on spam_dev ≥ 0.97`, async () => {
      const model = await engines.load(registry.resolve(`spam-encoder:${precision}`));
      const results = await model.classify(rows.map((row) => row.text));
      assert.equal(results.length, rows.length);
      const correct = results.filter((result, i) => result.label === rows[i]?.label).length;
      const accuracy = correct / rows.length;
      assert.ok(accuracy >= 0.97, `${precision} accuracy ${accuracy.toFixed(4)}`);
      for (const result of results) {
        assert.ok(Math.abs((result.scores.ham ?? 0) + (result.scores.spam ?? 0) - 1) < 1e-6);
        assert.equal(result.score, result.scores[result.label]);
      }
    });
  }

  test("batched results equal one-at-a-time results, in input order", async () => {
    const model = await engines.load(registry.resolve("spam-encoder:fp32"));
    const texts = rows.slice(0, 40).map((row) => row.text);
    const batched = await model.classify(texts);
    for (let i = 0; i < texts.length; i += 7) {
      const [alone] = await model.classify([texts[i] ?? ""]);
      assert.equal(alone?.label, batched[i]?.label);
      assert.ok(Math.abs((alone?.score ?? 0) - (batched[i]?.score ?? 0)) < 1e-4, `row ${i}`);
    }
  });

  test("embeddings are L2-normalized mean-pooled vectors; similar texts are closer", async () => {
    const model = await engines.load(registry.resolve("spam-encoder:fp32"));
    const { vectors, promptTokens } = await model.embed([
      "Subject: meeting tomorrow\n\nCan we move the meeting to 3pm?",
      "Subject: meeting moved\n\nThe meeting is now at 3pm tomorrow.",
      "Subject: WIN CASH NOW\n\nClick here to claim your FREE prize!!!",
    ]);
    const [a, b, c] = vectors;
    assert.ok(a && b && c);
    assert.ok(promptTokens > 30 && promptTokens < 100, `${promptTokens} tokens`);
    assert.equal(a.length, 192);
    const dot = (x: Float32Array, y: Float32Array) =>
      x.reduce((sum, value, i) => sum + value * (y[i] ?? 0), 0);
    assert.ok(Math.abs(dot(a, a) - 1) < 1e-5);
    assert.ok(dot(a, b) > dot(a, c), `meeting·meeting ${dot(a, b)} vs meeting·spam ${dot(a, c)}`);
    // The pooled vector ignores padding: the same text alone and batched with a longer one agree.
    const [alone] = (await model.embed(["Subject: meeting tomorrow\n\nCan we move the meeting to 3pm?"]))
      .vectors;
    assert.ok(alone && dot(alone, a) > 0.9999);
  });

  test("bad input fails clearly and the model keeps serving", async () => {
    const model = await engines.load(registry.resolve("spam-encoder:int8"));
    const before = await model.classify([rows[0]?.text ?? ""]);
    await assert.rejects(model.classify([]), InvalidRequestError);
    await assert.rejects(model.classify(["ok", ""]), /input\[1\] must be a non-empty string/);
    await assert.rejects(
      collect(model.generate({ prompt: "x", maxTokens: 1, temperature: 0 })),
      UnsupportedTaskError,
    );
    const [result] = await model.classify([rows[0]?.text ?? ""]);
    assert.deepEqual(result, before[0]);
    assert.equal(result?.label, rows[0]?.label);
  });

  test("a missing ONNX file fails with ModelLoadError naming it", async () => {
    const { parseConfig } = await import("../../../src/config/load-config.js");
    const { ModelRegistry } = await import("../../../src/models/model-registry.js");
    const { repoRoot } = await import("../../helpers.js");
    const config = parseConfig(
      { models: [{ id: "enc", task: "classify", engine: "onnx", variants: { q4: "models/spam-encoder" } }] },
      repoRoot,
      "test",
    );
    await assert.rejects(
      engines.load(new ModelRegistry(config).resolve("enc")),
      (error: unknown) => error instanceof ModelLoadError && /model_q4\.onnx/.test(error.message),
    );
  });
});
