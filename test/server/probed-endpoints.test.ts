import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GoogleGenAI } from "@google/genai";
import { getLlama, type Token } from "node-llama-cpp";
import OpenAI from "openai";
import { localModel, repoRoot } from "../helpers.js";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";
import { withReferenceDistributions } from "../support/reference-distributions.js";
import { API_KEY, type RunningGateway, startGateway } from "./gateway-harness.js";

describe("the endpoints clients probe: model listing, countTokens, completions echo with logprobs", () => {
  let upstream: MockUpstream;
  let openAi: MockUpstream;
  let running: RunningGateway;
  let client: OpenAI;
  let ai: GoogleGenAI;
  before(async () => {
    upstream = await startMockUpstream({}, { wire: "gemini" });
    openAi = await startMockUpstream();
    running = await startGateway({
      raw: {
        models: [
          localModel("base", "models/lm-small-q8_0.gguf", { context_size: 256 }),
          localModel("chat", "models/lm-small-chat-q8_0.gguf", { context_size: 256 }),
          {
            id: "gemini-up",
            task: "generate",
            engine: "gemini",
            base_url: upstream.url,
            upstream_model: "g",
          },
          {
            id: "gemini-embed",
            task: "embed",
            engine: "gemini",
            base_url: upstream.url,
            upstream_model: "e",
          },
          { id: "openai-embed", task: "embed", engine: "openai", base_url: openAi.url, upstream_model: "e" },
          {
            id: "openai-chat",
            task: "generate",
            engine: "openai",
            base_url: openAi.url,
            upstream_model: "c",
          },
          { id: "enc", task: "embed", engine: "onnx", variants: { fp32: "models/spam-encoder" } },
        ],
      },
    });
    client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    ai = new GoogleGenAI({ apiKey: API_KEY, httpOptions: { baseUrl: running.url } });
  });
  after(async () => {
    await running.close();
    await upstream.close();
    await openAi.close();
  });

  test("echo with logprobs: the prompt's tokens come back with their log-probabilities, as an independent evaluation scores them", async () => {
    const prompt = "The whale is a large animal";
    const completion = await client.completions.create({
      model: "base",
      prompt,
      max_tokens: 1,
      temperature: 0,
      logprobs: 1,
      echo: true,
    });
    const choice = completion.choices[0];
    const logprobs = choice?.logprobs;
    assert.ok(choice?.text.startsWith(prompt), choice?.text);
    assert.ok(logprobs?.tokens && logprobs.token_logprobs && logprobs.text_offset);
    const tokens = logprobs.tokens;
    const tokenLogprobs = logprobs.token_logprobs;
    const textOffset = logprobs.text_offset;

    await withReferenceDistributions(
      "models/lm-small-q8_0.gguf",
      (model) => [model.tokens.bos as Token, ...model.tokenize(prompt)],
      (_model, ids, distributions) => {
        // The prompt's tokens (BOS left out), then the one generated token.
        assert.equal(tokens.length, ids.length);
        assert.equal(tokens.slice(0, -1).join(""), prompt);
        for (let i = 1; i < ids.length; i++) {
          const expected = Math.log(distributions[i - 1]?.get(ids[i] as Token) ?? 0);
          const reported = tokenLogprobs[i - 1] ?? Number.NaN;
          assert.ok(Math.abs(reported - expected) < 1e-4, `token ${i}: ${reported} vs ${expected}`);
        }
        assert.equal(textOffset[1], tokens[0]?.length);
      },
    );
  });

  test("a prompt of token ids (what lm-evaluation-harness sends by default) is taken as given: the same log-probabilities as its text", async () => {
    const prompt = "The whale is a large animal";
    const asked = (input: string | number[]) =>
      client.completions.create({
        model: "base",
        prompt: input,
        max_tokens: 1,
        temperature: 0,
        logprobs: 1,
        echo: true,
      });
    const llama = await getLlama({ gpu: false, build: "never" });
    const model = await llama.loadModel({ modelPath: join(repoRoot, "models/lm-small-q8_0.gguf") });
    const ids: number[] = [model.tokens.bos as Token, ...model.tokenize(prompt)];
    await model.dispose();
    // One after the other: evaluated in one batch together, two prompts' sums can differ in the last bits.
    const byText = await asked(prompt);
    const byIds = await asked(ids);
    assert.deepEqual(byIds.choices[0]?.logprobs?.token_logprobs, byText.choices[0]?.logprobs?.token_logprobs);
    assert.equal(byIds.usage?.prompt_tokens, ids.length);
    assert.ok(byIds.choices[0]?.text.startsWith(prompt), byIds.choices[0]?.text);
    // An id outside the vocabulary, and ids to an upstream that takes text, are refused by name.
    for (const [model, input] of [
      ["base", [1, 999_999]],
      ["gemini-up", [1, 2, 3]],
    ] as const) {
      const error = await client.completions.create({ model, prompt: [...input], max_tokens: 1 }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof OpenAI.BadRequestError, String(error));
      assert.equal(error.param, "prompt");
    }
  });

  test("countTokens counts what generateContent is prompted with, template applied; a Gemini upstream is asked; an OpenAI one refused", async () => {
    const contents = [{ role: "user", parts: [{ text: "Name a sea animal." }] }];
    const counted = await ai.models.countTokens({ model: "chat", contents });
    const generated = await ai.models.generateContent({
      model: "chat",
      contents,
      config: { maxOutputTokens: 1 },
    });
    assert.equal(counted.totalTokens, generated.usageMetadata?.promptTokenCount);
    assert.ok((counted.totalTokens ?? 0) > 5);
    // A Gemini upstream counts its own tokens: the client's request goes to its :countTokens.
    upstream.received.length = 0;
    const remote = await ai.models.countTokens({ model: "gemini-up", contents });
    const sent = upstream.received.at(-1);
    assert.deepEqual(sent, { generateContentRequest: { contents, model: "models/g" } });
    assert.equal(remote.totalTokens, JSON.stringify(sent).length);
    // An OpenAI-format upstream has no token count to ask for.
    const refused = await fetch(`${running.url}/v1beta/models/openai-chat:countTokens?key=${API_KEY}`, {
      method: "POST",
      body: JSON.stringify({ contents }),
    });
    assert.equal(refused.status, 400);
  });

  test("models.list and models.get (Gemini), models.retrieve (OpenAI); ?key= authenticates Gemini clients", async () => {
    const names: string[] = [];
    for await (const model of await ai.models.list({ config: { pageSize: 2 } })) names.push(model.name ?? "");
    assert.deepEqual(names, [
      "models/base",
      "models/base:q8_0",
      "models/chat",
      "models/chat:q8_0",
      "models/gemini-up",
      "models/gemini-embed",
      "models/openai-embed",
      "models/openai-chat",
      "models/enc",
      "models/enc:fp32",
    ]);
    const chat = await ai.models.get({ model: "chat" });
    assert.equal(chat.inputTokenLimit, 256);
    assert.deepEqual(chat.supportedActions, ["generateContent", "streamGenerateContent", "countTokens"]);
    // A Gemini upstream is asked to count; an OpenAI-format one cannot be, so it does not offer countTokens.
    const remote = await ai.models.get({ model: "gemini-up" });
    assert.deepEqual(remote.supportedActions, ["generateContent", "streamGenerateContent", "countTokens"]);
    const openAiChat = await ai.models.get({ model: "openai-chat" });
    assert.deepEqual(openAiChat.supportedActions, ["generateContent", "streamGenerateContent"]);
    assert.equal((await client.models.retrieve("base:q8_0")).id, "base:q8_0");
    await assert.rejects(client.models.retrieve("nope"), OpenAI.NotFoundError);

    assert.equal((await fetch(`${running.url}/v1beta/models?key=${API_KEY}`)).status, 200);
    assert.equal((await fetch(`${running.url}/v1beta/models?key=wrong`)).status, 401);
  });

  test("embeddings dimensions: passed to upstreams that shorten vectors, refused by a local model for any length but its own", async () => {
    await client.embeddings.create({ model: "openai-embed", input: "a whale", dimensions: 2 });
    assert.equal(openAi.received.at(-1)?.dimensions, 2);
    await client.embeddings.create({ model: "gemini-embed", input: "a whale", dimensions: 2 });
    const requests = upstream.received.at(-1)?.requests as { outputDimensionality?: number }[];
    assert.equal(requests[0]?.outputDimensionality, 2);

    const own = (await client.embeddings.create({ model: "enc", input: "a whale", encoding_format: "float" }))
      .data[0]?.embedding.length;
    assert.ok(own && own > 2);
    const same = await client.embeddings.create({
      model: "enc",
      input: "a whale",
      dimensions: own,
      encoding_format: "float",
    });
    assert.equal(same.data[0]?.embedding.length, own);
    await assert.rejects(
      client.embeddings.create({ model: "enc", input: "a whale", dimensions: 8 }),
      (error: unknown) =>
        error instanceof OpenAI.BadRequestError &&
        error.param === "dimensions" &&
        error.message.includes(`${own}-dimensional`),
    );
  });
});
