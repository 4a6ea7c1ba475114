import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A local server speaking OpenAI's wire format (completions, chat completions, embeddings) or Gemini's
 * (generateContent, streamGenerateContent?alt=sse, batchEmbedContents, countTokens), streamed or not, answering at once or
 * with set delays, and failing on demand — the upstream for gateway tests, fault tests and benchmarks.
 */
export interface MockUpstreamBehaviour {
  /** Text pieces of every answer (one SSE chunk each when streamed). */
  pieces: string[];
  /** Delay before the first streamed piece, and between pieces. */
  ttftMs: number;
  itlMs: number;
  /** Answer every request with this status and an error body. */
  failWith?: number;
  /** Cut the stream (no [DONE]) after this many pieces; cut a whole answer halfway. */
  cutAfter?: number;
  /** Never answer: hold the request until the client gives up. */
  hang?: boolean;
  /** Reset the connection as soon as the request arrives. */
  reset?: boolean;
  /** Answer by a rule on the request body instead of `pieces` (one piece). */
  answerFor?: (body: Record<string, unknown>) => string;
  /** The top alternatives at the first position, sent (in the wire's own shape) when a request asks for logprobs. */
  logprobsFor?: (body: Record<string, unknown>) => { token: string; logprob: number }[];
  /**
   * Answer with these function calls instead of text: OpenAI's `tool_calls` (streamed as deltas, arguments in two
   * pieces, the first delta also carrying a `reasoning_content` field no schema knows) or Gemini's `functionCall`.
   */
  toolCalls?: MockToolCall[];
}

/**
 * Several choices (OpenAI's `n`, Gemini's `candidateCount`) answer the same text, each but the first marked with
 * its number: "(2) Hello, world!".
 */
function choiceText(text: string, choice: number, first = true): string {
  return choice === 0 || !first ? text : `(${choice + 1}) ${text}`;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index);
}

export interface MockToolCall {
  name: string;
  /** JSON text. */
  arguments: string;
}

/** A fault for one request. */
export type Fault = Pick<MockUpstreamBehaviour, "failWith" | "cutAfter" | "hang" | "reset">;

export interface MockUpstream {
  /** The base URL a config's `base_url` takes: `…/v1` for OpenAI, the root for Gemini. */
  url: string;
  behaviour: MockUpstreamBehaviour;
  /** One-shot faults, taken one per request (first first) before `behaviour` applies. */
  faults: Fault[];
  /** Request bodies received, newest last. */
  received: Record<string, unknown>[];
  /** The same bodies' text, byte for byte. */
  receivedText: string[];
  /** Requests received, recorded or not. */
  requests: number;
  close(): Promise<void>;
}

type Wire = "openai" | "gemini";

const DEFAULTS: MockUpstreamBehaviour = { pieces: ["Hello", ",", " world", "!"], ttftMs: 0, itlMs: 0 };

