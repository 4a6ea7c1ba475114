import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { AutoTokenizer, env } from "@huggingface/transformers";
import { type EntitySpan, entityMetrics } from "../../../src/bench/quality/entity-metrics.js";
import { UnsupportedTaskError } from "../../../src/core/errors.js";
import type { TaggedEntity } from "../../../src/core/types.js";
import { createEngines } from "../../../src/engines/engines.js";
import { alignTokens, type PieceTokenizer } from "../../../src/engines/onnx/token-offsets.js";
import { defaultRegistry, repoRoot } from "../../helpers.js";

const testSplit = readFileSync(join(repoRoot, "data/ner/test.jsonl"), "utf8")
  .split("\n")
  .filter(Boolean)
  .map((line) => JSON.parse(line) as { text: string; entities: EntitySpan[] });

/** An entity's text, by code points: what its offsets must pick out. */
function spelled(text: string, entity: TaggedEntity): string {
  return Array.from(text).slice(entity.start, entity.end).join("");
}

const MULTIBYTE = [
  "Café owner José Martinez flew from São Paulo to New York on March 4, 2002.",
  "😀😀 President Lincoln wrote to Congress from Washington on December 1, 1862, about $5 million dollars.",
  "東京 and 北京: Microsoft Corp. paid $3,000,000 to John Smith in London on 12 Sep 2002 🚀.",
];

describe("ner-encoder: token classification on ONNX Runtime", async () => {
  const registry = await defaultRegistry();
  const engines = createEngines();
  after(() => engines.close());

  test("each token's span is read off the tokenizer's own pieces, exact for accents, emoji and CJK", async () => {
    env.allowRemoteModels = false;
    env.localModelPath = "/";
    const tokenizer = await AutoTokenizer.from_pretrained(join(repoRoot, "models/ner-encoder"));
    for (const text of [...MULTIBYTE, " leading space", "tabs\tand\nnewlines  "]) {
      const { ids, spans } = alignTokens(tokenizer as unknown as PieceTokenizer, text, "ner-encoder");
      assert.deepEqual([tokenizer.bos_token_id, ...ids], tokenizer.encode(text));
      // Pieces cover the text in order, each span within the text and after the one before.
      let end = 0;
      for (const span of spans) {
        assert.ok(span.start >= 0 && span.end <= text.length && span.start <= span.end);
        assert.ok(span.end >= end);
        end = span.end;
      }
      // Spaces are the word boundaries pieces leave out; every other character is some piece's.
      const covered = spans
        .filter((span, index) => span.end > span.start && spans[index - 1]?.end !== span.end)
        .map((span) => text.slice(span.start, span.end))
        .join("");
      assert.equal(covered, text.replaceAll(" ", ""), text);
    }
  });

  test("offsets count code points and pick out each entity's text exactly", async () => {
    const model = await engines.load(registry.resolve("ner-encoder:fp32"));
    const results = await model.tag(MULTIBYTE);
    const found = results.flatMap((result) => result.entities);
    assert.ok(found.length >= 6, JSON.stringify(results));
    results.forEach((result, index) => {
      for (const entity of result.entities)
        assert.equal(spelled(MULTIBYTE[index] as string, entity), entity.text, JSON.stringify(entity));
    });
    // An emoji is one code point (two UTF-16 units): an entity after two of them starts where Python counts,
    // two before where JavaScript's string index would put it.
    const afterEmoji = results[1]?.entities[0];
    assert.ok(afterEmoji, JSON.stringify(results[1]));
    assert.equal(afterEmoji.start, (MULTIBYTE[1] as string).indexOf(afterEmoji.text) - 2);
  });

  for (const precision of ["fp16", "int8"])
    test(`${precision}: strict entity F1 on the test split within 0.01 of fp32`, async () => {
      const gold = testSplit.map((row) => row.entities);
      const texts = testSplit.map((row) => row.text);
      const f1 = async (variant: string) => {
        const model = await engines.load(registry.resolve(`ner-encoder:${variant}`));
        return entityMetrics(
          gold,
          (await model.tag(texts)).map((result) => result.entities),
        ).strict.f1;
      };
      const reference = await f1("fp32");
      const variant = await f1(precision);
      assert.ok(reference > 0.3, `fp32 strict F1 ${reference}`);
      assert.ok(Math.abs(variant - reference) <= 0.01, `${precision} ${variant} vs fp32 ${reference}`);
    });

  test("batched and window-split tagging equal one text at a time (fp32: padding is masked out)", async () => {
    // int8 is left out: its activations are quantized per batch tensor, so a batch's other rows move its scores.
    const model = await engines.load(registry.resolve("ner-encoder:fp32"));
    const texts = testSplit.slice(0, 24).map((row) => row.text);
    const long = Array.from({ length: 30 }, () => MULTIBYTE[1]).join(" ");
    const together = await model.tag([...texts, long]);
    for (const [index, text] of texts.entries()) {
      const alone = (await model.tag([text]))[0]?.entities ?? [];
      const batched = together[index]?.entities ?? [];
      assert.deepEqual(
        batched.map(({ score: _, ...entity }) => entity),
        alone.map(({ score: _, ...entity }) => entity),
      );
      for (const [i, entity] of batched.entries())
        assert.ok(Math.abs(entity.score - (alone[i]?.score ?? 0)) < 1e-4);
    }
    // A text longer than max_length (256 tokens) is tagged window by window: entities past the first window too.
    const lastEntity = together.at(-1)?.entities.at(-1);
    assert.ok(lastEntity && lastEntity.start > 1000, JSON.stringify(lastEntity));
  });

  test("a tagger refuses to classify; a classifier and a language model refuse to tag", async () => {
    const tagger = await engines.load(registry.resolve("ner-encoder:int8"));
    await assert.rejects(tagger.classify(["x"]), UnsupportedTaskError);
    const classifier = await engines.load(registry.resolve("spam-encoder:int8"));
    await assert.rejects(classifier.tag(["x"]), /cannot tag/);
  });
});
