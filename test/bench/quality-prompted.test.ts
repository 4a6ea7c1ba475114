import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { getLlama, type Token } from "node-llama-cpp";
import { openTarget } from "../../src/bench/bench-target.js";
import { buildReport } from "../../src/bench/compare.js";
import { labelSchema } from "../../src/bench/prompted-classifier.js";
import { benchmarkTarget, type LoadPlan } from "../../src/bench/run-benchmark.js";
import { type Workload, withQualityTask } from "../../src/bench/workload.js";
import { createEngines } from "../../src/engines/engines.js";
import { defaultRegistry, repoRoot } from "../helpers.js";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";

const PLAN: LoadPlan = {
  strategy: { kind: "concurrent", concurrency: 2 },
  constraints: { warmupRequests: 0 },
  settings: { maxTokens: 16, temperature: 0 },
};
const planFor = (workload: Workload, extra: Partial<LoadPlan> = {}): LoadPlan => ({
  ...PLAN,
  constraints: { requests: workload.items.length },
  ...extra,
});

describe("loglik scoring on llama.cpp", async () => {
  const registry = await defaultRegistry();
  const engines = createEngines();
  after(() => engines.close());

  test("equals an independent sum of log-softmax over full distributions, and evaluates the prompt once", async () => {
    const model = await engines.load(registry.resolve("lm-small:q8_0"));
    const prompt =
      "Classify the text as one of: ham, spam.\n\nText: Subject: WIN a FREE cruise now\n\nLabel:";
    const labels = [" spam", " ham", " not spam at all"];
    const scored = await model.scoreContinuations(prompt, labels);

    // Independently: node-llama-cpp directly, each prompt + label evaluated from scratch in one batch.
    const llama = await getLlama({ gpu: false, build: "never" });
    const raw = await llama.loadModel({ modelPath: join(repoRoot, "models/lm-small-q8_0.gguf") });
    const context = await raw.createContext({ contextSize: 512, threads: 1 });
    const sequence = context.getSequence();
    const withBos = (text: string) => [raw.tokens.bos as Token, ...raw.tokenize(text)];
    const promptTokens = withBos(prompt);
    for (const [i, label] of labels.entries()) {
      const whole = withBos(prompt + label);
      await sequence.clearHistory();
      const steps = await sequence.controlledEvaluate(
        whole.slice(0, -1).map((token, position) =>
          position >= promptTokens.length - 1
            ? [
                token,
                {
                  generateNext: {
                    probabilities: true,
                    options: { temperature: 1, topK: 0, topP: 1, minP: 0 },
                  },
                },
              ]
            : token,
        ),
      );
      let logprob = 0;
      for (let position = promptTokens.length - 1; position < whole.length - 1; position++)
        logprob += Math.log(steps[position]?.next.probabilities?.get(whole[position + 1] as Token) ?? 0);
      assert.ok(
        Math.abs((scored.logprobs[i] as number) - logprob) < 1e-4,
        `${label}: ${scored.logprobs[i]} vs ${logprob}`,
      );
      assert.equal(scored.tokens[i], whole.length - promptTokens.length);
    }
    assert.ok((scored.tokens[2] as number) > 1, "a multi-token label");
    // The prompt once, then each label but its last token: llama.cpp's own decode count.
    const expected = scored.promptTokens + scored.tokens.reduce((sum, n) => sum + n - 1, 0);
    assert.equal(scored.evaluatedTokens, expected);
    await context.dispose();
    await raw.dispose();
  });

  test("constrained scoring on the local model never yields an invalid label", async () => {
    const target = await openTarget("lm-small:q8_0", { registry, engines });
    const workload = withQualityTask(
      {
        name: "mixed",
        items: Array.from({ length: 12 }, (_, i) => ({
          text: i % 2 ? `Subject: meeting notes ${i}` : `Subject: WIN $${i}000 now`,
          label: i % 2 ? "ham" : "spam",
        })),
      },
      String,
    );
    const report = await benchmarkTarget(
      target,
      workload,
      planFor(workload, {
        classification: {
          prompt: { template: "{text}\nLabel:", labels: ["ham", "spam"], shots: [] },
          scoring: "constrained",
        },
        machinePricePerHour: 3.6,
      }),
    );
    const cost = (3.6 / (report.metrics.requests_per_s * 3600)) * 1000;
    assert.ok(Math.abs((report.metrics.cost_per_1k_items_usd ?? 0) - cost) < 1e-12);
    assert.ok(
      Math.abs((report.metrics.quality_per_usd ?? 0) - (report.metrics.accuracy?.accuracy ?? 0) / cost) <
        1e-6,
    );
    assert.equal(report.metrics.accuracy?.scoring, "constrained");
    assert.equal(report.metrics.accuracy?.invalid_rate, 0);
    assert.equal(report.metrics.accuracy?.total, 12);
    for (const item of report.items ?? [])
      assert.ok(["ham", "spam"].includes(item.parsed as string), item.output);
  });
});

