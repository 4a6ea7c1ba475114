import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { calibrationOf } from "../../src/bench/quality/calibration.js";
import { classificationBootstrap } from "../../src/bench/quality/paired-quality.js";
import { mcnemar, pairedBootstrap, wilsonInterval } from "../../src/bench/quality/paired-statistics.js";
import {
  contains,
  exactMatch,
  jsonValid,
  quasiExactMatch,
  regex,
  rougeL,
  tokenF1,
} from "../../src/bench/quality/reference-metrics.js";

/** mulberry32, written out again here so the bootstrap is checked against a computation of the test's own. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function choose(n: number, k: number): bigint {
  let result = 1n;
  for (let i = 1; i <= k; i++) result = (result * BigInt(n - k + i)) / BigInt(i);
  return result;
}

describe("paired statistics equal reference computations", () => {
  test("Wilson 95% interval: the closed form, and known values", () => {
    // 8 of 10: the interval is 0.4902 … 0.9433 (Newcombe 1998, Table I method 3 rounds to these).
    const { low, high } = wilsonInterval(8, 10);
    assert.ok(Math.abs(low - 0.4902) < 1e-4 && Math.abs(high - 0.9433) < 1e-4, `${low} ${high}`);
    assert.deepEqual(wilsonInterval(0, 0), { low: 0, high: 1 });
    assert.ok(wilsonInterval(0, 20).low === 0 && wilsonInterval(20, 20).high === 1);
  });

  test("McNemar: exact binomial up to 25 discordant pairs, χ² with continuity correction above", () => {
    // b = 2, c = 9: exact two-sided p = 2 · Σ_{i≤2} C(11, i) / 2^11.
    const first = [...Array(2).fill(true), ...Array(9).fill(false), ...Array(30).fill(true)];
    const second = [...Array(2).fill(false), ...Array(9).fill(true), ...Array(30).fill(true)];
    const small = mcnemar(first, second);
    const exact = (2 * Number(choose(11, 0) + choose(11, 1) + choose(11, 2))) / 2 ** 11;
    assert.equal(small.method, "exact");
    assert.ok(Math.abs(small.p_value - exact) < 1e-12);
    // b = 10, c = 30: χ² = (|10 − 30| − 1)² / 40 = 9.025; p = P(χ²₁ ≥ 9.025) = 0.002663 (R: pchisq(9.025, 1, lower=F)).
    const a = [...Array(10).fill(true), ...Array(30).fill(false)];
    const b = [...Array(10).fill(false), ...Array(30).fill(true)];
    const large = mcnemar(a, b);
    assert.equal(large.method, "chi_squared");
    assert.ok(Math.abs(large.chi_squared - 9.025) < 1e-12);
    assert.ok(Math.abs(large.p_value - 0.0026635) < 2e-6, `${large.p_value}`);
  });

  test("the seeded paired bootstrap equals a resampling loop written here, and repeats", () => {
    const x = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const y = Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? 1 : 0));
    const mean = (values: number[], indices: ArrayLike<number>) => {
      let sum = 0;
      for (let i = 0; i < indices.length; i++) sum += values[indices[i] as number] as number;
      return sum / indices.length;
    };
    const ours = pairedBootstrap(50, (indices) => mean(x, indices) - mean(y, indices), {
      resamples: 2000,
      seed: 7,
    });
    const random = mulberry32(7);
    const differences: number[] = [];
    for (let r = 0; r < 2000; r++) {
      const indices = Array.from({ length: 50 }, () => Math.floor(random() * 50));
      differences.push(mean(x, indices) - mean(y, indices));
    }
    differences.sort((p, q) => p - q);
    const at = (q: number) => {
      const position = (differences.length - 1) * q;
      const below = Math.floor(position);
      return (
        (differences[below] as number) +
        ((differences[below + 1] as number) - (differences[below] as number)) * (position - below)
      );
    };
    assert.ok(Math.abs(ours.difference - (17 / 50 - 10 / 50)) < 1e-12);
    assert.ok(Math.abs(ours.low - at(0.025)) < 1e-12 && Math.abs(ours.high - at(0.975)) < 1e-12);
    const again = pairedBootstrap(50, (indices) => mean(x, indices) - mean(y, indices), {
      resamples: 2000,
      seed: 7,
    });
    assert.deepEqual(again, ours);
  });

  test("the classification bootstrap recomputes macro F1 on each resample: identical answers give exactly 0", () => {
    const answers = ["a", "b", "a", "c", "b"].map((label, i) => ({
      label,
      prediction: i === 3 ? "a" : label,
    }));
    const same = classificationBootstrap(answers, answers, { resamples: 500 });
    assert.deepEqual([same.macro_f1.low, same.macro_f1.high, same.accuracy.difference], [0, 0, 0]);
    const worse = answers.map((answer) => ({ label: answer.label }));
    const better = classificationBootstrap(answers, worse, { resamples: 500 });
    assert.ok(Math.abs(better.accuracy.difference - 0.8) < 1e-12);
    assert.ok(better.macro_f1.low > 0 && better.macro_f1.high <= 1);
  });

  test("Brier score and ECE (10 bins) equal a hand computation", () => {
    const answers = [
      { label: "spam", scores: { spam: 0.9, ham: 0.1 } },
      { label: "ham", scores: { spam: 0.8, ham: 0.2 } },
      { label: "ham", scores: { spam: 0.3, ham: 0.7 } },
      { label: "spam", scores: { spam: 0.55, ham: 0.45 } },
    ];
    const calibration = calibrationOf(answers);
    // Brier: ((0.1²+0.1²) + (0.8²+0.8²) + (0.3²+0.3²) + (0.45²+0.45²)) / 4.
    const brier = (2 * (0.01 + 0.64 + 0.09 + 0.2025)) / 4;
    // Bins of the top probability: 0.9 → (0.8,0.9] right; 0.8 → (0.7,0.8] wrong; 0.7 → (0.6,0.7] right;
    // 0.55 → (0.5,0.6] right. ECE = Σ |acc − conf| / 4.
    const ece = (Math.abs(1 - 0.9) + Math.abs(0 - 0.8) + Math.abs(1 - 0.7) + Math.abs(1 - 0.55)) / 4;
    assert.ok(Math.abs((calibration?.brier ?? 0) - brier) < 1e-12);
    assert.ok(Math.abs((calibration?.ece ?? 0) - ece) < 1e-12);
  });
});

describe("reference metrics", () => {
  const item = (references: string[], match?: string) => ({ references, ...(match && { match }) });
  test("exact and quasi-exact match (SQuAD normalisation)", () => {
    assert.equal(exactMatch(" Paris ", item(["Paris"])), 1);
    assert.equal(exactMatch("paris", item(["Paris"])), 0);
    assert.equal(quasiExactMatch("The  Paris!", item(["paris"])), 1);
    assert.equal(quasiExactMatch("Paris, France", item(["Lyon", "paris france"])), 1);
  });
  test("token F1 is SQuAD's bag-of-tokens F1, best over references", () => {
    // "the cat sat" vs "a cat sat down": normalised [cat, sat] vs [cat, sat, down]: P 1, R 2/3, F1 0.8.
    assert.ok(Math.abs(tokenF1("the cat sat", item(["a cat sat down"])) - 0.8) < 1e-12);
    assert.equal(tokenF1("dog", item(["cat", "dog"])), 1);
    assert.equal(tokenF1("", item(["cat"])), 0);
  });
  test("ROUGE-L is the LCS F-measure over lower-cased word tokens", () => {
    // LCS of [police, killed, the, gunman] and [police, kill, the, gunman] is 3: P = R = 3/4.
    assert.ok(Math.abs(rougeL("police killed the gunman", item(["police kill the gunman"])) - 0.75) < 1e-12);
    // [the, gunman, police] vs [police, kill, the, gunman]: LCS 2 ("the gunman"): P 2/3, R 1/2 → 4/7.
    assert.ok(Math.abs(rougeL("the gunman police", item(["police kill the gunman"])) - 4 / 7) < 1e-12);
  });
  test("contains, regex and JSON validity", () => {
    assert.equal(contains("It was the Pequod, a whaler.", item(["pequod"])), 1);
    assert.equal(contains("Pequods", item(["pequod"])), 0);
    assert.equal(regex("order #12345", item([], "#\\d{5}")), 1);
    assert.equal(regex("order #12", item([], "#\\d{5}")), 0);
    assert.equal(jsonValid(' {"a": 1} ', item([])), 1);
    assert.equal(jsonValid("{a: 1}", item([])), 0);
  });
});
