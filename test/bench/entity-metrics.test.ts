import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { entityMetrics } from "../../src/bench/quality/entity-metrics.js";
import { bioEntities, type TokenPrediction } from "../../src/engines/onnx/bio-entities.js";

/**
 * Strict IOB2 as seqeval's strict mode reads it, written here from the definition: a chunk is a B-X followed by
 * I-X tokens; an I-X that does not continue a chunk of type X is no chunk. Chunks are [type, first, last] token
 * indexes; F1 is micro over exact chunk matches.
 */
function referenceChunks(tags: readonly string[]): string[] {
  const chunks: string[] = [];
  let open: { type: string; first: number; last: number } | undefined;
  const close = () => {
    if (open) chunks.push(`${open.type}:${open.first}-${open.last}`);
    open = undefined;
  };
  tags.forEach((tag, index) => {
    const [prefix, type = ""] = tag.split("-");
    if (prefix === "B") {
      close();
      open = { type, first: index, last: index };
    } else if (prefix === "I" && open?.type === type) open.last = index;
    else close();
  });
  close();
  return chunks;
}

function referenceF1(gold: readonly string[][], predicted: readonly string[][]): number {
  let tp = 0;
  let goldCount = 0;
  let predictedCount = 0;
  gold.forEach((tags, index) => {
    const goldChunks = referenceChunks(tags);
    const predictedChunks = referenceChunks(predicted[index] ?? []);
    goldCount += goldChunks.length;
    predictedCount += predictedChunks.length;
    tp += predictedChunks.filter((chunk) => goldChunks.includes(chunk)).length;
  });
  const precision = predictedCount === 0 ? 1 : tp / predictedCount;
  const recall = goldCount === 0 ? 1 : tp / goldCount;
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

/** Tags on the words of a text made of single-letter words ("a b c …"), through the engine's decoder. */
function entitiesOf(tags: readonly string[]) {
  const text = tags.map((_, index) => String.fromCharCode(97 + (index % 26))).join(" ");
  const predictions: TokenPrediction[] = tags.map((label, index) => ({
    span: { start: 2 * index, end: 2 * index + 1 },
    label,
    score: 0.9,
  }));
  return bioEntities(text, predictions);
}

const CASES: { name: string; gold: string[][]; predicted: string[][] }[] = [
  {
    name: "adjacent entities of one type",
    gold: [["B-PER", "I-PER", "B-PER", "O"]],
    predicted: [["B-PER", "I-PER", "I-PER", "O"]],
  },
  {
    name: "an I- without a B- is no entity",
    gold: [["O", "B-LOC", "I-LOC", "O"]],
    predicted: [["O", "I-LOC", "I-LOC", "O"]],
  },
  {
    name: "an I- of another type breaks the entity",
    gold: [["B-ORG", "I-ORG", "I-ORG"]],
    predicted: [["B-ORG", "I-LOC", "I-ORG"]],
  },
  {
    name: "nested boundaries: an entity inside a longer gold one",
    gold: [["B-ORG", "I-ORG", "I-ORG", "O"]],
    predicted: [["O", "O", "B-LOC", "O"]],
  },
  {
    name: "an empty document and one with nothing to find",
    gold: [[], ["O", "O"], ["B-DATE", "I-DATE"]],
    predicted: [[], ["B-MONEY", "O"], ["B-DATE", "I-DATE"]],
  },
];

describe("entity-level metrics: the engine's strict IOB2 decoding and span scores against a reference", () => {
  for (const { name, gold, predicted } of CASES)
    test(name, () => {
      const metrics = entityMetrics(gold.map(entitiesOf), predicted.map(entitiesOf));
      assert.equal(metrics.strict.f1, referenceF1(gold, predicted));
    });

  test("partial counts an overlap of the same type; untyped an exact span of any type", () => {
    const gold = [[{ start: 0, end: 10, type: "ORG" }]];
    const overlapping = [[{ start: 5, end: 10, type: "ORG" }]];
    const retyped = [[{ start: 0, end: 10, type: "LOC" }]];
    assert.equal(entityMetrics(gold, overlapping).strict.f1, 0);
    assert.equal(entityMetrics(gold, overlapping).partial.f1, 1);
    assert.equal(entityMetrics(gold, overlapping).untyped.f1, 0);
    assert.equal(entityMetrics(gold, retyped).untyped.f1, 1);
    assert.equal(entityMetrics(gold, retyped).partial.f1, 0);
  });

  test("per type: precision, recall, F1 and support; macro F1 is their mean", () => {
    const gold = [
      [
        { start: 0, end: 4, type: "PER" },
        { start: 10, end: 16, type: "LOC" },
      ],
      [{ start: 0, end: 4, type: "PER" }],
    ];
    const predicted = [
      [
        { start: 0, end: 4, type: "PER" },
        { start: 20, end: 24, type: "LOC" },
      ],
      [],
    ];
    const metrics = entityMetrics(gold, predicted);
    assert.deepEqual(metrics.per_type.PER, { precision: 1, recall: 0.5, f1: 2 / 3, support: 2 });
    assert.deepEqual(metrics.per_type.LOC, { precision: 0, recall: 0, f1: 0, support: 1 });
    assert.equal(metrics.macro_f1, 1 / 3);
    assert.deepEqual(metrics.strict, { precision: 0.5, recall: 1 / 3, f1: 0.4 });
  });
});