export async function startMockUpstream(
  behaviour: Partial<MockUpstreamBehaviour> = {},
  options: { record?: boolean; wire?: Wire } = {},
): Promise<MockUpstream> {
  const wire = options.wire ?? "openai";
  const state: MockUpstream = {
    url: "",
    behaviour: { ...DEFAULTS, ...behaviour },
    faults: [],
    received: [],
    receivedText: [],
    requests: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer({ noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => {
    void answer(req, res, state, wire, options.record !== false);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.url = wire === "openai" ? `${root}/v1` : root;
  const close = state.close;
  state.close = async () => {
    server.closeAllConnections();
    await close();
  };
  return state;
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  state: MockUpstream,
  wire: Wire,
  record: boolean,
) {
  state.requests++;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8");
  const body = JSON.parse(text || "{}") as Record<string, unknown>;
  if (record) {
    state.received.push(body);
    state.receivedText.push(text);
  }
  const behaviour = { ...state.behaviour, ...state.faults.shift() };
  if (behaviour.reset) {
    req.socket.destroy();
    return;
  }
  if (behaviour.hang) {
    await new Promise((resolve) => res.once("close", resolve));
    return;
  }
  if (behaviour.failWith !== undefined) {
    const message = `mock failure ${behaviour.failWith}`;
    return json(
      res,
      behaviour.failWith,
      wire === "openai"
        ? { error: { message, type: "server_error", param: null, code: null } }
        : { error: { code: behaviour.failWith, message, status: "UNAVAILABLE" } },
    );
  }
  const url = req.url ?? "";
  const speaker =
    wire === "gemini"
      ? geminiSpeaker(url, body)
      : url === "/v1/responses"
        ? responsesSpeaker(body)
        : openAiSpeaker(url, body);
  // OpenAI's chat and completions streams end with [DONE]; Responses and Gemini streams do not.
  const done = wire === "openai" && !speaker.named ? "data: [DONE]\n\n" : undefined;
  const write = (event: unknown) =>
    res.write(
      `${speaker.named ? `event: ${(event as { type: string }).type}\n` : ""}data: ${JSON.stringify(event)}\n\n`,
    );
  const pieces = behaviour.answerFor ? [behaviour.answerFor(body)] : behaviour.pieces;
  if (speaker.immediate) return json(res, 200, speaker.immediate);
  if (behaviour.toolCalls) {
    if (!speaker.stream) return json(res, 200, speaker.calls(behaviour.toolCalls, false)[0]);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    for (const event of speaker.calls(behaviour.toolCalls, true)) write(event);
    res.end(done);
    return;
  }
  if (!speaker.stream) {
    const top = behaviour.logprobsFor?.(body);
    const whole = speaker.whole(pieces.join(""), pieces.length, top);
    return behaviour.cutAfter === undefined ? json(res, 200, whole) : cutShort(res, whole);
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  if (behaviour.ttftMs > 0) await sleep(behaviour.ttftMs);
  for (const [index, text] of pieces.entries()) {
    if (index > 0 && behaviour.itlMs > 0) await sleep(behaviour.itlMs);
    if (behaviour.cutAfter !== undefined && index >= behaviour.cutAfter) {
      await sleep(20); // let what was written reach the client first
      res.destroy();
      return;
    }
    for (const event of [speaker.piece(text, index === 0)].flat()) write(event);
  }
  for (const event of speaker.last(pieces.length)) write(event);
  res.end(done);
}

/** How one wire format spells the answers; the mock's timing and faults are shared. */
interface Speaker {
  stream: boolean;
  /** Events carry `event:` lines (the Responses API's). */
  named?: boolean;
  /** Set for a request answered at once whatever the behaviour (embeddings, a token count): the whole answer. */
  immediate?: unknown;
  whole(text: string, tokens: number, top?: { token: string; logprob: number }[]): unknown;
  /** A streamed piece: one event, or (opening a Responses stream) several. */
  piece(text: string, first: boolean): unknown;
  /** The events that end a stream. */
  last(tokens: number): unknown[];
  /** An answer made of function calls: the whole body, or the stream's events. */
  calls(calls: MockToolCall[], stream: boolean): unknown[];
}

function openAiSpeaker(url: string, body: Record<string, unknown>): Speaker {
  const created = 1_700_000_000;
  const chat = url === "/v1/chat/completions";
  const id = chat ? "chatcmpl-mock" : "cmpl-mock";
  const usage = (tokens: number) => ({
    prompt_tokens: 7,
    completion_tokens: tokens,
    total_tokens: 7 + tokens,
  });
  const chunk = (choice: Record<string, unknown>) => ({
    id,
    object: chat ? "chat.completion.chunk" : "text_completion",
    created,
    model: body.model,
    choices: [choice],
  });
  const inputs = [body.input].flat() as string[];
  const choices = range(typeof body.n === "number" ? body.n : 1);
  return {
    stream: body.stream === true,
    ...(url === "/v1/embeddings" && {
      immediate: {
        object: "list",
        data: inputs.map((text, index) => ({
          object: "embedding",
          index,
          embedding: [text.length, index, 0.5],
        })),
        model: body.model,
        usage: { prompt_tokens: inputs.length * 3, total_tokens: inputs.length * 3 },
      },
    }),
    whole: (text, tokens, top) => {
      const asked = body.logprobs !== undefined && body.logprobs !== false && top && top.length > 0;
      const chosen = top?.[0] ?? { token: text, logprob: 0 };
      const logprobs = !asked
        ? null
        : chat
          ? { content: [{ ...chosen, top_logprobs: top }] }
          : {
              tokens: [chosen.token],
              token_logprobs: [chosen.logprob],
              top_logprobs: [Object.fromEntries(top.map(({ token, logprob }) => [token, logprob]))],
              text_offset: [0],
            };
      return {
        id,
        object: chat ? "chat.completion" : "text_completion",
        created,
        model: body.model,
        choices: choices.map((index) =>
          chat
            ? {
                index,
                message: { role: "assistant", content: choiceText(text, index) },
                logprobs,
                finish_reason: "stop",
              }
            : { index, text: choiceText(text, index), logprobs, finish_reason: "stop" },
        ),
        usage: usage(tokens * choices.length),
      };
    },
    // One choice per chunk, as OpenAI streams several.
    piece: (piece, first) =>
      choices.map((index) => {
        const text = choiceText(piece, index, first);
        return chunk(
          chat
            ? {
                index,
                delta: first ? { role: "assistant", content: text } : { content: text },
                logprobs: null,
                finish_reason: null,
              }
            : { index, text, logprobs: null, finish_reason: null },
        );
      }),
    last: (tokens) => {
      const finishes = choices.map((index) =>
        chunk(
          chat
            ? { index, delta: {}, logprobs: null, finish_reason: "stop" }
            : { index, text: "", logprobs: null, finish_reason: "stop" },
        ),
      );
      const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
      return streamOptions?.include_usage
        ? [...finishes, { ...finishes[0], choices: [], usage: usage(tokens * choices.length) }]
        : finishes;
    },
    calls: (calls, stream) => {
      const wireCalls = calls.map((call, index) => ({
        id: `call_${index}`,
        type: "function",
        function: { name: call.name, arguments: call.arguments },
      }));
      if (!stream)
        return [
          {
            id,
            object: "chat.completion",
            created,
            model: body.model,
            choices: [
              {
                index: 0,
                message: { role: "assistant", content: null, tool_calls: wireCalls, refusal: null },
                logprobs: null,
                finish_reason: "tool_calls",
              },
            ],
            usage: usage(calls.length),
          },
        ];
      const events: unknown[] = [
        chunk({
          index: 0,
          delta: {
            role: "assistant",
            content: null,
            reasoning_content: "calling a tool",
            tool_calls: wireCalls.map((call, index) => ({
              index,
              id: call.id,
              type: "function",
              function: { name: call.function.name, arguments: "" },
            })),
          },
          logprobs: null,
          finish_reason: null,
        }),
      ];
      for (const [index, call] of calls.entries()) {
        const half = call.arguments.length >> 1;
        for (const piece of [call.arguments.slice(0, half), call.arguments.slice(half)])
          events.push(
            chunk({
              index: 0,
              delta: { tool_calls: [{ index, function: { arguments: piece } }] },
              logprobs: null,
              finish_reason: null,
            }),
          );
      }
      events.push(chunk({ index: 0, delta: {}, logprobs: null, finish_reason: "tool_calls" }));
      return events;
    },
  };
}

/** The Responses API, for an upstream configured with `responses_api: true`. */
function responsesSpeaker(body: Record<string, unknown>): Speaker {
  let sequence = 0;
  const event = (type: string, fields: Record<string, unknown>) => ({
    type,
    sequence_number: sequence++,
    ...fields,
  });
  const response = (status: string, output: unknown[], tokens?: number) => ({
    id: "resp_mock",
    object: "response",
    created_at: 1_700_000_000,
    status,
    model: body.model,
    output,
    usage: tokens === undefined ? null : { input_tokens: 7, output_tokens: tokens, total_tokens: 7 + tokens },
  });
  const message = (text: string) => ({
    id: "msg_mock",
    type: "message",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text, annotations: [] }],
  });
  const call = (index: number, { name, arguments: args }: MockToolCall) => ({
    id: `fc_mock${index}`,
    type: "function_call",
    status: "completed",
    call_id: `call_${index}`,
    name,
    arguments: args,
  });
  let text = "";
  return {
    stream: body.stream === true,
    named: true,
    whole: (whole, tokens) => response("completed", [message(whole)], tokens),
    piece: (piece, first) => {
      text += piece;
      const delta = () =>
        event("response.output_text.delta", {
          item_id: "msg_mock",
          output_index: 0,
          content_index: 0,
          delta: piece,
          logprobs: [],
        });
      if (!first) return delta();
      return [
        event("response.created", { response: response("in_progress", []) }),
        event("response.in_progress", { response: response("in_progress", []) }),
        event("response.output_item.added", {
          output_index: 0,
          item: { ...message(""), status: "in_progress", content: [] },
        }),
        event("response.content_part.added", {
          item_id: "msg_mock",
          output_index: 0,
          content_index: 0,
          part: { type: "output_text", text: "", annotations: [] },
        }),
        delta(),
      ];
    },
    last: (tokens) => [
      event("response.output_text.done", { item_id: "msg_mock", output_index: 0, content_index: 0, text }),
      event("response.output_item.done", { output_index: 0, item: message(text) }),
      event("response.completed", { response: response("completed", [message(text)], tokens) }),
    ],
    calls: (calls, stream) => {
      const items = calls.map((each, index) => call(index, each));
      if (!stream) return [response("completed", items, calls.length)];
      const events: unknown[] = [event("response.created", { response: response("in_progress", []) })];
      for (const [index, item] of items.entries()) {
        events.push(
          event("response.output_item.added", {
            output_index: index,
            item: { ...item, status: "in_progress", arguments: "" },
          }),
          event("response.function_call_arguments.delta", {
            item_id: item.id,
            output_index: index,
            delta: item.arguments,
          }),
          event("response.function_call_arguments.done", {
            item_id: item.id,
            output_index: index,
            arguments: item.arguments,
          }),
          event("response.output_item.done", { output_index: index, item }),
        );
      }
      events.push(event("response.completed", { response: response("completed", items, calls.length) }));
      return events;
    },
  };
}

function geminiSpeaker(url: string, body: Record<string, unknown>): Speaker {
  const candidate = (text: string, finish: boolean, index = 0) => ({
    content: { role: "model", parts: [{ text }] },
    ...(finish && { finishReason: "STOP" }),
    index,
  });
  const { candidateCount } = (body.generationConfig ?? {}) as { candidateCount?: number };
  const choices = range(candidateCount ?? 1);
  const usage = (tokens: number) => ({
    promptTokenCount: 7,
    candidatesTokenCount: tokens,
    totalTokenCount: 7 + tokens,
  });
  const requests = (body.requests ?? []) as { content: { parts: { text: string }[] } }[];
  return {
    stream: url.includes(":streamGenerateContent"),
    ...(url.includes(":batchEmbedContents") && {
      immediate: {
        embeddings: requests.map((request, index) => ({
          values: [request.content.parts.map((part) => part.text).join("").length, index, 0.5],
        })),
      },
    }),
    // A token count: one per character of the request's texts, so a test can tell it computed it.
    ...(url.includes(":countTokens") && { immediate: { totalTokens: JSON.stringify(body).length } }),
    whole: (text, tokens, top) => {
      const config = (body.generationConfig ?? {}) as { responseLogprobs?: boolean };
      const asked = config.responseLogprobs === true && top && top.length > 0;
      const asCandidate = ({ token, logprob }: { token: string; logprob: number }) => ({
        token,
        logProbability: logprob,
      });
      return {
        candidates: choices.map((index) => ({
          ...candidate(choiceText(text, index), true, index),
          ...(asked && {
            logprobsResult: {
              topCandidates: [{ candidates: top.map(asCandidate) }],
              chosenCandidates: [asCandidate(top[0] as { token: string; logprob: number })],
            },
          }),
        })),
        usageMetadata: usage(tokens * choices.length),
        modelVersion: "mock",
      };
    },
    // Every candidate in one event, as Gemini streams several.
    piece: (text, first) => ({
      candidates: choices.map((index) => candidate(choiceText(text, index, first), false, index)),
      modelVersion: "mock",
    }),
    last: (tokens) => [
      {
        candidates: choices.map((index) => candidate("", true, index)),
        usageMetadata: usage(tokens * choices.length),
        modelVersion: "mock",
      },
    ],
    calls: (calls) => [
      {
        candidates: [
          {
            content: {
              role: "model",
              parts: calls.map((call) => ({
                functionCall: { name: call.name, args: JSON.parse(call.arguments) },
              })),
            },
            finishReason: "STOP",
            index: 0,
          },
        ],
        usageMetadata: usage(calls.length),
        modelVersion: "mock",
      },
    ],
  };
}

/** Promises the whole body, sends half of it, and drops the connection. */
async function cutShort(res: ServerResponse, body: unknown) {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(200, { "content-type": "application/json", "content-length": payload.length });
  res.write(payload.subarray(0, payload.length >> 1));
  await sleep(20);
  res.destroy();
}

function json(res: ServerResponse, status: number, body: unknown) {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}
