import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import OpenAI from "openai";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { localModel } from "../helpers.js";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";
import { weatherResponsesTool } from "../support/weather-tool.js";
import { API_KEY, type RunningGateway, startGateway } from "./gateway-harness.js";

const OTHER_KEY = "sk-test-other-0123456789";

const weather = weatherResponsesTool;
const CALL = { name: "get_weather", arguments: '{"city":"Lisbon","unit":"c"}' };

/** The event types a text answer streams, in the order the Responses API documents. */
const TEXT_EVENTS = [
  "response.created",
  "response.in_progress",
  "response.output_item.added",
  "response.content_part.added",
  "response.output_text.delta",
  "response.output_text.done",
  "response.content_part.done",
  "response.output_item.done",
];

/** Consecutive deltas as one: the order of kinds of event is what the API fixes. */
function kinds(events: readonly ResponseStreamEvent[]): string[] {
  return events
    .map((event) => event.type)
    .filter((type, i, all) => !(type.endsWith(".delta") && all[i - 1] === type));
}

async function streamed(client: OpenAI, body: Record<string, unknown>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  const stream = await client.responses.create({
    ...(body as unknown as OpenAI.Responses.ResponseCreateParamsStreaming),
    stream: true,
  });
  for await (const event of stream) events.push(event);
  return events;
}

