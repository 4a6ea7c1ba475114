import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Ajv } from "ajv";
import OpenAI from "openai";
import type { ChatCompletionTool } from "openai/resources/chat/completions";
import { LLAMA_RUNTIMES, localModel } from "../helpers.js";
import { weatherChatTool } from "../support/weather-tool.js";
import { API_KEY, type RunningGateway, startGateway } from "./gateway-harness.js";

const weather = weatherChatTool;
const time: ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_time",
    description: "The time now in a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string", maxLength: 24 } },
      required: ["city"],
    },
  },
};

for (const runtime of LLAMA_RUNTIMES)
  describe(`function calling on a local model (${runtime}), in its chat wrapper's own call syntax`, () => {
    let running: RunningGateway;
    let client: OpenAI;
    before(async () => {
      running = await startGateway({
        raw: {
          models: [localModel("chat", "models/lm-small-chat-q8_0.gguf", { context_size: 1024, runtime })],
        },
      });
      client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    });
    after(() => running.close());

    test("tool_choice required: a call of an offered function whose arguments the strict schema accepts", async () => {
      const completion = await client.chat.completions.create({
        model: "chat",
        messages: [{ role: "user", content: "What is the weather in Lisbon?" }],
        tools: [weather, time],
        tool_choice: "required",
        max_tokens: 128,
        temperature: 0,
      });
      const choice = completion.choices[0];
      assert.equal(choice?.finish_reason, "tool_calls");
      const call = choice?.message.tool_calls?.[0];
      assert.ok(call?.type === "function" && /^call_/.test(call.id), JSON.stringify(choice));
      assert.ok(["get_weather", "get_time"].includes(call.function.name));
      const parameters = (call.function.name === "get_weather" ? weather : time).function.parameters;
      assert.ok(
        new Ajv().compile(parameters as object)(JSON.parse(call.function.arguments)),
        call.function.arguments,
      );
      assert.equal(choice?.message.content, null);
    });

    test("a named function, streamed: the SDK assembles the call; its result goes back and the model answers in text", async () => {
      const final = await client.chat.completions
        .stream({
          model: "chat",
          messages: [{ role: "user", content: "Weather in Porto?" }],
          tools: [weather, time],
          tool_choice: { type: "function", function: { name: "get_weather" } },
          max_tokens: 128,
          temperature: 0,
        })
        .finalChatCompletion();
      const call = final.choices[0]?.message.tool_calls?.[0];
      assert.ok(call?.type === "function");
      assert.equal(call.function.name, "get_weather");
      assert.ok(
        new Ajv().compile(weather.function.parameters as object)(JSON.parse(call.function.arguments)),
      );
      const answer = await client.chat.completions.create({
        model: "chat",
        messages: [
          { role: "user", content: "Weather in Porto?" },
          { role: "assistant", content: null, tool_calls: [call] },
          { role: "tool", tool_call_id: call.id, content: '{"temperature": 19, "sky": "clear"}' },
        ],
        tools: [weather, time],
        tool_choice: "none",
        max_tokens: 24,
        temperature: 0,
      });
      assert.equal(answer.choices[0]?.message.tool_calls, undefined);
      assert.ok((answer.choices[0]?.message.content ?? "").length > 0);
      assert.equal(
        answer.choices[0]?.finish_reason === "stop" || answer.choices[0]?.finish_reason === "length",
        true,
      );
    });

    test("tool_choice auto: when the text reaches the call syntax, what came before is the content and the call follows", async () => {
      // No bundled model writes a call of its own accord; a grammar over the free text makes this one write the
      // syntax (inside a JSON string), so the switch from text to a decoded call runs on the real engine.
      const completion = await client.chat.completions.create({
        model: "chat",
        messages: [{ role: "user", content: "Weather in Porto?" }],
        tools: [weather],
        response_format: {
          type: "json_schema",
          json_schema: { name: "text", schema: { enum: ["Let me look. ||call: get_weather"] } },
        },
        max_tokens: 128,
        temperature: 0,
      });
      const choice = completion.choices[0];
      assert.equal(choice?.finish_reason, "tool_calls");
      assert.equal(choice?.message.content, '"Let me look. ');
      const call = choice?.message.tool_calls?.[0];
      assert.ok(call?.type === "function" && call.function.name === "get_weather");
      assert.ok(
        new Ajv().compile(weather.function.parameters as object)(JSON.parse(call.function.arguments)),
      );
      // Without tools the same grammar just writes the text.
      const plain = await client.chat.completions.create({
        model: "chat",
        messages: [{ role: "user", content: "Weather in Porto?" }],
        response_format: {
          type: "json_schema",
          json_schema: { name: "text", schema: { enum: ["Let me look. ||call: get_weather"] } },
        },
        max_tokens: 128,
        temperature: 0,
      });
      assert.equal(plain.choices[0]?.message.content, '"Let me look. ||call: get_weather"');
    });

    test("the prompt documents the tools and writes earlier calls and results in the wrapper's syntax", async () => {
      const messages = [
        { role: "user" as const, content: "Weather in Porto?" },
        {
          role: "assistant" as const,
          content: null,
          tool_calls: [
            {
              id: "call_1",
              type: "function" as const,
              function: { name: "get_weather", arguments: '{"city":"Porto","unit":"c"}' },
            },
          ],
        },
        { role: "tool" as const, tool_call_id: "call_1", content: '{"temperature": 19}' },
      ];
      const withTools = await client.chat.completions.create({
        model: "chat",
        messages,
        tools: [weather],
        max_tokens: 1,
      });
      const without = await client.chat.completions.create({
        model: "chat",
        messages: [{ role: "user", content: "Weather in Porto?" }],
        max_tokens: 1,
      });
      // The function's documentation and the call with its result make the prompt longer.
      assert.ok((withTools.usage?.prompt_tokens ?? 0) > (without.usage?.prompt_tokens ?? 0) + 40);
    });

    test("a call without its result, a result for no call, and an unknown tool_choice are refused by name", async () => {
      const cases: [Record<string, unknown>, string][] = [
        [
          {
            messages: [
              { role: "user", content: "Hi" },
              {
                role: "assistant",
                content: null,
                tool_calls: [
                  { id: "c", type: "function", function: { name: "get_weather", arguments: "{}" } },
                ],
              },
            ],
          },
          "messages[1].tool_calls",
        ],
        [
          {
            messages: [
              { role: "user", content: "Hi" },
              { role: "tool", tool_call_id: "x", content: "1" },
            ],
          },
          "messages[1].tool_call_id",
        ],
        [{ tool_choice: { type: "function", function: { name: "nope" } } }, "tool_choice"],
      ];
      for (const [fields, param] of cases) {
        const error: unknown = await client.chat.completions
          .create({
            model: "chat",
            messages: [{ role: "user", content: "Hi" }],
            tools: [weather],
            max_tokens: 4,
            ...fields,
          } as never)
          .then(
            () => undefined,
            (caught: unknown) => caught,
          );
        assert.ok(error instanceof OpenAI.BadRequestError, `${param}: ${String(error)}`);
        assert.equal(error.param, param);
      }
    });
  });
