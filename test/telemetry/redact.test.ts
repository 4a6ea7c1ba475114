import assert from "node:assert/strict";
import { test } from "node:test";
import { redactDeep, redactText } from "../../src/telemetry/redact.js";

test("masks credentials, email addresses, phone and card numbers", () => {
  for (const [input, expected] of [
    ["Authorization: Bearer sk-abcdef1234567890", "Authorization: Bearer [REDACTED]"],
    ["key sk-proj-abcdefgh12345678 leaked", "key [REDACTED_KEY] leaked"],
    ["gemini AIzaSyA1234567890abcdefghijklmnop", "gemini [REDACTED_KEY]"],
    ["write to alice.smith@example.com today", "write to [EMAIL] today"],
    ["card 4111 1111 1111 1111 ok", "card [CARD] ok"],
    ["card 4111-1111-1111-1111", "card [CARD]"],
    ["call +1 415 555 0134 now", "call [PHONE] now"],
    ["call (415) 555-0134", "call [PHONE]"],
  ] as const) {
    assert.equal(redactText(input), expected, input);
  }
});

test("leaves ordinary log text alone", () => {
  for (const text of [
    "/v1/chat/completions",
    "lm-base:q8_0",
    "IG_MODEL_NOT_FOUND",
    "took 12 ms",
    "status 404",
  ]) {
    assert.equal(redactText(text), text);
  }
});

test("redacts strings at any depth, leaving other values as they are", () => {
  assert.deepEqual(redactDeep({ a: ["x@y.io", 3, { b: "Bearer abc.def" }], n: null, ok: true }), {
    a: ["[EMAIL]", 3, { b: "Bearer [REDACTED]" }],
    n: null,
    ok: true,
  });
});

test("objects with nothing to redact come back as they are, unallocated", () => {
  const line = {
    event: "request",
    route: "/v1/completions",
    model: "lm-base:q8_0",
    status: 200,
    durationMs: 1.5,
    nested: [{ a: "x" }],
  };
  assert.equal(redactDeep(line), line);
  const leaky = { ok: "fine", nested: { email: "a@b.io" } };
  const redacted = redactDeep(leaky) as typeof leaky;
  assert.notEqual(redacted, leaky);
  assert.equal(redacted.ok, "fine");
  assert.equal(redacted.nested.email, "[EMAIL]");
  assert.equal(leaky.nested.email, "a@b.io", "the original is not modified");
});
