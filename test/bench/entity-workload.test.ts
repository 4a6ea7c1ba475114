import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { extractedEntities } from "../../src/bench/quality/entity-quality.js";
import { bundledTaggingWorkload, loadJsonlWorkload } from "../../src/bench/workload.js";
import { InvalidRequestError } from "../../src/core/errors.js";

function workloadFile(rows: unknown[]): string {
  const path = join(mkdtempSync(join(tmpdir(), "infergate-entities-")), "entities.jsonl");
  writeFileSync(path, `${rows.map((row) => JSON.stringify(row)).join("\n")}\n`);
  return path;
}

describe("entity workloads: {text, entities: [{start, end, type}]}, offsets in code points", () => {
  test("a tagging workload: its task and its types, offsets counted in code points", () => {
    const text = "😀 Ahab sailed from Nantucket.";
    const path = workloadFile([
      {
        text,
        entities: [
          { start: 2, end: 6, type: "PER" },
          { start: 19, end: 28, type: "LOC" },
        ],
      },
      { text: "Nothing to find here.", entities: [] },
    ]);
    const workload = loadJsonlWorkload(path);
    assert.equal(workload.task, "tag");
    assert.deepEqual(workload.labels, ["LOC", "PER"]);
    const [first] = workload.items;
    const points = Array.from(text);
    assert.deepEqual(
      first?.entities?.map((entity) => points.slice(entity.start, entity.end).join("")),
      ["Ahab", "Nantucket"],
    );
    assert.equal(bundledTaggingWorkload().task, "tag");
  });

  const refusals: [string, unknown, RegExp][] = [
    ["a span past the end", [{ start: 3, end: 40, type: "PER" }], /outside the text/],
    ["a negative start", [{ start: -1, end: 2, type: "PER" }], /outside the text/],
    ["an empty span", [{ start: 4, end: 4, type: "PER" }], /empty/],
    [
      "overlapping spans of one type",
      [
        { start: 0, end: 4, type: "PER" },
        { start: 2, end: 6, type: "PER" },
      ],
      /overlap/,
    ],
    ["a span that is not integers", [{ start: "0", end: 4, type: "PER" }], /integer/],
    ["a missing type", [{ start: 0, end: 4 }], /type/],
    ["not a list", { start: 0, end: 4, type: "PER" }, /must be a list/],
  ];
  for (const [name, entities, message] of refusals)
    test(`refused, naming the line: ${name}`, () => {
      const path = workloadFile([
        { text: "Ahab is here.", entities: [] },
        { text: "Ahab is here.", entities },
      ]);
      assert.throws(
        () => loadJsonlWorkload(path),
        (error: unknown) =>
          error instanceof InvalidRequestError &&
          error.message.includes(`${path}:2`) &&
          message.test(error.message),
      );
    });

  test("overlapping spans of different types are allowed (nested entities)", () => {
    const path = workloadFile([
      {
        text: "Bank of England",
        entities: [
          { start: 0, end: 15, type: "ORG" },
          { start: 8, end: 15, type: "LOC" },
        ],
      },
    ]);
    assert.equal(loadJsonlWorkload(path).items[0]?.entities?.length, 2);
  });

  test("rows with and without entities do not mix", () => {
    const path = workloadFile([
      { text: "Ahab.", entities: [] },
      { text: "Ahab.", label: "x" },
    ]);
    assert.throws(() => loadJsonlWorkload(path), /has a label, but the first row has entities/);
  });
});

describe("a generative answer's entities mapped onto the text", () => {
  test("each at its first occurrence no earlier entity took; a text not in the document is hallucinated", () => {
    const text = "Ahab met Ahab's 😀 crew in Nantucket.";
    const answer = JSON.stringify({
      entities: [
        { text: "Ahab", type: "PER" },
        { text: "Ahab", type: "PER" },
        { text: "Nantucket", type: "LOC" },
        { text: "Boston", type: "LOC" },
      ],
    });
    const mapped = extractedEntities(answer, text);
    assert.deepEqual(mapped, {
      entities: [
        { start: 0, end: 4, type: "PER" },
        { start: 9, end: 13, type: "PER" },
        { start: 26, end: 35, type: "LOC" },
        { start: -1, end: -1, type: "LOC" },
      ],
      hallucinated: 1,
    });
    assert.equal(Array.from(text).slice(26, 35).join(""), "Nantucket");
  });

  test("an answer that is not the asked-for JSON is a format failure", () => {
    assert.equal(extractedEntities("Ahab, Nantucket", "Ahab"), undefined);
    assert.equal(extractedEntities('{"people": []}', "Ahab"), undefined);
    assert.equal(extractedEntities('{"entities": [{"text": 3}]}', "Ahab"), undefined);
  });
});
