import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import OpenAI from "openai";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";
import { API_KEY, type RunningGateway, startGateway } from "./gateway-harness.js";

describe("a remote OpenAI-compatible upstream behind the gateway", () => {
  let upstream: MockUpstream;
  let running: RunningGateway;
  let client: OpenAI;
  before(async () => {
    upstream = await startMockUpstream();
    process.env.MOCK_UPSTREAM_KEY = "sk-upstream-secret-000000";
    running = await startGateway({
      raw: {
        models: [
          {
            id: "remote",
            task: "generate",
            engine: "openai",
            base_url: upstream.url,
            upstream_model: "mock-model",
            api_key_env: "MOCK_UPSTREAM_KEY",
          },
          {
            id: "down",
            task: "generate",
            engine: "openai",
            base_url: "http://127.0.0.1:9/v1",
            upstream_model: "x",
          },
        ],
      },
    });
    client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
  });
  after(async () => {
    await running.close();
    await upstream.close();
  });
  beforeEach(() => {
    upstream.behaviour = { pieces: ["Hello", ",", " world", "!"], ttftMs: 0, itlMs: 0 };
    upstream.received.length = 0;
  });

  test("chat and completions reach the upstream as the client sent them, under the upstream's model name", async () => {
    const chat = await client.chat.completions.create({
      model: "remote",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
      ],
      max_tokens: 12,
      temperature: 0.5,
      stop: ["END"],
    });
    assert.equal(chat.choices[0]?.message.content, "Hello, world!");
    assert.equal(chat.model, "remote");
    assert.deepEqual(chat.usage, { prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 });
    assert.deepEqual(upstream.received.at(-1), {
      model: "mock-model",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
      ],
      max_tokens: 12,
      temperature: 0.5,
      stop: ["END"],
    });
    const completion = await client.completions.create({ model: "remote", prompt: "Say hi", max_tokens: 5 });
    assert.equal(completion.choices[0]?.text, "Hello, world!");
    assert.equal(upstream.received.at(-1)?.prompt, "Say hi");
  });

  test("a stream is passed on chunk by chunk, as the upstream produces it", async () => {
    upstream.behaviour.pieces = ["a", "b", "c", "d", "e"];
    upstream.behaviour.itlMs = 60;
    const stream = await client.chat.completions.create({
      model: "remote",
      messages: [{ role: "user", content: "x" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const arrivals: number[] = [];
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.content;
      if (delta) {
        arrivals.push(performance.now());
        text += delta;
      }
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, "abcde");
    assert.equal(usage?.completion_tokens, 5);
    const gaps = arrivals.slice(1).map((at, i) => at - (arrivals[i] ?? 0));
    // Each piece arrives when it is produced (60 ms apart), not all at the end.
    for (const gap of gaps) assert.ok(gap > 30, `gaps ${gaps.map((g) => g.toFixed(0)).join(", ")}`);
  });

  test("the upstream's failures become shaped errors: 5xx → 502, 429 → 429, 400 → 400, unreachable → 502", async () => {
    for (const [status, expected, code] of [
      [500, 502, "IG_UPSTREAM_ERROR"],
      [429, 429, "IG_UPSTREAM_RATE_LIMITED"],
      [400, 400, "IG_UPSTREAM_REJECTED"],
    ] as const) {
      upstream.behaviour.failWith = status;
      await assert.rejects(
        client.completions.create({ model: "remote", prompt: "x" }),
        (error: unknown) =>
          error instanceof OpenAI.APIError && error.status === expected && error.code === code,
      );
    }
    await assert.rejects(
      client.completions.create({ model: "down", prompt: "x" }),
      (error: unknown) =>
        error instanceof OpenAI.APIError && error.status === 502 && error.code === "IG_UPSTREAM_UNAVAILABLE",
    );
  });

  test("a stream the upstream cuts short ends with an error, never a clean [DONE]", async () => {
    upstream.behaviour.pieces = ["one", "two", "three"];
    upstream.behaviour.cutAfter = 2;
    const stream = await client.completions.create({ model: "remote", prompt: "x", stream: true });
    let text = "";
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
      })(),
      (error: unknown) =>
        error instanceof OpenAI.APIError && /ended before \[DONE\]|upstream/.test(String(error.message)),
    );
    assert.equal(text, "onetwo");
  });

  test("vLLM's ignore_eos passes through when asked for, and only then", async () => {
    const send = (extra: Record<string, unknown>) =>
      fetch(`${running.url}/v1/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "remote", prompt: "x", max_tokens: 3, ...extra }),
      });
    assert.equal((await send({ ignore_eos: true })).status, 200);
    assert.equal(upstream.received.at(-1)?.ignore_eos, true);
    assert.equal((await send({})).status, 200);
    assert.equal("ignore_eos" in (upstream.received.at(-1) ?? {}), false);
  });

  test("an answer the upstream sends whole records no time to first token; a streamed one does", async () => {
    const lastRequestLog = () =>
      JSON.parse(running.logs.filter((line) => line.includes('"event":"request"')).at(-1) ?? "{}") as {
        completionTokens?: number;
        ttftMs?: number;
        timePerOutputTokenMs?: number;
      };
    upstream.behaviour.itlMs = 20;
    await client.completions.create({ model: "remote", prompt: "x" });
    const whole = lastRequestLog();
    assert.equal(whole.completionTokens, 4);
    assert.equal(whole.ttftMs, undefined);
    assert.equal(whole.timePerOutputTokenMs, undefined);
    for await (const _ of await client.completions.create({ model: "remote", prompt: "x", stream: true }));
    const streamed = lastRequestLog();
    assert.equal(streamed.completionTokens, 4);
    assert.ok((streamed.ttftMs ?? 0) > 0);
    assert.ok((streamed.timePerOutputTokenMs ?? 0) >= 15, `TPOT ${streamed.timePerOutputTokenMs} ms`);
  });

  test("the upstream key is sent upstream and never logged", async () => {
    await client.completions.create({ model: "remote", prompt: "x" });
    assert.ok(!running.logs.join("").includes("sk-upstream-secret"));
  });
});
