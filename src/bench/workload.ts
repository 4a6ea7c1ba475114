import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { InvalidRequestError } from "../core/errors.js";
import { checkedEntities } from "./entity-rows.js";
import type { EntitySpan } from "./quality/entity-metrics.js";
import { checkJsonSchema } from "./quality/generation-metrics.js";
import { seededRandom } from "./quality/paired-statistics.js";

/** One unit of a workload: a prompt to complete or a text to classify, with what a right answer is. */
export interface WorkItem {
  /** The text sent: a prompt for generation, the input for classification. */
  text: string;
  /** Expected class, for accuracy. */
  label?: string;
  /** Acceptable completions, for reference-scored generation (best over them). */
  references?: string[];
  /** A regular expression a right answer matches (row field `match`), for the `regex` metric. */
  match?: string;
  /** A JSON Schema a right answer satisfies (row field `schema`), for `json_schema_valid`. */
  schema?: Record<string, unknown>;
  /** For batch sweeps of encoders: texts sent together in one request (`text` is the first of them). */
  batch?: string[];
  /** A fixed output length for this item: exactly this many tokens are generated, end-of-sequence or not. */
  maxTokens?: number;
  /** The row's `domain` (what `plan` weighs specialists by). */
  domain?: string;
  /** Gold named entities, code-point offsets into `text`, for tagging. */
  entities?: EntitySpan[];
}

/**
 * What a workload's answers are scored as, decided by its rows: `label` makes a classification workload,
 * `reference` (or `match`, `schema`) a reference-scored generation workload, `entities` a tagging one; none, a
 * speed-only one.
 */
export type QualityTask = "classify" | "generate" | "tag";

export interface Workload {
  name: string;
  items: readonly WorkItem[];
  /** Absent for a workload with nothing to score answers against. */
  task?: QualityTask;
  /** For a classification workload: its classes, sorted; for a tagging one, its entity types, sorted. */
  labels?: string[];
}

const MAX_ITEM_CHARS = 1_000_000;
const BUNDLED = fileURLToPath(new URL("../../data/", import.meta.url));

/**
 * A JSONL dataset: each row has `prompt` or `text`, and optionally `label`, or `reference` (string or list),
 * `match`, `schema`, or `entities` (`[{start, end, type}]`, code points).
 */
export function loadJsonlWorkload(path: string): Workload {
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (error) {
    throw new InvalidRequestError(
      `cannot read dataset ${path}: ${(error as NodeJS.ErrnoException).code}`,
      "dataset",
    );
  }
  const items: WorkItem[] = [];
  const lines: number[] = [];
  content.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    const where = `${path}:${index + 1}`;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new InvalidRequestError(`${where}: not valid JSON`, "dataset");
    }
    items.push(workItemOf(row, where));
    lines.push(index + 1);
  });
  if (items.length === 0) throw new InvalidRequestError(`dataset ${path} has no rows`, "dataset");
  return withQualityTask({ name: path, items }, (i) => `${path}:${lines[i]}`);
}

function workItemOf(row: Record<string, unknown>, where: string): WorkItem {
  const text = row.prompt ?? row.text;
  if (typeof text !== "string" || text.length === 0 || text.length > MAX_ITEM_CHARS) {
    throw new InvalidRequestError(`${where}: needs a non-empty "prompt" or "text" string`, "dataset");
  }
  const bad = (field: string, what: string) =>
    new InvalidRequestError(`${where}: "${field}" must be ${what}`, "dataset");
  if (row.label !== undefined && (typeof row.label !== "string" || row.label.trim() === ""))
    throw bad("label", "a non-empty string");
  const references = typeof row.reference === "string" ? [row.reference] : row.reference;
  if (
    references !== undefined &&
    !(Array.isArray(references) && references.length > 0 && references.every((r) => typeof r === "string"))
  )
    throw bad("reference", "a string or a non-empty list of strings");
  if (row.match !== undefined) {
    if (typeof row.match !== "string") throw bad("match", "a regular expression, as a string");
    try {
      new RegExp(row.match, "u");
    } catch (error) {
      throw bad("match", `a valid regular expression (${(error as Error).message})`);
    }
  }
  if (row.schema !== undefined) checkJsonSchema(row.schema, `${where}: "schema"`);
  if (row.domain !== undefined && (typeof row.domain !== "string" || row.domain.trim() === ""))
    throw bad("domain", "a non-empty string");
  const entities = row.entities === undefined ? undefined : checkedEntities(row.entities, text, where);
  return {
    text,
    ...(typeof row.label === "string" && { label: row.label }),
    ...(references !== undefined && { references: references as string[] }),
    ...(typeof row.match === "string" && { match: row.match }),
    ...(row.schema !== undefined && { schema: row.schema as Record<string, unknown> }),
    ...(typeof row.domain === "string" && { domain: row.domain }),
    ...(entities && { entities }),
  };
}

