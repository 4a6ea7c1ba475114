/**
 * Scores every ner-encoder variant on the silver dev and test splits through infergate's own engine (so the
 * offsets and decoding measured are the ones served), for the model card.
 *   npx tsx models/build/ner/evaluate.ts
 * Writes models/build/ner/out/eval-metrics.json and prints a table.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { entityMetrics, type EntitySpan } from "../../../src/bench/quality/entity-metrics.js";
import { loadConfig } from "../../../src/config/load-config.js";
import { createEngines } from "../../../src/engines/engines.js";
import { ModelRegistry } from "../../../src/models/model-registry.js";

const root = new URL("../../../", import.meta.url).pathname;
const registry = new ModelRegistry(await loadConfig(join(root, "config/default.yaml")));
const engines = createEngines();
const splits = Object.fromEntries(
  ["dev", "test"].map((split) => [
    split,
    readFileSync(join(root, `data/ner/${split}.jsonl`), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { text: string; entities: EntitySpan[] }),
  ]),
);
const results: Record<string, unknown> = {};
for (const precision of ["fp32", "fp16", "int8"]) {
  await using model = await engines.load(registry.resolve(`ner-encoder:${precision}`));
  for (const [split, rows] of Object.entries(splits)) {
    const started = performance.now();
    const tagged = await model.tag(rows.map((row) => row.text));
    const seconds = (performance.now() - started) / 1000;
    const metrics = entityMetrics(
      rows.map((row) => row.entities),
      tagged.map((result) => result.entities),
    );
    results[`${precision}/${split}`] = { ...metrics, documents_per_s: rows.length / seconds };
    console.log(
      precision.padEnd(5),
      split.padEnd(5),
      `strict F1 ${metrics.strict.f1.toFixed(3)} P ${metrics.strict.precision.toFixed(3)} R ${metrics.strict.recall.toFixed(3)}`,
      `partial F1 ${metrics.partial.f1.toFixed(3)} macro ${metrics.macro_f1.toFixed(3)}`,
      Object.entries(metrics.per_type)
        .map(([type, scores]) => `${type} ${scores.f1.toFixed(2)}`)
        .join(" "),
      `${(rows.length / seconds).toFixed(0)} docs/s`,
    );
  }
}
writeFileSync(join(root, "models/build/ner/out/eval-metrics.json"), JSON.stringify(results, null, 1));
