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
