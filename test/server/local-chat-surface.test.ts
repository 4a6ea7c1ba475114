import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Ajv } from "ajv";
import { getLlama, JinjaTemplateChatWrapper, type Token } from "node-llama-cpp";
import OpenAI from "openai";
import { collect, localModel, repoRoot } from "../helpers.js";
import { withReferenceDistributions } from "../support/reference-distributions.js";
import { API_KEY, authorized, type RunningGateway, startGateway } from "./gateway-harness.js";

const local = (id: string, file: string) => localModel(id, file, { context_size: 512 });

const schema = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 32 },
    wild: { type: "boolean" },
    habitat: { enum: ["sea", "land", "air"] },
  },
  required: ["name", "wild", "habitat"],
  additionalProperties: false,
};

describe("the chat surface on local models: honoured, or refused by name", () => {
  let running: RunningGateway;
  let client: OpenAI;
  before(async () => {
    running = await startGateway({
      raw: {
        models: [local("chat", "models/lm-small-chat-q8_0.gguf"), local("base", "models/lm-small-q8_0.gguf")],
      },
    });
    client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
  });
  after(() => running.close());

  test("response_format json_schema reaches the grammar (the engine's own test covers 10 prompts); a keyword it cannot enforce is refused", async () => {
    const validate = new Ajv().compile(schema);
    const completion = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "Describe a whale as JSON." }],
      response_format: { type: "json_schema", json_schema: { name: "animal", schema, strict: true } },
      max_tokens: 96,
      temperature: 0,
    });
    const content = completion.choices[0]?.message.content ?? "";
    assert.ok(validate(JSON.parse(content)), content);
    // The answer ends with its object, not padded with the whitespace the grammar allows after it.
    assert.equal(completion.choices[0]?.finish_reason, "stop", content);
    assert.ok(content.endsWith("}"), content);
    const bounded = {
      ...schema,
      properties: { ...schema.properties, legs: { type: "integer", minimum: 0 } },
    };
    await assert.rejects(
      client.chat.completions.create({
        model: "chat",
        messages: [{ role: "user", content: "Describe a whale as JSON." }],
        response_format: { type: "json_schema", json_schema: { name: "animal", schema: bounded } },
        max_tokens: 8,
      }),
      (error: unknown) =>
        error instanceof OpenAI.BadRequestError &&
        /'minimum' \(at schema\.properties\.legs\)/.test(error.message),
    );
  });

  test("response_format json_object: valid JSON, by a JSON grammar", async () => {
    const completion = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "Give me an object." }],
      response_format: { type: "json_object" },
      max_tokens: 64,
      temperature: 0,
    });
    const content = completion.choices[0]?.message.content ?? "";
    assert.equal(completion.choices[0]?.finish_reason, "stop", content);
    assert.doesNotThrow(() => JSON.parse(content), content);
  });

  test("a chat request is prompted with the GGUF's template: its prompt tokens are node-llama-cpp's rendering", async () => {
    const messages = [
      { role: "system" as const, content: "You answer briefly." },
      { role: "user" as const, content: "Name a sea animal." },
    ];
    const completion = await client.chat.completions.create({
      model: "chat",
      messages,
      max_tokens: 4,
      temperature: 0,
    });
    const llama = await getLlama({ gpu: false, build: "never" });
    const model = await llama.loadModel({ modelPath: join(repoRoot, "models/lm-small-chat-q8_0.gguf") });
    const wrapper = new JinjaTemplateChatWrapper({
      template: readFileSync(join(repoRoot, "models/lm-small-chat-template.jinja"), "utf8"),
      tokenizer: model.tokenizer,
    });
    const { contextText } = wrapper.generateContextState({
      chatHistory: [
        { type: "system", text: "You answer briefly." },
        { type: "user", text: "Name a sea animal." },
        { type: "model", response: [] },
      ],
    });
    assert.equal(completion.usage?.prompt_tokens, contextText.tokenize(model.tokenizer).length);
    await model.dispose();
  });

  test("logprobs: each token's log-probability and top alternatives are the model's own distribution", async () => {
    const prompt = "The whale";
    const completion = await client.completions.create({
      model: "base",
      prompt,
      max_tokens: 6,
      temperature: 0,
      logprobs: 3,
    });
    const logprobs = completion.choices[0]?.logprobs;
    assert.ok(logprobs?.tokens && logprobs.token_logprobs && logprobs.top_logprobs);
    assert.equal(logprobs.tokens.join(""), completion.choices[0]?.text);

    // The answer's token ids, from the engine the gateway serves with (greedy, so the same answer).
    const engine = await running.engines.load(running.registry.resolve("base:q8_0"));
    const answer = (await collect(engine.generate({ prompt, maxTokens: 6, temperature: 0 })))
      .tokenIds as Token[];
    assert.equal(answer.length, logprobs.tokens.length);
    // Independently: the prompt and the answer evaluated by node-llama-cpp, the distribution at each position.
    await withReferenceDistributions(
      "models/lm-small-q8_0.gguf",
      (model) => [model.tokens.bos as Token, ...model.tokenize(prompt), ...answer],
      (model, input, distributions) => {
        const promptLength = input.length - answer.length;
        answer.forEach((token, i) => {
          const distribution = distributions[promptLength - 1 + i] as ReadonlyMap<Token, number>;
          const expected = Math.log(distribution.get(token) ?? 0);
          const reportedLogprob = logprobs.token_logprobs?.[i] ?? 0;
          assert.ok(
            Math.abs(reportedLogprob - expected) < 1e-4,
            `token ${i}: ${reportedLogprob} vs ${expected}`,
          );
          const before = input.slice(0, promptLength + i).slice(-4);
          const top = [...distribution.entries()]
            .slice(0, 3)
            .map(([id, p]) => [model.detokenize([id], false, before), Math.log(p)] as const);
          const reported = Object.entries(logprobs.top_logprobs?.[i] ?? {});
          assert.deepEqual(
            reported.map(([text]) => text),
            top.map(([text]) => text),
          );
          for (const [k, [, logprob]] of reported.entries())
            assert.ok(Math.abs(logprob - (top[k]?.[1] ?? 0)) < 1e-4);
        });
      },
    );

    // Chat: OpenAI's per-token shape, top_logprobs alternatives each.
    const chat = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 4,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
    });
    const content = chat.choices[0]?.logprobs?.content ?? [];
    assert.ok(content.length > 0);
    assert.equal(content.map((entry) => entry.token).join(""), chat.choices[0]?.message.content);
    for (const entry of content) {
      assert.equal(entry.top_logprobs.length, 2);
      assert.ok(entry.logprob <= 0 && entry.logprob >= (entry.top_logprobs[1]?.logprob ?? 0) - 1e-9);
    }
  });

  test("logit_bias is honoured: +100 all but forces a token, -100 all but bans it", async () => {
    const llama = await getLlama({ gpu: false, build: "never" });
    const model = await llama.loadModel({ modelPath: join(repoRoot, "models/lm-small-q8_0.gguf") });
    const whale = model.tokenize("whale").at(-1) as Token;
    const ask = async (bias: Record<string, number>) =>
      (
        await client.completions.create({
          model: "base",
          prompt: "The sea is",
          max_tokens: 3,
          temperature: 0,
          logprobs: 0,
          logit_bias: bias,
        })
      ).choices[0];
    const forced = await ask({ [String(whale)]: 100 });
    // "▁whale" after other words: " whale".
    const piece = model.detokenize([whale], false, model.tokenize("The sea is", false));
    assert.deepEqual(forced?.logprobs?.tokens, [piece, piece, piece]);
    const plain = (await ask({}))?.logprobs?.tokens ?? [];
    const first = model.tokenize(plain[0] ?? "", false).at(-1) as Token;
    const banned = (await ask({ [String(first)]: -100 }))?.logprobs?.tokens ?? [];
    assert.notEqual(banned[0], plain[0], `${plain} vs ${banned}`);
    await model.dispose();
  });

  test("presence and frequency penalties are honoured: a penalised greedy answer repeats less", async () => {
    const ask = async (penalty: number) =>
      (
        await client.completions.create({
          model: "base",
          prompt: "the the the the",
          max_tokens: 24,
          temperature: 0,
          frequency_penalty: penalty,
          presence_penalty: penalty,
        })
      ).choices[0]?.text ?? "";
    const repeats = (text: string) => {
      const words = text.trim().split(/\s+/);
      return words.length - new Set(words).size;
    };
    const plain = await ask(0);
    const penalised = await ask(2);
    assert.notEqual(penalised, plain);
    assert.ok(
      repeats(penalised) < repeats(plain),
      `${JSON.stringify(plain)} vs ${JSON.stringify(penalised)}`,
    );
  });

  test("n choices on parallel sequences: greedy ones equal the single answer, a seeded choice i samples as seed + i, streamed the same", async () => {
    const asked = {
      model: "chat",
      messages: [{ role: "user" as const, content: "Tell me about the sea." }],
      max_tokens: 12,
    };
    const contents = (completion: OpenAI.ChatCompletion) =>
      completion.choices.map(({ index, message }) => [index, message.content]);
    const greedy = await client.chat.completions.create({ ...asked, temperature: 0 });
    const greedyPair = await client.chat.completions.create({ ...asked, temperature: 0, n: 2 });
    const single = greedy.choices[0]?.message.content;
    assert.deepEqual(contents(greedyPair), [
      [0, single],
      [1, single],
    ]);
    assert.equal(greedyPair.usage?.prompt_tokens, greedy.usage?.prompt_tokens);
    assert.equal(greedyPair.usage?.completion_tokens, 2 * (greedy.usage?.completion_tokens ?? 0));

    const sampled = { ...asked, temperature: 1 };
    const [seed11, seed12, pair] = await Promise.all([
      client.chat.completions.create({ ...sampled, seed: 11 }),
      client.chat.completions.create({ ...sampled, seed: 12 }),
      client.chat.completions.create({ ...sampled, seed: 11, n: 2 }),
    ]);
    const expected = [
      [0, seed11.choices[0]?.message.content],
      [1, seed12.choices[0]?.message.content],
    ];
    assert.notEqual(expected[0]?.[1], expected[1]?.[1]);
    assert.deepEqual(contents(pair), expected);
    const streamed = await client.chat.completions
      .stream({ ...sampled, seed: 11, n: 2, stream: true })
      .finalChatCompletion();
    assert.deepEqual(contents(streamed), expected);
  });

  test("every field or part a local model cannot honour gets a 400 naming it", async () => {
    const refusals: [Record<string, unknown>, string][] = [
      [
        {
          model: "base",
          tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
        },
        "tools",
      ],
      [{ n: 3 }, "n"],
      [{ logit_bias: { "999999": 1 } }, "logit_bias"],
      [{ reasoning_effort: "low" }, "reasoning_effort"],
      [{ chat_template_kwargs: { enable_thinking: false } }, "chat_template_kwargs"],
      [
        {
          messages: [
            {
              role: "user",
              content: [
                { type: "text", text: "What is it?" },
                { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
              ],
            },
          ],
        },
        "messages[0].content[1]",
      ],
      [
        {
          messages: [
            {
              role: "user",
              content: [{ type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } }],
            },
          ],
        },
        "messages[0].content[0]",
      ],
      [
        { messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-1" } }] }] },
        "messages[0].content[0]",
      ],
    ];
    for (const [fields, param] of refusals) {
      const response = await fetch(`${running.url}/v1/chat/completions`, {
        method: "POST",
        headers: authorized(),
        body: JSON.stringify({
          model: "chat",
          messages: [{ role: "user", content: "Hi" }],
          max_tokens: 4,
          ...fields,
        }),
      });
      const body = (await response.json()) as { error: { param: string; message: string } };
      assert.equal(response.status, 400, `${param}: ${JSON.stringify(body)}`);
      assert.equal(body.error.param, param);
      assert.match(body.error.message, new RegExp(`${String(fields.model ?? "chat")}:q8_0`));
    }
  });
});
