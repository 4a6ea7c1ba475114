import assert from "node:assert/strict";
import { test } from "node:test";
import { JsonValueEnd } from "../../../src/engines/llamacpp/json-value-end.js";

/** Where the value ends in `pieces` fed one by one: [piece index, characters kept]. */
function endOf(pieces: string[]): [number, number] | undefined {
  const end = new JsonValueEnd();
  for (const [index, piece] of pieces.entries()) {
    const kept = end.push(piece);
    if (kept !== undefined) return [index, kept];
  }
  return undefined;
}

test("an object ends at the brace that closes it, not at braces or quotes inside its strings", () => {
  assert.deepEqual(endOf(['{"a": "}', '\\"{", "b": [1, {}]', "}\n\n\n"]), [2, 1]);
  assert.equal(endOf(['{"a": {"b": 1}', "\n  "]), undefined);
});

test("a top-level string ends at its closing quote, a number at the whitespace after it", () => {
  assert.deepEqual(endOf(['"one \\" two', '" \n']), [1, 1]);
  assert.deepEqual(endOf(["  12", ".5", "\n\n"]), [2, 0]);
  assert.deepEqual(endOf(["true \n"]), [0, 4]);
});
