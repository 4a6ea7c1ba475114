import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { openTarget } from "../../src/bench/bench-target.js";
import { benchmarkTarget } from "../../src/bench/run-benchmark.js";
import { collect } from "../helpers.js";
import { API_KEY, type RunningGateway, startGateway } from "./gateway-harness.js";

/**
 * infergate's own Gemini routes (checked against the official @google/genai SDK) serve as the Gemini upstream:
 * gateway B reaches gateway A's local models through the Gemini provider.
 */
describe("a Gemini upstream behind the gateway, and as a bench target", () => {
  let upstream: RunningGateway;
  let gateway: RunningGateway;
  let client: OpenAI;
  before(async () => {
    upstream = await startGateway();
    process.env.GEMINI_UPSTREAM_KEY = API_KEY;
    const remote = { engine: "gemini", base_url: upstream.url, api_key_env: "GEMINI_UPSTREAM_KEY" };
    gateway = await startGateway({
      raw: {
        models: [
          { id: "via-gemini", task: "generate", upstream_model: "lm-base", ...remote },
          { id: "embed-via-gemini", task: "embed", upstream_model: "spam-encoder:fp32", ...remote },
        ],
      },
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  const messages = [
    { role: "system" as const, content: "A dictionary." },
    { role: "user" as const, content: "Whale, n." },
  ];
  const engineText = async () => {
    const model = await upstream.engines.load(upstream.registry.resolve("lm-base"));
    return (await collect(model.generate({ messages, maxTokens: 24, temperature: 0 }))).text;
  };

  test("the openai SDK gets the upstream model's answer, whole and streamed, messages intact", async () => {
    const expected = await engineText();
    const whole = await client.chat.completions.create({
      model: "via-gemini",
      messages,
      max_tokens: 24,
      temperature: 0,
    });
    assert.equal(whole.choices[0]?.message.content, expected);
    assert.equal(whole.choices[0]?.finish_reason, "length");
    assert.equal(whole.usage?.completion_tokens, 24);
    const stream = await client.chat.completions.create({
      model: "via-gemini",
      messages,
      max_tokens: 24,
      temperature: 0,
      stream: true,
    });
    let text = "";
    let chunks = 0;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.content;
      if (delta) {
        chunks++;
        text += delta;
      }
    }
    assert.equal(text, expected);
    assert.ok(chunks > 5, `${chunks} chunks`);
  });

  test("embeddings through the Gemini provider equal the upstream engine's", async () => {
    const texts = ["Subject: hello", "Subject: WIN NOW"];
    const response = await client.embeddings.create({
      model: "embed-via-gemini",
      input: texts,
      encoding_format: "float",
    });
    const { vectors } = await (
      await upstream.engines.load(upstream.registry.resolve("spam-encoder:fp32"))
    ).embed(texts);
    for (const [i, item] of response.data.entries())
      assert.deepEqual(Float32Array.from(item.embedding), vectors[i]);
  });

  test("bench --api gemini measures a Gemini endpoint", async () => {
    const target = await openTarget(upstream.url, {
      registry: gateway.registry,
      engines: gateway.engines,
      api: "gemini",
      model: "lm-small",
      apiKeyEnv: "GEMINI_UPSTREAM_KEY",
    });
    const report = await benchmarkTarget(
      target,
      { name: "t", items: [{ text: "Whale, n." }] },
      {
        strategy: { kind: "concurrent", concurrency: 2 },
        constraints: { requests: 6, warmupRequests: 1 },
        settings: { maxTokens: 16, temperature: 0 },
      },
    );
    assert.equal(report.metrics.errors, 0);
    assert.equal(report.metrics.mean_output_tokens, 16);
    assert.ok(report.metrics.ttft_ms.p50 > 0 && report.metrics.ttft_ms.p50 < report.metrics.e2e_ms.p50);
    assert.equal(report.runtime.engine, "gemini");
  });

  test("a wrong upstream key becomes a 502, not the client's 401", async () => {
    process.env.GEMINI_UPSTREAM_KEY = "wrong-key";
    const stranger = await startGateway({
      raw: {
        models: [
          {
            id: "g",
            task: "generate",
            engine: "gemini",
            base_url: upstream.url,
            upstream_model: "lm-small",
            api_key_env: "GEMINI_UPSTREAM_KEY",
          },
        ],
      },
    });
    try {
      const other = new OpenAI({ baseURL: `${stranger.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
      await assert.rejects(
        other.completions.create({ model: "g", prompt: "x", max_tokens: 2 }),
        (error: unknown) =>
          error instanceof OpenAI.APIError && error.status === 502 && error.code === "IG_UPSTREAM_ERROR",
      );
    } finally {
      await stranger.close();
      process.env.GEMINI_UPSTREAM_KEY = API_KEY;
    }
  });
});