describe("POST /v1/responses: the Responses API over the serving path", () => {
  let chatUpstream: MockUpstream;
  let responsesUpstream: MockUpstream;
  let running: RunningGateway;
  let client: OpenAI;
  before(async () => {
    chatUpstream = await startMockUpstream();
    responsesUpstream = await startMockUpstream();
    running = await startGateway({
      keys: `${API_KEY},${OTHER_KEY}`,
      raw: {
        models: [
          localModel("chat", "models/lm-small-chat-q8_0.gguf", { context_size: 1024 }),
          {
            id: "bridged",
            task: "generate",
            engine: "openai",
            base_url: chatUpstream.url,
            upstream_model: "mock-chat",
          },
          {
            id: "native",
            task: "generate",
            engine: "openai",
            base_url: responsesUpstream.url,
            upstream_model: "mock-responses",
            responses_api: true,
          },
        ],
      },
    });
    client = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
  });
  after(async () => {
    await running.close();
    await chatUpstream.close();
    await responsesUpstream.close();
  });
  beforeEach(() => {
    for (const upstream of [chatUpstream, responsesUpstream]) {
      upstream.behaviour = { pieces: ["Hello", ",", " world"], ttftMs: 0, itlMs: 0 };
      upstream.received.length = 0;
      upstream.faults.length = 0;
    }
  });

  test("a local model answers, whole and streamed: the events in the documented order, numbered from 0", async () => {
    const request = {
      model: "chat",
      instructions: "Answer briefly.",
      input: "Say hello.",
      max_output_tokens: 12,
      temperature: 0,
    };
    const response = await client.responses.create(request);
    assert.equal(response.object, "response");
    assert.match(response.id, /^resp_/);
    assert.equal(response.model, "chat:q8_0");
    assert.ok(response.output_text.length > 0);
    assert.ok(["completed", "incomplete"].includes(response.status ?? ""));
    assert.ok((response.usage?.input_tokens ?? 0) > 0 && (response.usage?.output_tokens ?? 0) > 0);

    const events = await streamed(client, request);
    assert.deepEqual(
      events.map((event) => event.sequence_number),
      events.map((_, i) => i),
    );
    assert.deepEqual(kinds(events).slice(0, -1), TEXT_EVENTS);
    const last = events.at(-1);
    assert.ok(last?.type === "response.completed" || last?.type === "response.incomplete");
    const message = last.response.output[0];
    assert.ok(message?.type === "message" && message.content[0]?.type === "output_text");
    // Greedy: the same answer as unstreamed; and the SDK's own stream reader accepts the events.
    assert.equal(message.content[0].text, response.output_text);
    const final = await client.responses.stream(request).finalResponse();
    const streamedMessage = final.output[0];
    assert.ok(streamedMessage?.type === "message" && streamedMessage.content[0]?.type === "output_text");
    assert.equal(streamedMessage.content[0].text, response.output_text);
  });

  test("a function-tool round trip on a local model: function_call, then function_call_output by previous_response_id, then text", async () => {
    const first = await client.responses.create({
      model: "chat",
      input: "What is the weather in Lisbon?",
      tools: [weather],
      tool_choice: "required",
      max_output_tokens: 128,
      temperature: 0,
    });
    const call = first.output.find((item) => item.type === "function_call");
    assert.ok(call?.type === "function_call", JSON.stringify(first.output));
    assert.equal(call.name, "get_weather");
    assert.match(call.id ?? "", /^fc_/);
    const args = JSON.parse(call.arguments) as { city: string; unit: string };
    assert.ok(typeof args.city === "string" && ["c", "f"].includes(args.unit));

    const answer = await client.responses.create({
      model: "chat",
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: call.call_id, output: '{"temperature": 19}' }],
      tools: [weather],
      tool_choice: "none",
      max_output_tokens: 16,
      temperature: 0,
    });
    assert.ok(answer.output_text.length > 0);
    assert.equal(answer.previous_response_id, first.id);
    // The whole conversation was the prompt: the question, the call and its result.
    const question = await client.responses.create({
      model: "chat",
      input: "What is the weather in Lisbon?",
      max_output_tokens: 1,
    });
    assert.ok((answer.usage?.input_tokens ?? 0) > (question.usage?.input_tokens ?? 0) + 10);

    // Streamed, the call comes as function_call_arguments events the SDK assembles.
    const events = await streamed(client, {
      model: "chat",
      input: "Weather in Porto?",
      tools: [weather],
      tool_choice: { type: "function", name: "get_weather" },
      max_output_tokens: 128,
      temperature: 0,
    });
    assert.deepEqual(kinds(events), [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const done = events.find((event) => event.type === "response.function_call_arguments.done");
    assert.ok(done?.type === "response.function_call_arguments.done");
    JSON.parse(done.arguments);
  });

  test("bridged to an OpenAI-format chat upstream: items become messages, flat tools become chat tools, calls come back as items", async () => {
    chatUpstream.behaviour.toolCalls = [CALL];
    const response = await client.responses.create({
      model: "bridged",
      instructions: "Use tools.",
      input: [
        { role: "user", content: [{ type: "input_text", text: "Weather in Porto, then Lisbon?" }] },
        {
          type: "function_call",
          call_id: "call_a",
          name: "get_weather",
          arguments: '{"city":"Porto","unit":"c"}',
        },
        { type: "function_call_output", call_id: "call_a", output: '{"temperature":19}' },
      ],
      tools: [weather],
      max_output_tokens: 64,
    });
    const body = chatUpstream.received.at(-1) as Record<string, unknown>;
    assert.equal(body.model, "mock-chat");
    assert.deepEqual(body.messages, [
      { role: "system", content: "Use tools." },
      { role: "user", content: "Weather in Porto, then Lisbon?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_a",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Porto","unit":"c"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_a", content: '{"temperature":19}' },
    ]);
    assert.deepEqual(body.tools, [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: weather.description,
          parameters: weather.parameters,
          strict: true,
        },
      },
    ]);
    assert.equal(body.max_tokens ?? body.max_completion_tokens, 64);
    const call = response.output[0];
    assert.ok(call?.type === "function_call");
    assert.deepEqual(
      { call_id: call.call_id, name: call.name, arguments: call.arguments },
      { call_id: "call_0", ...CALL },
    );

    // Streamed: the upstream's argument pieces become function_call_arguments deltas, in order.
    const final = await client.responses
      .stream({ model: "bridged", input: "Weather in Lisbon?", tools: [weather] })
      .finalResponse();
    const streamedCall = final.output[0];
    assert.ok(streamedCall?.type === "function_call");
    assert.equal(streamedCall.arguments, CALL.arguments);
    assert.equal(final.status, "completed");
  });

  test("an upstream that speaks the Responses API gets the body verbatim but for the model, and its events come back as sent", async () => {
    const request = {
      model: "native",
      input: "Hello?",
      tools: [weather, { type: "web_search" }],
      include: ["web_search_call.action.sources"],
      max_output_tokens: 32,
    };
    const response = await client.responses.create(request as never);
    assert.deepEqual(responsesUpstream.received.at(-1), { ...request, model: "mock-responses" });
    assert.equal(response.id, "resp_mock");
    assert.equal(response.model, "native");
    assert.equal(response.output_text, "Hello, world");

    const events = await streamed(client, request);
    assert.deepEqual(
      events.map((event) => event.sequence_number),
      events.map((_, i) => i),
    );
    const completed = events.at(-1);
    assert.ok(completed?.type === "response.completed");
    assert.equal(completed.response.model, "native");
    // Stored as served: GET returns it, and it can be continued.
    const stored = await client.responses.retrieve("resp_mock");
    assert.equal(stored.model, "native");
  });

  test("previous_response_id continues a conversation; an unknown id is a 400; a stored response is its key's alone", async () => {
    const first = await client.responses.create({ model: "bridged", input: "My name is Ada." });
    await client.responses.create({
      model: "bridged",
      previous_response_id: first.id,
      input: "What is my name?",
    });
    assert.deepEqual((chatUpstream.received.at(-1) as { messages: unknown }).messages, [
      { role: "user", content: "My name is Ada." },
      { role: "assistant", content: "Hello, world" },
      { role: "user", content: "What is my name?" },
    ]);
    const unknown = await client.responses
      .create({ model: "bridged", previous_response_id: "resp_nope", input: "Hi" })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    assert.ok(unknown instanceof OpenAI.BadRequestError);
    assert.equal(unknown.param, "previous_response_id");

    const fetched = await client.responses.retrieve(first.id);
    assert.equal(fetched.output_text, "Hello, world");
    const other = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: OTHER_KEY, maxRetries: 0 });
    await assert.rejects(other.responses.retrieve(first.id), OpenAI.NotFoundError);
    const foreign = await other.responses
      .create({ model: "bridged", previous_response_id: first.id, input: "Hi" })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    assert.ok(foreign instanceof OpenAI.BadRequestError);

    // store: false keeps nothing.
    const unstored = await client.responses.create({ model: "bridged", input: "Hi", store: false });
    await assert.rejects(client.responses.retrieve(unstored.id), OpenAI.NotFoundError);
  });

  test("a failure after the first byte ends the stream with response.failed; what no runtime can honour is refused by name", async () => {
    chatUpstream.faults.push({ cutAfter: 1 });
    const events = await streamed(client, { model: "bridged", input: "Hello?" });
    const last = events.at(-1);
    assert.ok(last?.type === "response.failed", JSON.stringify(last));
    assert.equal(last.response.status, "failed");
    assert.ok(last.response.error?.message);

    const refusals: [Record<string, unknown>, RegExp][] = [
      [{ model: "bridged", tools: [{ type: "web_search" }] }, /tools\[0\] \(web_search\)/],
      [{ model: "chat", include: ["file_search_call.results"] }, /include\[0\]/],
      [{ model: "chat", background: true }, /'background'/],
      [{ model: "chat", input: [{ type: "item_reference", id: "msg_1" }] }, /item_reference/],
    ];
    for (const [fields, message] of refusals) {
      const error = await client.responses
        .create({ input: "Hi", max_output_tokens: 4, ...fields } as never)
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      assert.ok(error instanceof OpenAI.BadRequestError, `${String(message)}: ${String(error)}`);
      assert.match(error.message, message);
    }
  });
});
