import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Ajv } from "ajv";
import { getLlama, JinjaTemplateChatWrapper, type Token } from "node-llama-cpp";
import { parseConfig } from "../../../src/config/load-config.js";
import { renderChatPrompt } from "../../../src/core/chat-template.js";
import type { ChatTurn } from "../../../src/core/types.js";
import { createEngines } from "../../../src/engines/engines.js";
import { ModelRegistry } from "../../../src/models/model-registry.js";
import { collect, LLAMA_RUNTIMES, localModel, repoRoot } from "../../helpers.js";

const CHAT_FIXTURE = "models/lm-small-chat-q8_0.gguf";
const TEMPLATE_FILE = "models/lm-small-chat-template.jinja";
for (const runtime of LLAMA_RUNTIMES)
  describe(`chat requests on local models (${runtime}): the GGUF's own chat template, else the transcript`, () => {
    const model = (id: string, file: string, extra: Record<string, unknown> = {}) =>
      localModel(id, file, { ...extra, runtime });
    const config = parseConfig(
      {
        models: [
          model("chat", CHAT_FIXTURE),
          model("base", "models/lm-small-q8_0.gguf"),
          model("forced-transcript", CHAT_FIXTURE, { chat_template: "transcript" }),
          model("template-file", "models/lm-small-q8_0.gguf", { chat_template: TEMPLATE_FILE }),
        ],
      },
      repoRoot,
      "test.yaml",
    );
    const registry = new ModelRegistry(config);
    const engines = createEngines();
    after(() => engines.close());
    const messages: ChatTurn[] = [
      { role: "system", content: "You answer in one word." },
      { role: "user", content: "Name a large sea animal." },
    ];

    test("the chat fixture is prompted with its Jinja template: the same tokens and greedy answer as node-llama-cpp's own rendering", async () => {
      const loaded = await engines.load(registry.resolve("chat"));
      assert.equal(loaded.runtime.chat_template, "JinjaTemplate");
      const answer = await collect(loaded.generate({ messages, maxTokens: 12, temperature: 0 }));

      // Independently: the template file rendered by node-llama-cpp's Jinja wrapper, evaluated greedily.
      const llama = await getLlama({ gpu: false, build: "never" });
      const raw = await llama.loadModel({ modelPath: join(repoRoot, CHAT_FIXTURE) });
      const wrapper = new JinjaTemplateChatWrapper({
        template: readFileSync(join(repoRoot, TEMPLATE_FILE), "utf8"),
        tokenizer: raw.tokenizer,
      });
      const { contextText } = wrapper.generateContextState({
        chatHistory: [
          { type: "system", text: messages[0]?.content ?? "" },
          { type: "user", text: messages[1]?.content ?? "" },
          { type: "model", response: [] },
        ],
      });
      const tokens = contextText.tokenize(raw.tokenizer);
      assert.equal(tokens[0], raw.tokens.bos, "the template puts BOS first");
      assert.match(contextText.toString(), /### User:\nName a large sea animal\.\n\n### Assistant:\n$/);
      assert.equal(answer.done.usage.promptTokens, tokens.length);
      const context = await raw.createContext({ contextSize: 512, threads: 1 });
      const expected: Token[] = [];
      for await (const token of context
        .getSequence()
        .evaluate(tokens, { temperature: 0, yieldEogToken: true })) {
        if (raw.isEogToken(token) || expected.length >= answer.tokenIds.length) break;
        expected.push(token);
      }
      assert.deepEqual(answer.tokenIds, expected);
      assert.equal(loaded.countPromptTokens?.({ messages, maxTokens: 1, temperature: 0 }), tokens.length);
      await context.dispose();
      await raw.dispose();
    });

    test("a base model (no template in its GGUF) and chat_template: transcript get the documented transcript", async () => {
      for (const id of ["base", "forced-transcript"]) {
        const loaded = await engines.load(registry.resolve(id));
        assert.equal(loaded.runtime.chat_template, "transcript", id);
        const answer = await collect(loaded.generate({ messages, maxTokens: 4, temperature: 0 }));
        assert.equal(answer.done.usage.promptTokens, loaded.tokenize(renderChatPrompt(messages)).length, id);
      }
    });

    test("chat_template: FILE applies a Jinja template file to a model without one", async () => {
      const loaded = await engines.load(registry.resolve("template-file"));
      assert.equal(loaded.runtime.chat_template, "JinjaTemplate");
      const chat = await engines.load(registry.resolve("chat"));
      const request = { messages, maxTokens: 1, temperature: 0 };
      assert.equal(loaded.countPromptTokens?.(request), chat.countPromptTokens?.(request));
    });

    test("a JSON schema constrains decoding: valid against the schema for 10 different prompts", async () => {
      const loaded = await engines.load(registry.resolve("chat"));
      const schema = {
        type: "object",
        properties: {
          animal: { type: "string", maxLength: 24 },
          legs: { type: "integer" },
          sea: { type: "boolean" },
        },
        required: ["animal", "legs", "sea"],
        additionalProperties: false,
      };
      const validate = new Ajv().compile(schema);
      const animals = ["whale", "horse", "spider", "eagle", "shark", "cat", "crab", "snake", "ant", "seal"];
      for (const animal of animals) {
        const { text } = await collect(
          loaded.generate({
            messages: [{ role: "user", content: `Describe a ${animal} as JSON.` }],
            maxTokens: 200,
            temperature: 0,
            jsonSchema: schema,
          }),
        );
        assert.ok(validate(JSON.parse(text)), `${animal}: ${text}`);
      }
    });
  });
