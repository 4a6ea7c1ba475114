import assert from "node:assert/strict";
import { test } from "node:test";
import { ResponseStore, type StoredResponse } from "../../src/server/openai/response-store.js";

function stored(id: string, text = "hi"): StoredResponse {
  return {
    response: {
      id,
      output: [{ id: `msg_${id}`, type: "message", content: [{ type: "output_text", text }] }],
    },
    conversation: [
      { role: "user", content: text },
      { role: "assistant", content: text },
    ],
  };
}

test("the response store keeps the most recently used within its count, and each response to its owner", async () => {
  const store = new ResponseStore(2, 1 << 20);
  await store.set("a", "k1", stored("a"));
  await store.set("b", "k1", stored("b"));
  assert.ok(await store.get("a", "k1")); // a is now the most recently used
  await store.set("c", "k1", stored("c"));
  assert.equal(store.size, 2);
  assert.equal(await store.get("b", "k1"), undefined);
  assert.ok(await store.get("a", "k1"));
  assert.equal(await store.get("a", "k2"), undefined, "another key's response is not found");
  assert.equal((await store.item("msg_c", "k1"))?.type, "message");
  assert.equal(await store.item("msg_b", "k1"), undefined, "an evicted response's items go with it");
  assert.equal(await store.item("msg_c", "k2"), undefined);
});

test("the response store's size bound evicts the oldest, and an entry larger than the bound is not kept", async () => {
  const big = "x".repeat(10_000);
  const store = new ResponseStore(100, 100_000);
  await store.set("a", "k", stored("a", big));
  await store.set("b", "k", stored("b", big));
  assert.equal(store.size, 1);
  assert.ok(await store.get("b", "k"));
  await store.set("huge", "k", stored("huge", "x".repeat(200_000)));
  assert.equal(await store.get("huge", "k"), undefined);
  assert.ok(await store.get("b", "k"));
  assert.equal(new ResponseStore(0, 1 << 20).size, 0);
});
