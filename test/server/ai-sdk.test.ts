import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";
import { localModel } from "../helpers.js";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";
import { API_KEY, type RunningGateway, startGateway } from "./gateway-harness.js";

const getWeather = (calls: unknown[]) =>
  tool({
    description: "Today's weather in a city",
    inputSchema: z.object({ city: z.string().max(24), unit: z.enum(["c", "f"]) }),
    execute: async (input) => {
      calls.push(input);
      return { temperature: 19 };
    },
  });

describe("the Vercel AI SDK's default OpenAI provider (the Responses API) through infergate", () => {
  let upstream: MockUpstream;
  let running: RunningGateway;
  let openai: ReturnType<typeof createOpenAI>;
  before(async () => {
    upstream = await startMockUpstream();
    running = await startGateway({
      raw: {
        models: [
          localModel("chat", "models/lm-small-chat-q8_0.gguf", { context_size: 1024 }),
          {
            id: "bridged",
            task: "generate",
            engine: "openai",
            base_url: upstream.url,
            upstream_model: "mock",
          },
        ],
      },
    });
    openai = createOpenAI({ baseURL: `${running.url}/v1`, apiKey: API_KEY });
  });
  after(async () => {
    await running.close();
    await upstream.close();
  });

  test("generateText and streamText on a local model", async () => {
    const whole = await generateText({
      model: openai("chat"),
      prompt: "Say hello.",
      maxOutputTokens: 12,
      temperature: 0,
    });
    assert.ok(whole.text.length > 0);
    assert.ok((whole.usage.inputTokens ?? 0) > 0);
    const streamed = streamText({
      model: openai("chat"),
      prompt: "Say hello.",
      maxOutputTokens: 12,
      temperature: 0,
    });
    assert.equal(await streamed.text, whole.text);
  });

  test("a tool loop: the SDK runs the local model's call and sends its result back for the answer", async () => {
    const calls: unknown[] = [];
    const result = await generateText({
      model: openai("chat"),
      prompt: "What is the weather in Lisbon?",
      tools: { get_weather: getWeather(calls) },
      toolChoice: "required",
      stopWhen: stepCountIs(2),
      prepareStep: ({ stepNumber }) => (stepNumber > 0 ? { toolChoice: "none" } : {}),
      maxOutputTokens: 128,
      temperature: 0,
    });
    assert.equal(calls.length, 1);
    assert.equal(result.steps.length, 2);
    assert.equal(result.steps[0]?.finishReason, "tool-calls");
    assert.ok(result.text.length > 0);
  });

  test("through an OpenAI-format chat upstream, streamed, with a tool call", async () => {
    upstream.behaviour = {
      pieces: [],
      ttftMs: 0,
      itlMs: 0,
      toolCalls: [{ name: "get_weather", arguments: '{"city":"Lisbon","unit":"c"}' }],
    };
    const calls: unknown[] = [];
    const streamed = streamText({
      model: openai("bridged"),
      prompt: "What is the weather in Lisbon?",
      tools: { get_weather: getWeather(calls) },
    });
    const toolCalls = await streamed.toolCalls;
    assert.deepEqual(
      toolCalls.map((call) => [call.toolName, call.input]),
      [["get_weather", { city: "Lisbon", unit: "c" }]],
    );
    assert.deepEqual(calls, [{ city: "Lisbon", unit: "c" }]);
  });
});