/**
 * Two OpenAI-format test servers answer by fixed rules, so every figure can be computed here independently:
 * "rule A" answers right on spam, says "Ham." on most ham and something unparseable on every fifth item; "rule B"
 * answers "spam" always.
 */
describe("a prompted endpoint classifier, scored and compared", () => {
  const rows = Array.from({ length: 40 }, (_, i) => ({
    text: `email ${i}: ${i % 3 === 0 ? "WIN money" : "lunch?"}`,
    label: i % 3 === 0 ? "spam" : "ham",
  }));
  const workload = withQualityTask({ name: "rules", items: rows }, String);
  const itemOf = (body: Record<string, unknown>) => {
    const prompt = String(body.prompt ?? JSON.stringify(body.contents ?? ""));
    return Number(/email\s+(\d+)/i.exec(prompt)?.[1]);
  };
  const ruleA = (i: number) =>
    i % 5 === 4 ? "I cannot tell" : i % 3 === 0 ? "Spam!" : i % 7 === 1 ? "spam" : "Ham.";
  let a: MockUpstream;
  let b: MockUpstream;
  let gemini: MockUpstream;
  const registryPromise = defaultRegistry();
  const engines = createEngines();
  before(async () => {
    a = await startMockUpstream({ answerFor: (body) => ruleA(itemOf(body)) });
    b = await startMockUpstream({ answerFor: () => "spam" });
    gemini = await startMockUpstream({ answerFor: () => '{"label": "ham"}' }, { wire: "gemini" });
  });
  after(async () => {
    await engines.close();
    for (const upstream of [a, b, gemini]) await upstream.close();
  });

  test("accuracy, invalid rate, per-class F1, confusion, McNemar, bootstrap and Wilson equal this test's own", async () => {
    const registry = await registryPromise;
    const open = (url: string) => openTarget(url, { registry, engines, model: "m" });
    const first = await benchmarkTarget(await open(a.url), workload, planFor(workload));
    const second = await benchmarkTarget(await open(b.url), workload, planFor(workload));
    assert.equal(first.metrics.accuracy?.scoring, "generate");

    const predicted = rows.map((_, i) => {
      const answer = ruleA(i);
      return answer === "I cannot tell" ? undefined : answer.toLowerCase().replace(/[^a-z]/g, "");
    });
    const right = rows.filter((row, i) => predicted[i] === row.label).length;
    const invalid = predicted.filter((p) => p === undefined).length;
    const accuracy = first.metrics.accuracy;
    assert.ok(accuracy);
    assert.equal(accuracy.correct, right);
    assert.equal(accuracy.invalid_rate, invalid / 40);
    assert.equal(accuracy.accuracy_given_valid, right / (40 - invalid));
    for (const label of ["ham", "spam"]) {
      const tp = rows.filter((row, i) => row.label === label && predicted[i] === label).length;
      const precision = tp / predicted.filter((p) => p === label).length;
      const recall = tp / rows.filter((row) => row.label === label).length;
      assert.ok(
        Math.abs((accuracy.per_class[label]?.f1 ?? 0) - (2 * precision * recall) / (precision + recall)) <
          1e-12,
      );
    }
    const cell = (gold: string, p: string | undefined) =>
      rows.filter((row, i) => row.label === gold && predicted[i] === p).length;
    assert.deepEqual(accuracy.confusion, {
      labels: ["ham", "spam", "(invalid)"],
      matrix: [
        [cell("ham", "ham"), cell("ham", "spam"), cell("ham", undefined)],
        [cell("spam", "ham"), cell("spam", "spam"), cell("spam", undefined)],
      ],
    });
    const z = 1.959963984540054;
    const p = right / 40;
    const center = (p + (z * z) / 80) / (1 + (z * z) / 40);
    assert.ok(
      Math.abs(
        accuracy.wilson_95.low -
          (center - (z * Math.sqrt((p * (1 - p)) / 40 + (z * z) / 6400)) / (1 + (z * z) / 40)),
      ) < 1e-12,
    );

    const report = buildReport([second, first], planFor(workload));
    const [comparison] = report.comparisons;
    const secondRight = rows.map((row) => row.label === "spam");
    const firstRight = rows.map((row, i) => predicted[i] === row.label);
    const onlyFirst = firstRight.filter((r, i) => r && !secondRight[i]).length;
    const onlySecond = firstRight.filter((r, i) => !r && secondRight[i]).length;
    assert.deepEqual(
      [comparison?.mcnemar?.only_first_correct, comparison?.mcnemar?.only_second_correct],
      [onlyFirst, onlySecond],
    );
    assert.deepEqual(comparison?.win_tie_loss, {
      win: onlyFirst,
      tie: 40 - onlyFirst - onlySecond,
      loss: onlySecond,
    });
    const bootstrap = comparison?.bootstrap?.accuracy;
    assert.ok(bootstrap);
    assert.ok(
      Math.abs(bootstrap.difference - (right - rows.filter((row) => row.label === "spam").length) / 40) <
        1e-12,
    );
    assert.ok(bootstrap.low <= bootstrap.difference && bootstrap.difference <= bootstrap.high);
    assert.match(report.verdicts[0] ?? "", /accura/);
  });

  test("constrained scoring sends the label enum: OpenAI response_format json_schema, Gemini responseSchema", async () => {
    const registry = await registryPromise;
    const constrained = {
      prompt: { template: "{text}", labels: ["ham", "spam"], shots: [] },
      scoring: "constrained" as const,
    };
    const small = withQualityTask({ name: "two", items: rows.slice(0, 2) }, String);
    a.received.length = 0;
    await benchmarkTarget(
      await openTarget(a.url, { registry, engines, model: "m" }),
      small,
      planFor(small, { classification: constrained }),
    );
    assert.deepEqual(a.received[0]?.response_format, {
      type: "json_schema",
      json_schema: { name: "answer", schema: labelSchema(["ham", "spam"]), strict: true },
    });
    const report = await benchmarkTarget(
      await openTarget(gemini.url, { registry, engines, model: "gemini-2.5-flash", api: "gemini" }),
      small,
      planFor(small, { classification: constrained }),
    );
    const config = gemini.received[0]?.generationConfig as Record<string, unknown>;
    assert.equal(config.responseMimeType, "application/json");
    assert.deepEqual(config.responseSchema, {
      type: "OBJECT",
      properties: { label: { type: "STRING", enum: ["ham", "spam"] } },
      propertyOrdering: ["label"],
      required: ["label"],
    });
    assert.equal(report.metrics.accuracy?.invalid_rate, 0);
  });

  test("logprobs scoring reads the labels from the first token's alternatives, OpenAI and Gemini alike", async () => {
    const registry = await registryPromise;
    // Alternatives by rule: " Sp" leads on spam items, " ham" on the rest; an unrelated token comes first on item 0.
    const top = (body: Record<string, unknown>) => {
      const i = itemOf(body);
      const spam = i % 3 === 0;
      return [
        ...(i === 0 ? [{ token: " The", logprob: -0.1 }] : []),
        { token: spam ? " Sp" : " ham", logprob: -0.2 },
        { token: spam ? " ham" : " spam", logprob: -2.5 },
      ];
    };
    const openai = await startMockUpstream({ answerFor: () => " x", logprobsFor: top });
    const google = await startMockUpstream({ answerFor: () => " x", logprobsFor: top }, { wire: "gemini" });
    try {
      const logprobs = {
        prompt: { template: "{text}", labels: ["ham", "spam"], shots: [] },
        scoring: "logprobs" as const,
      };
      for (const [url, api] of [
        [openai.url, "openai"],
        [google.url, "gemini"],
      ] as const) {
        const target = await openTarget(url, { registry, engines, model: "m", api });
        const report = await benchmarkTarget(
          target,
          workload,
          planFor(workload, { classification: logprobs }),
        );
        assert.equal(report.metrics.accuracy?.accuracy, 1, api);
        assert.equal(report.metrics.accuracy?.scoring, "logprobs");
        // softmax over the two labels' log-probabilities: e^-0.2 / (e^-0.2 + e^-2.5).
        const expected = Math.exp(-0.2) / (Math.exp(-0.2) + Math.exp(-2.5));
        assert.ok(Math.abs((report.items?.[1]?.scores?.ham ?? 0) - expected) < 1e-12, api);
        assert.ok(report.metrics.calibration, api);
      }
      assert.equal(openai.received[0]?.logprobs, 20);
      assert.equal(openai.received[0]?.max_tokens, 1);
      const config = google.received[0]?.generationConfig as Record<string, unknown>;
      assert.deepEqual([config.responseLogprobs, config.logprobs], [true, 20]);
    } finally {
      await openai.close();
      await google.close();
    }
  });

  test("robustness: the same items perturbed, quality and consistency against this test's own count", async () => {
    const registry = await registryPromise;
    // The rule reads the item number, which typos can break: an item whose number survives answers as before.
    const target = await openTarget(a.url, { registry, engines, model: "m" });
    const report = await benchmarkTarget(
      target,
      workload,
      planFor(workload, { perturb: { case: true, whitespace: true } }),
    );
    const robustness = report.metrics.robustness;
    assert.ok(robustness);
    assert.equal(robustness.perturbation, "case,whitespace");
    // Case and whitespace leave the item number and so the rule's answer unchanged: fully consistent, same accuracy.
    assert.equal(robustness.consistency, 1);
    assert.equal(robustness.items, 40);
    assert.equal(robustness.accuracy, report.metrics.accuracy?.accuracy);
    const truncated = await benchmarkTarget(
      target,
      workload,
      planFor(workload, { perturb: { truncate: 0.1 } }),
    );
    // Cut to a tenth, "email N:" loses its number: the mock answers item NaN's rule ("Ham.") for every item.
    const unchanged = rows.filter((_, i) => ruleA(i) === "Ham.").length;
    assert.equal(truncated.metrics.robustness?.consistency, unchanged / 40);
  });

  test("quality by input length: quartile buckets of estimated tokens, the same items for every target", async () => {
    const registry = await registryPromise;
    const report = await benchmarkTarget(
      await openTarget(b.url, { registry, engines, model: "m" }),
      workload,
      planFor(workload, { lengthBuckets: [0, 4, 6] }),
    );
    const byLength = report.metrics.quality_by_length;
    assert.equal(byLength?.metric, "accuracy");
    const estimate = (text: string) => Math.ceil(text.length / 4);
    const inBucket = (from: number, to: number | null) =>
      rows.filter((row) => estimate(row.text) >= from && (to === null || estimate(row.text) < to));
    for (const bucket of byLength?.buckets ?? []) {
      const items = inBucket(bucket.from, bucket.to);
      assert.equal(bucket.items, items.length);
      if (items.length > 0)
        assert.equal(bucket.value, items.filter((row) => row.label === "spam").length / items.length);
    }
    assert.deepEqual(
      byLength?.buckets.map((bucket) => [bucket.from, bucket.to]),
      [
        [0, 4],
        [4, 6],
        [6, null],
      ],
    );
  });

  test("a mode the target cannot do is refused, naming the ones it can", async () => {
    const registry = await registryPromise;
    const target = await openTarget(a.url, { registry, engines, model: "m" });
    await assert.rejects(
      benchmarkTarget(
        target,
        workload,
        planFor(workload, {
          classification: {
            prompt: { template: "{text}", labels: ["ham", "spam"], shots: [] },
            scoring: "loglik",
          },
        }),
      ),
      /--scoring loglik: .* it can constrained, generate, logprobs/,
    );
  });
});

