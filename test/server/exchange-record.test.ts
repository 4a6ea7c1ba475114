import assert from "node:assert/strict";
import { test } from "node:test";
import type { GenerateChunk } from "../../src/core/types.js";
import { type Exchange, recorded } from "../../src/server/exchange.js";

async function* chunks(list: GenerateChunk[]): AsyncIterable<GenerateChunk> {
  yield* list;
}

test("TTFT is the first generated text or tool call: an echoed prompt does not count; TPOT spans the rest", async () => {
  const exchange = { startedAt: 0, record: { model: "m" } } as unknown as Exchange;
  const stream = recorded(
    exchange,
    chunks([
      { text: "The prompt", tokenIds: [], at: 5, echo: true },
      { text: "", tokenIds: [], at: 10, toolCalls: [{ index: 0, id: "c", name: "f", arguments: "" }] },
      { text: " and", tokenIds: [1], at: 20 },
      {
        text: "",
        tokenIds: [],
        at: 30,
        done: { usage: { promptTokens: 3, completionTokens: 3 }, finishReason: "stop" },
      },
    ]),
  );
  for await (const _ of stream);
  assert.equal(exchange.record.ttftMs, 10);
  assert.equal(exchange.record.timePerOutputTokenMs, 10);
  assert.equal(exchange.record.completionTokens, 3);
});
