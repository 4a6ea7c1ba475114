import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { InvalidRequestError } from "../core/errors.js";

/** One unit of a workload: a prompt to complete or a text to classify, with what a right answer is. */
export interface WorkItem {
  /** The text sent: a prompt for generation, the input for classification. */
  text: string;
  /** Expected class, for accuracy. */
  label?: string;
  /** Expected completion, kept for reports. */
  reference?: string;
  /** For batch sweeps of encoders: texts sent together in one request (`text` is the first of them). */
  batch?: string[];
  /** A fixed output length for this item: exactly this many tokens are generated, end-of-sequence or not. */
  maxTokens?: number;
}

export interface Workload {
  name: string;
  items: readonly WorkItem[];
}

const MAX_ITEM_CHARS = 1_000_000;
const BUNDLED = fileURLToPath(new URL("../../data/", import.meta.url));

/** A JSONL dataset: each row has `prompt` or `text`, and optionally `label` and `reference`. */
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
  content.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    const where = `${path}:${index + 1}`;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new InvalidRequestError(`${where}: not valid JSON`, "dataset");
    }
    const text = row.prompt ?? row.text;
    if (typeof text !== "string" || text.length === 0 || text.length > MAX_ITEM_CHARS) {
      throw new InvalidRequestError(`${where}: needs a non-empty "prompt" or "text" string`, "dataset");
    }
    items.push({
      text,
      ...(typeof row.label === "string" && { label: row.label }),
      ...(typeof row.reference === "string" && { reference: row.reference }),
    });
  });
  if (items.length === 0) throw new InvalidRequestError(`dataset ${path} has no rows`, "dataset");
  return { name: path, items };
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
    return { text: document.slice(0, at), reference: document.slice(at, at + promptChars) };
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
