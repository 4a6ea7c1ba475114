import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { GoogleGenAI } from "@google/genai";
import { collect, readSpamDev } from "../helpers.js";
import { API_KEY, type RunningGateway, startGateway } from "./gateway-harness.js";

describe("the official @google/genai SDK against infergate serve", () => {
  let running: RunningGateway;
  let ai: GoogleGenAI;
  before(async () => {
    running = await startGateway();
    ai = new GoogleGenAI({ apiKey: API_KEY, httpOptions: { baseUrl: running.url } });
  });
  after(() => running.close());

  const messages = [
    { role: "system" as const, content: "A dictionary." },
    { role: "user" as const, content: "Whale, n." },
  ];
  const request = {
    model: "lm-base",
    contents: [{ role: "user", parts: [{ text: "Whale, n." }] }],
    config: { systemInstruction: "A dictionary.", temperature: 0, maxOutputTokens: 32 },
  };
  const engineText = async () => {
    const model = await running.engines.load(running.registry.resolve("lm-base"));
    return (await collect(model.generate({ messages, maxTokens: 32, temperature: 0 }))).text;
  };

  test("generateContent: greedy output equals the engine's, with usage and finish reason", async () => {
    const response = await ai.models.generateContent(request);
    assert.equal(response.text, await engineText());
    assert.equal(response.candidates?.[0]?.finishReason, "MAX_TOKENS");
    assert.equal(response.usageMetadata?.candidatesTokenCount, 32);
    assert.ok((response.usageMetadata?.promptTokenCount ?? 0) > 5);
    assert.equal(response.modelVersion, "lm-base:q8_0");
  });

  test("generateContentStream: the same text, in several chunks", async () => {
    let text = "";
    let chunks = 0;
    let finishReason: string | undefined;
    for await (const chunk of await ai.models.generateContentStream(request)) {
      chunks++;
      text += chunk.text ?? "";
      finishReason = chunk.candidates?.[0]?.finishReason ?? finishReason;
    }
    assert.ok(chunks > 5, `${chunks} chunks`);
    assert.equal(text, await engineText());
    assert.equal(finishReason, "MAX_TOKENS");
  });

  test("embedContent equals the engine's vectors", async () => {
    const texts = readSpamDev()
      .slice(0, 2)
      .map((row) => row.text);
    const response = await ai.models.embedContent({ model: "spam-encoder:fp32", contents: texts });
    const { vectors } = await (
      await running.engines.load(running.registry.resolve("spam-encoder:fp32"))
    ).embed(texts);
    assert.equal(response.embeddings?.length, 2);
    response.embeddings?.forEach((embedding, i) => {
      assert.deepEqual(Float32Array.from(embedding.values ?? []), vectors[i]);
    });
  });

  test("the REST :embedContent route and Gemini-shaped errors", async () => {
    const single = await fetch(`${running.url}/v1beta/models/spam-encoder:embedContent`, {
      method: "POST",
      headers: { "x-goog-api-key": API_KEY, "content-type": "application/json" },
      body: JSON.stringify({ content: { parts: [{ text: "hello" }] } }),
    });
    assert.equal(single.status, 200);
    assert.equal(((await single.json()) as { embedding: { values: number[] } }).embedding.values.length, 192);

    const unknown = await fetch(`${running.url}/v1beta/models/lm-huge:generateContent?key=${API_KEY}`, {
      method: "POST",
      body: JSON.stringify({ contents: [{ parts: [{ text: "x" }] }] }),
    });
    assert.equal(unknown.status, 404);
    assert.deepEqual(((await unknown.json()) as { error: unknown }).error, {
      code: 404,
      message: "unknown model 'lm-huge' (known: lm-base, lm-small, spam-encoder, ner-encoder)",
      status: "NOT_FOUND",
    });
    await assert.rejects(
      new GoogleGenAI({ apiKey: "wrong-key", httpOptions: { baseUrl: running.url } }).models.generateContent(
        request,
      ),
      /401|UNAUTHENTICATED|API key/i,
    );
    const bad = await fetch(`${running.url}/v1beta/models/lm-base:generateContent`, {
      method: "POST",
      headers: { "x-goog-api-key": API_KEY },
      body: JSON.stringify({ contents: [] }),
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { status: string } }).error.status, "INVALID_ARGUMENT");
  });
});
