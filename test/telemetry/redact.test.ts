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

test("secret fields are masked whatever their value looks like, at any depth", () => {
  assert.deepEqual(
    redactDeep({
      headers: { Authorization: "hunter2", "x-goog-api-key": "plain" },
      upstream: { api_key: "pw1", apiKey: 7 },
    }),
    {
      headers: { Authorization: "[REDACTED]", "x-goog-api-key": "[REDACTED]" },
      upstream: { api_key: "[REDACTED]", apiKey: "[REDACTED]" },
    },
  );
});

test("an error's message and stack are redacted too", () => {
  const error = Object.assign(new Error("no user alice@example.com"), { code: "E_X" });
  const redacted = redactDeep({ err: error }) as {
    err: { type: string; message: string; stack: string; code: string };
  };
  assert.equal(redacted.err.type, "Error");
  assert.equal(redacted.err.message, "no user [EMAIL]");
  assert.ok(!redacted.err.stack.includes("alice@"));
  assert.equal(redacted.err.code, "E_X");
});
