/**
 * bench:tagging — documents tagged per second by ner-encoder (fp32, int8) through infergate's engine, one
 * document per call and all in one call (the engine sorts them by length into batches of 16), beside transformers.js's own
 * token-classification pipeline on the same model (which gives no character offsets) and lm-base asked for the
 * entities as JSON (grammar-constrained), all on the same documents of the bundled test split, in one process.
 *
 *   npm run bench:tagging [-- --documents 200 --lm-documents 40]
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { env, pipeline } from "@huggingface/transformers";
import { extractionPrompt, extractionSchema } from "../src/bench/prompted-extractor.js";
import { loadConfig } from "../src/config/load-config.js";
import { createEngines } from "../src/engines/engines.js";
import { ModelRegistry } from "../src/models/model-registry.js";
import { writeResults } from "./bench-output.js";
import { root } from "./gateway-process.js";

const { values } = parseArgs({
  options: {
    documents: { type: "string", default: "200" },
    "lm-documents": { type: "string", default: "40" },
  },
});
const documents = readFileSync(join(root, "data/ner/test.jsonl"), "utf8")
  .split("\n")
  .filter(Boolean)
  .slice(0, Number(values.documents))
  .map((line) => (JSON.parse(line) as { text: string }).text);
const registry = new ModelRegistry(await loadConfig());
await using engines = createEngines();

async function perSecond(count: number, run: () => Promise<void>): Promise<number> {
  await run(); // warm: the first call pays for graph setup
  const started = performance.now();
  await run();
  return count / ((performance.now() - started) / 1000);
}

// transformers.js's own pipeline reads the same local files, offline, as infergate's engine does.
env.allowRemoteModels = false;
env.localModelPath = "/";
const figures: Record<string, number> = {};
for (const precision of ["fp32", "int8"]) {
  const model = await engines.load(registry.resolve(`ner-encoder:${precision}`));
  figures[`infergate_${precision}_batch_1`] = await perSecond(documents.length, async () => {
    for (const text of documents) await model.tag([text]);
  });
  // All at once: the engine sorts the documents' windows by length and runs them 16 at a time (batch_size).
  figures[`infergate_${precision}_batch_16`] = await perSecond(documents.length, async () => {
    await model.tag(documents);
  });
  const library = await pipeline("token-classification", join(root, "models/ner-encoder"), {
    dtype: precision as "fp32",
    device: "cpu",
  });
  figures[`transformers_js_pipeline_${precision}_batch_1`] = await perSecond(documents.length, async () => {
    for (const text of documents) await library(text);
  });
  await library.dispose();
}

const lm = await engines.load(registry.resolve("lm-base:q8_0"));
const lmDocuments = documents.slice(0, Number(values["lm-documents"]));
const schema = extractionSchema(["DATE", "LOC", "MONEY", "ORG", "PER"]);
figures.lm_base_q8_0_extraction_batch_1 = await perSecond(lmDocuments.length, async () => {
  for (const text of lmDocuments) {
    const prompt = extractionPrompt(text, ["DATE", "LOC", "MONEY", "ORG", "PER"]);
    for await (const _ of lm.generate({ prompt, maxTokens: 192, temperature: 0, jsonSchema: schema })) {
      // drained: the whole answer is what extraction needs
    }
  }
});

const line = (name: string, key: string) =>
  `  ${name.padEnd(52)} ${(figures[key] ?? 0).toFixed(1).padStart(8)} docs/s`;
console.log(
  `bench:tagging  (${documents.length} test-split documents; lm-base on the first ${lmDocuments.length})`,
);
for (const precision of ["fp32", "int8"]) {
  console.log(line(`ner-encoder ${precision}, 1 per call`, `infergate_${precision}_batch_1`));
  console.log(
    line(
      `ner-encoder ${precision}, all in one call, batches of 16 by length`,
      `infergate_${precision}_batch_16`,
    ),
  );
  console.log(
    line(
      `transformers.js pipeline ${precision}, 1 per call`,
      `transformers_js_pipeline_${precision}_batch_1`,
    ),
  );
}
console.log(line("lm-base q8_0 extracting JSON, 1 per call", "lm_base_q8_0_extraction_batch_1"));
const ratio = (figures.infergate_int8_batch_16 ?? 0) / (figures.lm_base_q8_0_extraction_batch_1 ?? 1);
console.log(
  `  ner-encoder int8 (batches of 16) tags ${ratio.toFixed(0)}x the documents/s of lm-base extracting`,
);
console.log(
  `  written to ${writeResults("tagging", { documents: documents.length, lm_documents: lmDocuments.length, figures })}`,
);
