import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import OpenAI from "openai";
import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionTool,
} from "openai/resources/chat/completions";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";
import { API_KEY, authorized, type RunningGateway, startGateway } from "./gateway-harness.js";

const weather: ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Today's weather in a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
      required: ["city"],
      additionalProperties: false,
    },
    strict: true,
  },
};
const CALL = { name: "get_weather", arguments: '{"city":"Lisbon","unit":"c"}' };
const EXPECTED_CALLS = [{ id: "call_0", type: "function", function: CALL }];

/** The calls as the wire carries them (the SDK's stream helper adds its own parsed arguments). */
function callsOf(message: OpenAI.ChatCompletionMessage | undefined) {
  return message?.tool_calls?.map((call) =>
    call.type === "function"
      ? {
          id: call.id,
          type: call.type,
          function: { name: call.function.name, arguments: call.function.arguments },
        }
      : call,
  );
}

/** A request using most of the chat surface, and a field no schema knows (vLLM's). */
function fullRequest(): ChatCompletionCreateParamsNonStreaming {
  return {
    model: "openai-up",
    messages: [
      { role: "system", content: "Use tools when they help." },
      {
        role: "user",
        content: [
          { type: "text", text: "What is this, and the weather where it was taken?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_a",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Porto"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_a", content: '{"temperature":19}' },
    ],
    tools: [weather],
    tool_choice: "auto",
    parallel_tool_calls: false,
    response_format: { type: "text" },
    presence_penalty: 0.5,
    frequency_penalty: 0.25,
    logit_bias: { "42": -5 },
    seed: 7,
    max_completion_tokens: 64,
    user: "user-1",
    metadata: { team: "search" },
    ...({ chat_template_kwargs: { enable_thinking: false } } as object),
  };
}

describe("a faithful gateway: the whole chat surface reaches the upstream", () => {
  let openAi: MockUpstream;
  let gemini: MockUpstream;
  let running: RunningGateway;
  let client: OpenAI;
  before(async () => {
    openAi = await startMockUpstream();
    gemini = await startMockUpstream({}, { wire: "gemini" });
    running = await startGateway({
      raw: {
        models: [
          {
            id: "openai-up",
            task: "generate",
            engine: "openai",
            base_url: openAi.url,
            upstream_model: "mock-model",
          },
          {
            id: "gemini-up",
            task: "generate",
            engine: "gemini",
            base_url: gemini.url,
            upstream_model: "gemini-mock",
          },
        ],
      },
    });
    client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
  });
  after(async () => {
    await running.close();
    await openAi.close();
    await gemini.close();
  });
  beforeEach(() => {
    for (const upstream of [openAi, gemini]) {
      upstream.behaviour = { pieces: ["Hello", "!"], ttftMs: 0, itlMs: 0, toolCalls: [CALL] };
      upstream.received.length = 0;
      upstream.receivedText.length = 0;
    }
  });

  test("an OpenAI-format upstream receives the client's body verbatim but for the model; the SDK gets its tool calls", async () => {
    const request = fullRequest();
    const completion = await client.chat.completions.create(request);
    assert.deepEqual(openAi.received.at(-1), { ...request, model: "mock-model" });
    const message = completion.choices[0]?.message;
    assert.equal(completion.model, "openai-up");
    assert.equal(completion.choices[0]?.finish_reason, "tool_calls");
    assert.deepEqual(callsOf(message), EXPECTED_CALLS);
  });

  test("verbatim to the byte: the body as the client wrote it (spacing, number forms, escapes, key order), only the model's value changed", async () => {
    const written =
      '{ "messages" : [{"role":"user","content":"caf\\u00e9 \\"model\\": 1"}],\n  "temperature": 1.0, "metadata": {"model": "keep"}, "model": "openai-up" }';
    const response = await fetch(`${running.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: written,
    });
    assert.equal(response.status, 200);
    assert.equal(
      openAi.receivedText.at(-1),
      written.replace('"model": "openai-up"', '"model": "mock-model"'),
    );
    const answer = (await response.json()) as { model: string };
    assert.equal(answer.model, "openai-up", "the answer under the client's name");
  });

  test("streamed: the body goes verbatim, the events come back as sent (unknown delta fields kept), the SDK assembles the calls", async () => {
    const request = { ...fullRequest(), stream: true as const, stream_options: { include_usage: true } };
    const events: unknown[] = [];
    const stream = client.chat.completions.stream(request);
    stream.on("chunk", (chunk) => events.push(chunk));
    const final = await stream.finalChatCompletion();
    assert.deepEqual(openAi.received.at(-1), { ...request, model: "mock-model" });
    assert.deepEqual(callsOf(final.choices[0]?.message), EXPECTED_CALLS);
    assert.equal(final.choices[0]?.finish_reason, "tool_calls");
    const first = events[0] as { model: string; choices: { delta: Record<string, unknown> }[] };
    assert.equal(first.model, "openai-up");
    assert.equal(first.choices[0]?.delta.reasoning_content, "calling a tool");
    // The upstream's own events, one for one: the opening delta, two argument pieces, the finish.
    assert.equal(events.length, 4);
  });

  test("through a Gemini-format upstream: tools, tool results, images and system turns are translated, and the calls come back the same", async () => {
    const { logit_bias, parallel_tool_calls, ...translatable } = fullRequest();
    const sent = { ...translatable, model: "gemini-up" } as Record<string, unknown>;
    delete sent.chat_template_kwargs;
    const completion = await client.chat.completions.create(
      sent as unknown as ChatCompletionCreateParamsNonStreaming,
    );
    assert.deepEqual(callsOf(completion.choices[0]?.message), EXPECTED_CALLS);
    assert.equal(completion.choices[0]?.finish_reason, "tool_calls");
    const body = gemini.received.at(-1) as Record<string, unknown>;
    assert.deepEqual(body.systemInstruction, { parts: [{ text: "Use tools when they help." }] });
    assert.deepEqual(body.contents, [
      {
        role: "user",
        parts: [
          { text: "What is this, and the weather where it was taken?" },
          { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
        ],
      },
      { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Porto" } } }] },
      { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { temperature: 19 } } }] },
    ]);
    assert.deepEqual(body.tools, [
      {
        functionDeclarations: [
          {
            name: "get_weather",
            description: "Today's weather in a city",
            parameters: {
              type: "OBJECT",
              properties: { city: { type: "STRING" }, unit: { type: "STRING", enum: ["c", "f"] } },
              propertyOrdering: ["city", "unit"],
              required: ["city"],
            },
          },
        ],
      },
    ]);
    assert.deepEqual(body.toolConfig, { functionCallingConfig: { mode: "AUTO" } });
    const config = body.generationConfig as Record<string, unknown>;
    assert.equal(config.presencePenalty, 0.5);
    assert.equal(config.frequencyPenalty, 0.25);
    assert.equal(config.maxOutputTokens, 64);

    // Streamed, the SDK's helper assembles the same call.
    const final = await client.chat.completions
      .stream({ ...(sent as unknown as ChatCompletionCreateParamsNonStreaming), stream: true })
      .finalChatCompletion();
    assert.deepEqual(callsOf(final.choices[0]?.message), EXPECTED_CALLS);
    assert.equal(final.choices[0]?.finish_reason, "tool_calls");
    assert.ok(logit_bias && parallel_tool_calls === false);
  });

  test("n choices through a Gemini-format upstream: candidateCount, each candidate a choice, whole and streamed", async () => {
    const asked = { model: "gemini-up", messages: [{ role: "user" as const, content: "Hi" }], n: 3 };
    gemini.behaviour = { pieces: ["Hello", "!"], ttftMs: 0, itlMs: 0 };
    const completion = await client.chat.completions.create(asked);
    const config = gemini.received.at(-1)?.generationConfig as Record<string, unknown>;
    assert.equal(config.candidateCount, 3);
    const expected = [
      { index: 0, content: "Hello!" },
      { index: 1, content: "(2) Hello!" },
      { index: 2, content: "(3) Hello!" },
    ];
    assert.deepEqual(
      completion.choices.map(({ index, message }) => ({ index, content: message.content })),
      expected,
    );
    assert.ok(completion.choices.every((choice) => choice.finish_reason === "stop"));
    assert.equal(completion.usage?.completion_tokens, 6);

    // Streamed, each choice opens with its role and ends with its own finish reason; the SDK assembles all three.
    const stream = client.chat.completions.stream({ ...asked, stream: true });
    const roles: number[] = [];
    stream.on("chunk", (chunk) => {
      for (const choice of chunk.choices) if (choice.delta.role === "assistant") roles.push(choice.index);
    });
    const final = await stream.finalChatCompletion();
    assert.deepEqual(
      final.choices.map(({ index, message }) => ({ index, content: message.content })),
      expected,
    );
    assert.ok(final.choices.every((choice) => choice.finish_reason === "stop"));
    assert.deepEqual(roles, [0, 1, 2]);
  });

  test("what a Gemini upstream has no field for is refused with a 400 naming it", async () => {
    const refusals: [Record<string, unknown>, string][] = [
      [{ logit_bias: { "1": 2 } }, "logit_bias"],
      [{ parallel_tool_calls: false, tools: [weather] }, "parallel_tool_calls"],
      [{ chat_template_kwargs: {} }, "chat_template_kwargs"],
      [{ reasoning_effort: "low" }, "reasoning_effort"],
      [
        {
          messages: [
            {
              role: "user",
              content: [{ type: "image_url", image_url: { url: "https://example.com/cat.png" } }],
            },
          ],
        },
        "messages[0].content[0]",
      ],
      [
        { messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-abc" } }] }] },
        "messages[0].content[0]",
      ],
      [{ messages: [{ role: "tool", tool_call_id: "nowhere", content: "{}" }] }, "messages[0].tool_call_id"],
    ];
    for (const [fields, param] of refusals) {
      const response = await fetch(`${running.url}/v1/chat/completions`, {
        method: "POST",
        headers: authorized(),
        body: JSON.stringify({ model: "gemini-up", messages: [{ role: "user", content: "Hi" }], ...fields }),
      });
      assert.equal(response.status, 400, param);
      const body = (await response.json()) as { error: { param: string; message: string } };
      assert.equal(body.error.param, param);
      assert.match(body.error.message, /gemini-up|Gemini/);
    }
    assert.equal(gemini.received.length, 0);
  });
});
