import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { accuracyOf } from "../../src/bench/quality/classification-metrics.js";
import { mcnemar } from "../../src/bench/quality/paired-statistics.js";
import { createEngines } from "../../src/engines/engines.js";
import { defaultRegistry, readSpamDev } from "../helpers.js";

/** n choose k as an exact BigInt, for an independent exact binomial test. */
function choose(n: number, k: number): bigint {
  let result = 1n;
  for (let i = 1; i <= k; i++) result = (result * BigInt(n - k + i)) / BigInt(i);
  return result;
}

describe("accuracy, F1 and McNemar on the bundled spam data match an independent computation", async () => {
  const registry = await defaultRegistry();
  const engines = createEngines();
  after(() => engines.close());
  const rows = readSpamDev();

  test("fp32 against int8, and against a deliberately worse classifier", async () => {
    const predict = async (precision: string) => {
      const model = await engines.load(registry.resolve(`spam-encoder:${precision}`));
      return (await model.classify(rows.map((row) => row.text))).map((result) => result.label);
    };
    const fp32 = await predict("fp32");
    const int8 = await predict("int8");
    // A classifier that calls everything ham.
    const allHam = rows.map(() => "ham");

    for (const predictions of [fp32, int8, allHam]) {
      const report = accuracyOf(rows.map((row, i) => ({ label: row.label, prediction: predictions[i] })));
      // Independently: a confusion matrix by hand.
      let tp = 0;
      let fp = 0;
      let fn = 0;
      let tn = 0;
      rows.forEach((row, i) => {
        const spam = predictions[i] === "spam";
        if (spam && row.label === "spam") tp++;
        else if (spam) fp++;
        else if (row.label === "spam") fn++;
        else tn++;
      });
      assert.equal(report.total, 646);
      assert.equal(report.correct, tp + tn);
      assert.ok(Math.abs(report.accuracy - (tp + tn) / 646) < 1e-12);
      const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
      const recall = tp / (tp + fn);
      const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
      assert.ok(Math.abs((report.per_class.spam?.f1 ?? -1) - f1) < 1e-12);
      assert.ok(Math.abs((report.per_class.spam?.recall ?? -1) - recall) < 1e-12);
      assert.equal(report.per_class.spam?.support, 197);
      assert.equal(report.per_class.ham?.support, 449);
    }
    assert.ok(accuracyOf(rows.map((row, i) => ({ label: row.label, prediction: fp32[i] }))).accuracy >= 0.97);

    for (const [first, second] of [
      [fp32, int8],
      [fp32, allHam],
    ] as const) {
      const firstCorrect = rows.map((row, i) => first[i] === row.label);
      const secondCorrect = rows.map((row, i) => second[i] === row.label);
      const result = mcnemar(firstCorrect, secondCorrect);
      const b = firstCorrect.filter((correct, i) => correct && !secondCorrect[i]).length;
      const c = firstCorrect.filter((correct, i) => !correct && secondCorrect[i]).length;
      assert.deepEqual([result.only_first_correct, result.only_second_correct], [b, c]);
      const n = b + c;
      assert.ok(
        Math.abs(result.chi_squared - (n === 0 ? 0 : Math.max(0, (Math.abs(b - c) - 1) ** 2 / n))) < 1e-12,
      );
      let tail = 0n;
      for (let k = 0; k <= Math.min(b, c); k++) tail += choose(n, k);
      const exact = n === 0 ? 1 : Math.min(1, (2 * Number((tail * 10n ** 18n) / 2n ** BigInt(n))) / 1e18);
      assert.ok(Math.abs(result.p_value - exact) < 1e-9, `p ${result.p_value} vs ${exact}`);
    }
    // fp32 and int8 agree almost everywhere; everything-is-ham is far worse.
    assert.ok(
      mcnemar(
        rows.map((row, i) => fp32[i] === row.label),
        rows.map((row, i) => int8[i] === row.label),
      ).p_value > 0.05,
    );
    assert.ok(
      mcnemar(
        rows.map((row, i) => fp32[i] === row.label),
        rows.map((row, i) => allHam[i] === row.label),
      ).p_value < 1e-10,
    );
  });
});
