import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A local server speaking OpenAI's wire format (completions, chat completions, embeddings; streamed or not),
 * answering at once or with set delays, and failing on demand — the upstream for gateway tests and benchmarks.
 */
export interface MockUpstreamBehaviour {
  /** Text pieces of every answer (one SSE chunk each when streamed). */
  pieces: string[];
  /** Delay before the first streamed piece, and between pieces. */
  ttftMs: number;
  itlMs: number;
  /** Answer every request with this status and an OpenAI error body. */
  failWith?: number;
  /** Cut the stream (no [DONE]) after this many pieces. */
  cutAfter?: number;
}

export interface MockUpstream {
  url: string;
  behaviour: MockUpstreamBehaviour;
  /** Request bodies received, newest last. */
  received: Record<string, unknown>[];
  close(): Promise<void>;
}

const DEFAULTS: MockUpstreamBehaviour = { pieces: ["Hello", ",", " world", "!"], ttftMs: 0, itlMs: 0 };

export async function startMockUpstream(
  behaviour: Partial<MockUpstreamBehaviour> = {},
  options: { record?: boolean } = { record: true },
): Promise<MockUpstream> {
  const state: MockUpstream = {
    url: "",
    behaviour: { ...DEFAULTS, ...behaviour },
    received: [],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer({ noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => {
    void answer(req, res, state, options.record !== false);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  const close = state.close;
  state.close = async () => {
    server.closeAllConnections();
    await close();
  };
  return state;
}

async function answer(req: IncomingMessage, res: ServerResponse, state: MockUpstream, record: boolean) {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
  if (record) state.received.push(body);
  const { behaviour } = state;
  if (behaviour.failWith !== undefined) {
    return json(res, behaviour.failWith, {
      error: { message: `mock failure ${behaviour.failWith}`, type: "server_error", param: null, code: null },
    });
  }
  const created = 1_700_000_000;
  if (req.url === "/v1/embeddings") {
    const inputs = [body.input].flat() as string[];
    return json(res, 200, {
      object: "list",
      data: inputs.map((text, index) => ({
        object: "embedding",
        index,
        embedding: [text.length, index, 0.5],
      })),
      model: body.model,
      usage: { prompt_tokens: inputs.length * 3, total_tokens: inputs.length * 3 },
    });
  }
  const chat = req.url === "/v1/chat/completions";
  const usage = {
    prompt_tokens: 7,
    completion_tokens: behaviour.pieces.length,
    total_tokens: 7 + behaviour.pieces.length,
  };
  const id = chat ? "chatcmpl-mock" : "cmpl-mock";
  if (body.stream !== true) {
    const text = behaviour.pieces.join("");
    return json(res, 200, {
      id,
      object: chat ? "chat.completion" : "text_completion",
      created,
      model: body.model,
      choices: [
        chat
          ? { index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason: "stop" }
          : { index: 0, text, logprobs: null, finish_reason: "stop" },
      ],
      usage,
    });
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const event = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: chat ? "chat.completion.chunk" : "text_completion", created, model: body.model, choices: [choice], ...extra })}\n\n`;
  const piece = (text: string, first: boolean) =>
    chat
      ? {
          index: 0,
          delta: first ? { role: "assistant", content: text } : { content: text },
          logprobs: null,
          finish_reason: null,
        }
      : { index: 0, text, logprobs: null, finish_reason: null };
  if (behaviour.ttftMs > 0) await sleep(behaviour.ttftMs);
  for (const [index, text] of behaviour.pieces.entries()) {
    if (index > 0 && behaviour.itlMs > 0) await sleep(behaviour.itlMs);
    if (behaviour.cutAfter !== undefined && index >= behaviour.cutAfter) {
      await sleep(20); // let what was written reach the client first
      res.destroy();
      return;
    }
    res.write(event(piece(text, index === 0)));
  }
  const last = chat
    ? { index: 0, delta: {}, logprobs: null, finish_reason: "stop" }
    : { index: 0, text: "", logprobs: null, finish_reason: "stop" };
  res.write(event(last));
  const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
  if (streamOptions?.include_usage) {
    res.write(
      `data: ${JSON.stringify({ id, object: chat ? "chat.completion.chunk" : "text_completion", created, model: body.model, choices: [], usage })}\n\n`,
    );
  }
  res.end("data: [DONE]\n\n");
}

function json(res: ServerResponse, status: number, body: unknown) {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}