/** Decides the workload's task from its rows; rows that disagree name the first line that does. */
export function withQualityTask(workload: Workload, where: (index: number) => string): Workload {
  const kindOf = (item: WorkItem): QualityTask | "none" =>
    item.label !== undefined
      ? "classify"
      : item.entities !== undefined
        ? "tag"
        : item.references !== undefined || item.match !== undefined || item.schema !== undefined
          ? "generate"
          : "none";
  const first = kindOf(workload.items[0] as WorkItem);
  const odd = workload.items.findIndex((item) => kindOf(item) !== first);
  if (odd >= 0) {
    const describe = {
      classify: "has a label",
      generate: "has a reference",
      tag: "has entities",
      none: "has no label, reference or entities",
    };
    throw new InvalidRequestError(
      `${where(odd)}: ${describe[kindOf(workload.items[odd] as WorkItem)]}, but the first row ${describe[first]}; a workload is one or the other`,
      "dataset",
    );
  }
  if (first === "none") return workload;
  if (first === "generate") return { ...workload, task: "generate" };
  if (first === "tag") {
    const types = new Set(
      workload.items.flatMap((item) => (item.entities ?? []).map((entity) => entity.type)),
    );
    return { ...workload, task: "tag", labels: [...types].sort() };
  }
  const labels = [...new Set(workload.items.map((item) => item.label as string))].sort();
  if (labels.length < 2)
    throw new InvalidRequestError(
      `${workload.name}: every row has the label '${labels[0]}'; a classification workload needs two classes or more`,
      "dataset",
    );
  return { ...workload, task: "classify", labels };
}

/**
 * A deterministic sample of `count` items (seeded, kept in workload order), so a slow target can be measured on
 * fewer items and every target still sees the same ones.
 */
export function subsample(workload: Workload, count: number, seed = 1): Workload {
  if (count >= workload.items.length) return workload;
  const random = seededRandom(seed);
  // Partial Fisher-Yates over the indices, then back into order.
  const indices = workload.items.map((_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (indices.length - i));
    [indices[i], indices[j]] = [indices[j] as number, indices[i] as number];
  }
  const chosen = indices.slice(0, count).sort((a, b) => a - b);
  return {
    ...workload,
    name: `${workload.name} (${count} of ${workload.items.length}, seed ${seed})`,
    items: chosen.map((i) => workload.items[i] as WorkItem),
  };
}

/** The bundled silver-labelled passages (the ner-encoder's test split: data/ner/README.md), for taggers. */
export function bundledTaggingWorkload(): Workload {
  return { ...loadJsonlWorkload(`${BUNDLED}ner/test.jsonl`), name: "ner_test" };
}

/** The bundled labelled emails (SpamAssassin dev split), for classifiers. */
export function bundledClassificationWorkload(): Workload {
  return { ...loadJsonlWorkload(`${BUNDLED}spam_dev.jsonl`), name: "spam_dev" };
}

/**
 * Generation prompts from the bundled held-out text: the opening `promptChars` characters of each document
 * (cut at a word boundary), with the text that follows as the reference.
 */
export function bundledGenerationWorkload(promptChars = 200): Workload {
  const documents = readFileSync(`${BUNDLED}lm_heldout.txt`, "utf8")
    .split("\u001e")
    .map((document) => document.trim())
    .filter((document) => document.length > promptChars * 2);
  const items = documents.map((document) => {
    const cut = document.lastIndexOf(" ", promptChars);
    const at = cut > promptChars / 2 ? cut : promptChars;
    return { text: document.slice(0, at), references: [document.slice(at, at + promptChars)] };
  });
  return { name: "lm_heldout", items };
}

