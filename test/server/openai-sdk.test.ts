import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { renderChatPrompt } from "../../src/core/chat-template.js";
import { collect, readSpamDev, repoRoot } from "../helpers.js";
import { API_KEY, type RunningGateway, startGateway } from "./gateway-harness.js";

const reference = (
  JSON.parse(readFileSync(`${repoRoot}models/expected_greedy.json`, "utf8")) as {
    models: Record<string, { prompt: string; greedy_text: string }[]>;
  }
).models["lm-base"]?.[0];

describe("the official openai SDK against infergate serve", () => {
  let running: RunningGateway;
  let client: OpenAI;
  before(async () => {
    running = await startGateway();
    client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
  });
  after(() => running.close());

  const engineText = async (model: string, prompt: string, maxTokens: number, stop?: string[]) => {
    const loaded = await running.engines.load(running.registry.resolve(model));
    return (await collect(loaded.generate({ prompt, maxTokens, temperature: 0, ...(stop && { stop }) })))
      .text;
  };

  test("completions: greedy output equals the engine's and the PyTorch reference", async () => {
    assert.ok(reference);
    const completion = await client.completions.create({
      model: "lm-base:f16",
      prompt: reference.prompt,
      max_tokens: 24,
      temperature: 0,
    });
    assert.equal(completion.object, "text_completion");
    assert.equal(completion.model, "lm-base:f16");
    assert.equal(completion.choices[0]?.text, await engineText("lm-base:f16", reference.prompt, 24));
    assert.equal(completion.choices[0]?.text.trim(), reference.greedy_text.trim());
    assert.equal(completion.choices[0]?.finish_reason, "length");
    assert.deepEqual(completion.usage, { prompt_tokens: 6, completion_tokens: 24, total_tokens: 30 });
  });

  test("completions, streamed: same text, usage in the final chunk", async () => {
    const stream = await client.completions.create({
      model: "lm-base",
      prompt: "Whale, n.",
      max_tokens: 32,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.text ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(chunks > 5, `${chunks} chunks: the answer was streamed, not sent at once`);
    assert.equal(text, await engineText("lm-base", "Whale, n.", 32));
    assert.deepEqual(usage, { prompt_tokens: 5, completion_tokens: 32, total_tokens: 37 });
  });

  test("chat completions, plain and streamed, render the documented template", async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: "system", content: "A dictionary." },
      { role: "user", content: "Whale, n." },
    ];
    const expected = await engineText(
      "lm-base",
      renderChatPrompt(messages as Parameters<typeof renderChatPrompt>[0]),
      40,
      ["\nUser:"],
    );
    const completion = await client.chat.completions.create({
      model: "lm-base",
      messages,
      max_tokens: 40,
      temperature: 0,
    });
    assert.equal(completion.object, "chat.completion");
    assert.equal(completion.choices[0]?.message.role, "assistant");
    assert.equal(completion.choices[0]?.message.content, expected);

    const stream = await client.chat.completions.create({
      model: "lm-base",
      messages,
      max_tokens: 40,
      temperature: 0,
      stream: true,
    });
    let text = "";
    let role: string | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      role ??= chunk.choices[0]?.delta.role;
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(role, "assistant");
    assert.equal(text, expected);
    assert.equal(finish, completion.choices[0]?.finish_reason);
  });

  test("embeddings (the SDK asks for base64) equal the engine's vectors", async () => {
    const texts = readSpamDev()
      .slice(0, 3)
      .map((row) => row.text);
    const response = await client.embeddings.create({ model: "spam-encoder:fp32", input: texts });
    const { vectors: direct } = await (
      await running.engines.load(running.registry.resolve("spam-encoder:fp32"))
    ).embed(texts);
    assert.equal(response.data.length, 3);
    response.data.forEach((item, i) => {
      assert.equal(item.index, i);
      assert.deepEqual(Float32Array.from(item.embedding), direct[i]);
    });
    assert.ok(response.usage.prompt_tokens > 0);
    const floats = await client.embeddings.create({
      model: "spam-encoder:fp32",
      input: "hi",
      encoding_format: "float",
    });
    assert.equal(floats.data[0]?.embedding.length, 192);
  });

  test("models.list names every model and variant", async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    for (const id of ["lm-base", "lm-base:q4_0", "lm-small:f16", "spam-encoder:int8"])
      assert.ok(ids.includes(id), id);
  });

  test("a wrong key is an AuthenticationError; an unknown model a NotFoundError", async () => {
    const stranger = new OpenAI({
      baseURL: `${running.url}/v1`,
      apiKey: "sk-wrong-key-123456",
      maxRetries: 0,
    });
    await assert.rejects(
      stranger.completions.create({ model: "lm-base", prompt: "x" }),
      (error: unknown) => error instanceof OpenAI.AuthenticationError && error.code === "invalid_api_key",
    );
    await assert.rejects(
      client.completions.create({ model: "lm-huge", prompt: "x" }),
      (error: unknown) => error instanceof OpenAI.NotFoundError && error.code === "model_not_found",
    );
  });
});
