import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openTarget } from "../../src/bench/bench-target.js";
import { buildReport } from "../../src/bench/compare.js";
import { extractionSchema } from "../../src/bench/prompted-extractor.js";
import { benchmarkTarget, type LoadPlan } from "../../src/bench/run-benchmark.js";
import { type Workload, withQualityTask } from "../../src/bench/workload.js";
import { createEngines } from "../../src/engines/engines.js";
import { defaultRegistry } from "../helpers.js";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";

/** Two documents; the first's gold is found whole by the mock's answer, the second's not at all. */
const WORKLOAD: Workload = withQualityTask(
  {
    name: "two documents",
    items: [
      {
        text: "Ahab sailed from Nantucket.",
        entities: [
          { start: 0, end: 4, type: "PER" },
          { start: 17, end: 26, type: "LOC" },
        ],
      },
      { text: "Congress met in 1865.", entities: [{ start: 0, end: 8, type: "ORG" }] },
    ],
  },
  (index) => `row ${index + 1}`,
);
const TYPES = ["LOC", "ORG", "PER"];
const plan: LoadPlan = {
  strategy: { kind: "concurrent", concurrency: 1 },
  constraints: { requests: 2, warmupRequests: 0 },
  settings: { maxTokens: 16, temperature: 0 },
};

/** The mock's answer: the first document's entities, plus one the second document does not hold. */
function answerFor(body: Record<string, unknown>): string {
  const asked = JSON.stringify(body);
  return asked.includes("Nantucket")
    ? JSON.stringify({
        entities: [
          { text: "Ahab", type: "PER" },
          { text: "Nantucket", type: "LOC" },
        ],
      })
    : JSON.stringify({ entities: [{ text: "Boston", type: "LOC" }] });
}

describe("a generative target on an entity workload: asked for JSON entities, held to a schema, scored", async () => {
  const registry = await defaultRegistry();
  const engines = createEngines();
  let openAi: MockUpstream;
  let gemini: MockUpstream;
  before(async () => {
    openAi = await startMockUpstream({ answerFor });
    gemini = await startMockUpstream({ answerFor }, { wire: "gemini" });
  });
  after(async () => {
    await openAi.close();
    await gemini.close();
    await engines.close();
  });

  test("an OpenAI-format endpoint gets json_schema, a Gemini one responseSchema; answers mapped onto the text", async () => {
    for (const [upstream, api] of [
      [openAi, "openai"],
      [gemini, "gemini"],
    ] as const) {
      const target = await openTarget(upstream.url, { registry, engines, model: "m", api });
      const report = await benchmarkTarget(target, WORKLOAD, plan);
      const body = upstream.received.at(-1) as Record<string, unknown>;
      if (api === "openai")
        assert.deepEqual(body.response_format, {
          type: "json_schema",
          json_schema: { name: "answer", schema: extractionSchema(TYPES), strict: true },
        });
      else {
        const config = body.generationConfig as Record<string, unknown>;
        assert.equal(config.responseMimeType, "application/json");
        assert.ok(config.responseSchema, JSON.stringify(config));
      }
      const entities = report.metrics.entities;
      assert.ok(entities, api);
      // Found: Ahab and Nantucket (2 of 3 gold); named but not in its document: Boston (a false positive).
      assert.deepEqual(entities.strict, { precision: 2 / 3, recall: 2 / 3, f1: 2 / 3 }, api);
      assert.equal(entities.hallucinated_entity_rate, 1 / 3);
      assert.equal(entities.format_failure_rate, 0);
      assert.equal(report.task, "tag");
    }
  });

  test("an answer that is not the JSON asked for is a format failure; the tagger beside it is compared by document", async () => {
    openAi.behaviour = { pieces: ["Ahab", " and Nantucket"], ttftMs: 0, itlMs: 0 };
    const free = await benchmarkTarget(
      await openTarget(openAi.url, { registry, engines, model: "m" }),
      WORKLOAD,
      plan,
    );
    assert.equal(free.metrics.entities?.format_failure_rate, 1);
    assert.equal(free.metrics.entities?.strict.f1, 0);
    const tagger = await benchmarkTarget(
      await openTarget("ner-encoder:int8", { registry, engines }),
      WORKLOAD,
      plan,
    );
    const report = buildReport([tagger, free], plan);
    const [comparison] = report.comparisons;
    assert.ok(comparison?.bootstrap?.entity_f1, JSON.stringify(comparison));
    // Where the two found different entities, the gold and both answers as TYPE text lists.
    const golds = ["PER Ahab; LOC Nantucket", "ORG Congress"];
    for (const item of comparison.disagreements?.items ?? []) {
      assert.equal(item.gold, golds[item.index]);
      assert.equal(item.target, "");
      assert.notEqual(item.baseline, "");
    }
    const { win = 0, tie = 0, loss = 0 } = comparison.win_tie_loss ?? {};
    assert.equal(win + tie + loss, 2);
  });
});
