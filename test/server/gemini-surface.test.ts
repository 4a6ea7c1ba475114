import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { FunctionCallingConfigMode, type GenerateContentParameters, GoogleGenAI, Type } from "@google/genai";
import { Ajv } from "ajv";
import { localModel } from "../helpers.js";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";
import { API_KEY, type RunningGateway, startGateway } from "./gateway-harness.js";

const CALL = { name: "get_weather", arguments: '{"city":"Lisbon"}' };

/** systemInstruction, a function declaration, a call and its response in history, and structured output. */
function toolRequest(model: string): GenerateContentParameters {
  return {
    model,
    contents: [
      { role: "user", parts: [{ text: "Weather in Porto, then Lisbon?" }] },
      { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Porto" } } }] },
      { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { temperature: 19 } } }] },
    ],
    config: {
      systemInstruction: "Use tools when they help.",
      temperature: 0,
      maxOutputTokens: 48,
      tools: [
        {
          functionDeclarations: [
            {
              name: "get_weather",
              description: "Today's weather in a city",
              parameters: {
                type: Type.OBJECT,
                properties: { city: { type: Type.STRING } },
                required: ["city"],
              },
            },
          ],
        },
      ],
    },
  };
}

describe("the @google/genai SDK through infergate: the Gemini surface, translated or passed through", () => {
  let gemini: MockUpstream;
  let openAi: MockUpstream;
  let running: RunningGateway;
  let ai: GoogleGenAI;
  before(async () => {
    gemini = await startMockUpstream({}, { wire: "gemini" });
    openAi = await startMockUpstream();
    running = await startGateway({
      raw: {
        models: [
          {
            id: "gemini-up",
            task: "generate",
            engine: "gemini",
            base_url: gemini.url,
            upstream_model: "gemini-mock",
          },
          {
            id: "openai-up",
            task: "generate",
            engine: "openai",
            base_url: openAi.url,
            upstream_model: "gpt-mock",
          },
          localModel("chat", "models/lm-small-chat-q8_0.gguf", { context_size: 512 }),
        ],
      },
    });
    ai = new GoogleGenAI({ apiKey: API_KEY, httpOptions: { baseUrl: running.url } });
  });
  after(async () => {
    await running.close();
    await gemini.close();
    await openAi.close();
  });
  beforeEach(() => {
    for (const upstream of [gemini, openAi]) {
      upstream.behaviour = { pieces: ["Hi", "!"], ttftMs: 0, itlMs: 0, toolCalls: [CALL] };
      upstream.received.length = 0;
    }
  });

  test("a Gemini upstream gets the SDK's body as the SDK would send it directly; function calls come back", async () => {
    const direct = new GoogleGenAI({ apiKey: "direct", httpOptions: { baseUrl: gemini.url } });
    await direct.models.generateContent(toolRequest("gemini-mock"));
    const response = await ai.models.generateContent(toolRequest("gemini-up"));
    const [sentDirect, sentThrough] = gemini.received;
    assert.deepEqual(sentThrough, sentDirect);
    assert.deepEqual(
      response.functionCalls?.map(({ name, args }) => ({ name, args })),
      [{ name: "get_weather", args: { city: "Lisbon" } }],
    );
    assert.equal(response.modelVersion, "gemini-up");

    let streamedCalls = 0;
    for await (const chunk of await ai.models.generateContentStream(toolRequest("gemini-up")))
      streamedCalls += chunk.functionCalls?.length ?? 0;
    assert.equal(streamedCalls, 1);
  });

  test("an OpenAI-format upstream gets the translation: system message, tool call and result linked by id, tools", async () => {
    const response = await ai.models.generateContent(toolRequest("openai-up"));
    assert.deepEqual(
      response.functionCalls?.map(({ name, args }) => ({ name, args })),
      [{ name: "get_weather", args: { city: "Lisbon" } }],
    );
    const body = openAi.received.at(-1) as Record<string, unknown>;
    assert.deepEqual(body.messages, [
      { role: "system", content: "Use tools when they help." },
      { role: "user", content: "Weather in Porto, then Lisbon?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_0",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Porto"}' },
          },
        ],
      },
      { role: "tool", content: '{"temperature":19}', tool_call_id: "call_0" },
    ]);
    assert.deepEqual(body.tools, [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Today's weather in a city",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      },
    ]);

    const streamed: string[] = [];
    for await (const chunk of await ai.models.generateContentStream(toolRequest("openai-up")))
      for (const call of chunk.functionCalls ?? []) streamed.push(JSON.stringify(call.args));
    assert.deepEqual(streamed, [CALL.arguments]);
  });

  test("candidateCount through an OpenAI-format upstream (n, each choice a candidate, whole and streamed) and on a local model", async () => {
    openAi.behaviour = { pieces: ["Hi", "!"], ttftMs: 0, itlMs: 0 };
    const request: GenerateContentParameters = {
      model: "openai-up",
      contents: "Hello",
      config: { candidateCount: 2 },
    };
    const response = await ai.models.generateContent(request);
    assert.equal(openAi.received.at(-1)?.n, 2);
    const texts = (candidates: typeof response.candidates) =>
      candidates?.map((candidate) => ({
        index: candidate.index,
        text: candidate.content?.parts?.map((part) => part.text).join(""),
        finishReason: candidate.finishReason,
      }));
    assert.deepEqual(texts(response.candidates), [
      { index: 0, text: "Hi!", finishReason: "STOP" },
      { index: 1, text: "(2) Hi!", finishReason: "STOP" },
    ]);
    assert.equal(response.usageMetadata?.candidatesTokenCount, 4);

    const streamed: string[] = ["", ""];
    const finished = new Set<number>();
    for await (const chunk of await ai.models.generateContentStream(request))
      for (const candidate of chunk.candidates ?? []) {
        const index = candidate.index ?? 0;
        streamed[index] += candidate.content?.parts?.map((part) => part.text ?? "").join("") ?? "";
        if (candidate.finishReason) finished.add(index);
      }
    assert.deepEqual(streamed, ["Hi!", "(2) Hi!"]);
    assert.deepEqual([...finished], [0, 1]);

    // A local model generates the candidates on its parallel sequences: greedy, they agree.
    const local = await ai.models.generateContent({
      model: "chat",
      contents: "Hello",
      config: { candidateCount: 2, temperature: 0, maxOutputTokens: 6 },
    });
    const [first, second] = texts(local.candidates) ?? [];
    assert.equal(second?.index, 1);
    assert.equal(second?.text, first?.text);
  });

  test("a local model: systemInstruction through its chat template, responseSchema by grammar, function calling refused by name", async () => {
    const schema = {
      type: Type.OBJECT,
      properties: { sea: { type: Type.BOOLEAN }, large: { type: Type.BOOLEAN, nullable: true } },
      required: ["sea", "large"],
    };
    const response = await ai.models.generateContent({
      model: "chat",
      contents: "Describe a whale.",
      config: {
        systemInstruction: "Answer as JSON.",
        temperature: 0,
        maxOutputTokens: 64,
        responseMimeType: "application/json",
        responseSchema: schema,
      },
    });
    const validate = new Ajv().compile({
      type: "object",
      properties: { sea: { type: "boolean" }, large: { type: ["boolean", "null"] } },
      required: ["sea", "large"],
      additionalProperties: false,
    });
    assert.ok(validate(JSON.parse(response.text ?? "")), response.text);
    // Function calling, locally: with mode ANY the model must call, under the declaration's grammar; the call
    // and its response in history are written in the chat wrapper's syntax.
    const forced = toolRequest("chat");
    const called = await ai.models.generateContent({
      ...forced,
      config: {
        ...forced.config,
        maxOutputTokens: 96,
        tools: [
          {
            functionDeclarations: [
              {
                name: "get_weather",
                parameters: {
                  type: Type.OBJECT,
                  properties: { city: { type: Type.STRING, maxLength: "16" } },
                  required: ["city"],
                },
              },
            ],
          },
        ],
        toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY } },
      },
    });
    const call = called.functionCalls?.[0];
    assert.equal(call?.name, "get_weather", JSON.stringify(called.candidates));
    assert.equal(typeof call?.args?.city, "string");
  });

  test("what a runtime cannot take is refused by name: unknown fields for a local model, several allowed functions", async () => {
    const cases: [Record<string, unknown>, string, string?][] = [
      [{ safetySettings: [] }, "'safetySettings'", "openai-up"],
      [
        {
          contents: [
            { role: "user", parts: [{ fileData: { mimeType: "application/pdf", fileUri: "gs://b/f.pdf" } }] },
          ],
        },
        "contents[0].parts[0]",
      ],
      [
        { safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }] },
        "safetySettings",
      ],
      [{ generationConfig: { thinkingConfig: { thinkingBudget: 0 } } }, "generationConfig.thinkingConfig"],
      [
        { toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["a", "b"] } } },
        "toolConfig.functionCallingConfig.allowedFunctionNames",
      ],
    ];
    for (const [fields, param, model = "chat"] of cases) {
      const response = await fetch(`${running.url}/v1beta/models/${model}:generateContent`, {
        method: "POST",
        headers: { "x-goog-api-key": API_KEY, "content-type": "application/json" },
        body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "Hi" }] }], ...fields }),
      });
      const body = (await response.json()) as { error: { message: string } };
      assert.equal(response.status, 400, param);
      assert.ok(body.error.message.includes(param), body.error.message);
    }
  });
});
