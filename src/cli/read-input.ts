import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { InvalidRequestError } from "../core/errors.js";

const MAX_TEXT_CHARS = 1_000_000;

/** All of standard input, for commands given neither an argument nor `--input`. */
export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return "";
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

/**
 * The `text` field of each row of a JSONL file, in order, in groups of `groupSize` (so a large file streams).
 * A bad row fails with its line number.
 */
export async function* readJsonlTexts(path: string, groupSize: number): AsyncGenerator<string[]> {
  const stream = createReadStream(path, { encoding: "utf8" });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", (error: NodeJS.ErrnoException) =>
      reject(new InvalidRequestError(`cannot read ${path}: ${error.code ?? error.message}`, "input")),
    );
  });
  await opened;
  let group: string[] = [];
  let lineNumber = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
    lineNumber++;
    if (line.trim() === "") continue;
    group.push(parseRow(line, `${path}:${lineNumber}`));
    if (group.length >= groupSize) {
      yield group;
      group = [];
    }
  }
  if (group.length > 0) yield group;
}

function parseRow(line: string, where: string): string {
  let row: unknown;
  try {
    row = JSON.parse(line);
  } catch {
    throw new InvalidRequestError(`${where}: not valid JSON`, "input");
  }
  const text = row && typeof row === "object" ? (row as { text?: unknown }).text : undefined;
  if (typeof text !== "string" || text.length === 0) {
    throw new InvalidRequestError(`${where}: expected an object with a non-empty "text" string`, "input");
  }
  if (text.length > MAX_TEXT_CHARS) {
    throw new InvalidRequestError(`${where}: text is longer than ${MAX_TEXT_CHARS} characters`, "input");
  }
  return text;
}

/** Non-empty lines in a file, for a progress total; cheap next to running a model over them. */
export async function countRows(path: string): Promise<number> {
  let rows = 0;
  for await (const line of createInterface({ input: createReadStream(path, { encoding: "utf8" }) })) {
    if (line.trim() !== "") rows++;
  }
  return rows;
}