/** The bundled held-out documents, whole, for perplexity. */
export function bundledHeldOutDocuments(): string[] {
  return readFileSync(`${BUNDLED}lm_heldout.txt`, "utf8")
    .split("\u001e")
    .map((document) => document.trim())
    .filter((document) => document.length > 0);
}

export interface SyntheticSpec {
  /** Prompt length in tokens: every prompt `inputTokens`, or uniform within ± `spread`. */
  inputTokens: number;
  spread: number;
  /** Output length in tokens, exact (end-of-sequence is ignored): fixed, or uniform within ± `outputSpread`. */
  outputTokens?: number;
  outputSpread?: number;
  count: number;
  seed?: number;
}

/**
 * Prompts of chosen token lengths, cut from the bundled held-out text at seeded offsets. With the target's
 * tokenizer the lengths are exact; without one (an endpoint) they are estimated at 1.3 tokens a word.
 */
export function syntheticWorkload(spec: SyntheticSpec, tokenize?: (text: string) => number): Workload {
  const words = bundledHeldOutDocuments().join(" ").split(/\s+/).filter(Boolean);
  let state = (spec.seed ?? 1) >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4_294_967_296;
  };
  const count = tokenize ?? ((text: string) => Math.round(text.split(" ").length * 1.3));
  const items: WorkItem[] = [];
  for (let i = 0; i < spec.count; i++) {
    const target = Math.max(1, Math.round(spec.inputTokens + (random() * 2 - 1) * spec.spread));
    const start = Math.floor(random() * Math.max(1, words.length - target * 2));
    // The fewest words whose text reaches the target length (token counts grow with word counts).
    let low = 1;
    let high = Math.min(words.length - start, target * 2);
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if (count(words.slice(start, start + middle).join(" ")) >= target) high = middle;
      else low = middle + 1;
    }
    const text = words.slice(start, start + low).join(" ");
    if (spec.outputTokens === undefined) {
      items.push({ text });
      continue;
    }
    const spread = spec.outputSpread ?? 0;
    items.push({ text, maxTokens: Math.max(1, Math.round(spec.outputTokens + (random() * 2 - 1) * spread)) });
  }
  const output =
    spec.outputTokens === undefined ? "" : `, output=${spec.outputTokens}±${spec.outputSpread ?? 0}`;
  return { name: `synthetic(input=${spec.inputTokens}±${spec.spread}${output})`, items };
}

export function parseSynthetic(text: string, count: number): SyntheticSpec {
  const fields = Object.fromEntries(text.split(",").map((part) => part.split("=") as [string, string]));
  const inputTokens = Number(fields.input);
  const spread = Number(fields.spread ?? 0);
  const outputTokens = fields.output === undefined ? undefined : Number(fields.output);
  const outputSpread = Number(fields.output_spread ?? 0);
  const known = new Set(["input", "spread", "output", "output_spread", "seed"]);
  const validOutput =
    outputTokens === undefined ||
    (Number.isInteger(outputTokens) && outputTokens > 0 && outputSpread >= 0 && outputSpread < outputTokens);
  const valid =
    Number.isInteger(inputTokens) &&
    inputTokens > 0 &&
    spread >= 0 &&
    spread < inputTokens &&
    validOutput &&
    Object.keys(fields).every((key) => known.has(key));
  if (!valid) {
    throw new InvalidRequestError(
      `--synthetic: expected input=N[,spread=S][,output=M[,output_spread=T]][,seed=K], got '${text}'`,
      "synthetic",
    );
  }
  return {
    inputTokens,
    spread,
    count,
    ...(outputTokens !== undefined && { outputTokens, outputSpread }),
    ...(fields.seed !== undefined && { seed: Number(fields.seed) }),
  };
}

/** The workload regrouped so that each item carries `size` texts, sent as one request. */
export function batchedWorkload(workload: Workload, size: number): Workload {
  const items: WorkItem[] = [];
  for (let start = 0; start < workload.items.length; start += size) {
    const texts = workload.items.slice(start, start + size).map((item) => item.text);
    items.push({ text: texts[0] ?? "", batch: texts });
  }
  return { name: `${workload.name} in batches of ${size}`, items };
}
