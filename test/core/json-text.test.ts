import assert from "node:assert/strict";
import { test } from "node:test";
import { withTopLevelString } from "../../src/core/json-text.js";

const spliced = (json: string) => withTopLevelString(json, "model", "mine");

test("the top-level key's string is replaced; every other byte stays as written", () => {
  const body = '{"messages":[{"role":"user","content":"say \\"model\\": \\\\"}],"model" : "gpt-x", "n":1.0}';
  assert.equal(
    spliced(body),
    '{"messages":[{"role":"user","content":"say \\"model\\": \\\\"}],"model" : "mine", "n":1.0}',
  );
  assert.deepEqual(JSON.parse(spliced(body) ?? ""), { ...JSON.parse(body), model: "mine" });
});

test("the same name deeper down, or as a value, is left alone", () => {
  const body =
    '{"response_format":{"json_schema":{"schema":{"properties":{"model":{"type":"string"}}}}},"metadata":{"model":"x"},"user":"model","tags":["model"],"model":"gpt-x"}';
  const result = JSON.parse(spliced(body) ?? "");
  assert.equal(result.model, "mine");
  assert.deepEqual(result.metadata, { model: "x" });
  assert.equal(result.user, "model");
  assert.deepEqual(result.tags, ["model"]);
  assert.deepEqual(result.response_format.json_schema.schema.properties.model, { type: "string" });
});

test("an object without the key gets it first; an empty one too", () => {
  assert.equal(spliced('{"prompt":"hi"}'), '{"model":"mine","prompt":"hi"}');
  assert.equal(spliced(" { } "), ' {"model":"mine" } ');
  assert.equal(spliced('{"nested":{"model":"x"}}'), '{"model":"mine","nested":{"model":"x"}}');
});

test("the value is written as JSON: quotes and non-ASCII text", () => {
  const result = spliced('{"model":"a"}');
  assert.equal(result, '{"model":"mine"}');
  assert.equal(
    JSON.parse(withTopLevelString('{"model":"a"}', "model", 'say "hé" \\ ☃') ?? "").model,
    'say "hé" \\ ☃',
  );
});

test("where it cannot be sure, it says so (undefined) and the caller writes the object", () => {
  for (const body of [
    '{"model":null}',
    '{"model":{"id":"x"}}',
    '{"model":["x"]}',
    '{"model":3,"x":"y"}',
    '{"mod\\u0065l":"x"}',
    '["model","x"]',
    '"model"',
  ])
    assert.equal(spliced(body), undefined, body);
});

test("a value of many strings and nested objects is skipped in one pass", () => {
  const messages = Array.from({ length: 2000 }, (_, i) => ({
    role: "user",
    content: `turn ${i} "quoted" {braces} [x], y`,
  }));
  const body = JSON.stringify({ messages, model: "gpt-x" });
  assert.deepEqual(JSON.parse(spliced(body) ?? ""), { messages, model: "mine" });
});