describe("reference-scored generation against a rule-answering server", () => {
  test("exact, quasi-exact, token F1 and ROUGE-L means equal this test's own", async () => {
    const items = [
      { text: "capital of France?", references: ["Paris"] },
      { text: "who wrote Moby-Dick?", references: ["Herman Melville", "Melville"] },
      { text: "first words?", references: ["Call me Ishmael."] },
    ];
    const answers: Record<string, string> = {
      "capital of France?": "Paris",
      "who wrote Moby-Dick?": "the writer Melville",
      "first words?": "call me ishmael",
    };
    const upstream = await startMockUpstream({ answerFor: (body) => answers[String(body.prompt)] ?? "" });
    const engines = createEngines();
    try {
      const workload = withQualityTask({ name: "qa", items }, String);
      const target = await openTarget(upstream.url, {
        registry: await defaultRegistry(),
        engines,
        model: "m",
      });
      const report = await benchmarkTarget(target, workload, planFor(workload));
      // exact: 1, 0, 0; quasi-exact: 1, 0, 1; token F1: 1, [writer melville] vs [melville] = 2/3, 1;
      // ROUGE-L: 1, [the writer melville] vs [melville]: P 1/3, R 1 → 0.5, 1.
      assert.deepEqual(report.metrics.quality, {
        exact_match: 1 / 3,
        quasi_exact_match: 2 / 3,
        token_f1: (1 + 2 / 3 + 1) / 3,
        rouge_l: (1 + 0.5 + 1) / 3,
      });
      // semantic_similarity with an embedder of the test's own (letter counts): the cosine to the closest
      // reference, and the share at or above the threshold.
      const letters = (text: string) => {
        const vector = new Float32Array(26);
        for (const char of text.toLowerCase()) {
          const code = char.charCodeAt(0) - 97;
          if (code >= 0 && code < 26) vector[code] = (vector[code] ?? 0) + 1;
        }
        return vector;
      };
      const cosine = (x: Float32Array, y: Float32Array) => {
        let dot = 0;
        let nx = 0;
        let ny = 0;
        x.forEach((value, i) => {
          dot += value * (y[i] ?? 0);
          nx += value * value;
          ny += (y[i] ?? 0) ** 2;
        });
        return dot / Math.sqrt(nx * ny);
      };
      const semantic = { embed: async (texts: readonly string[]) => texts.map(letters), threshold: 0.9 };
      const embedded = await benchmarkTarget(target, workload, planFor(workload, { semantic }));
      const similarities = items.map((item) =>
        Math.max(
          ...item.references.map((reference) =>
            cosine(letters(answers[item.text] ?? ""), letters(reference)),
          ),
        ),
      );
      const mean = similarities.reduce((sum, value) => sum + value, 0) / 3;
      assert.ok(Math.abs((embedded.metrics.quality?.semantic_similarity ?? 0) - mean) < 1e-6);
      assert.equal(
        embedded.metrics.quality?.semantic_similarity_pass,
        similarities.filter((value) => value >= 0.9).length / 3,
      );
    } finally {
      await engines.close();
      await upstream.close();
    }
  });
});
