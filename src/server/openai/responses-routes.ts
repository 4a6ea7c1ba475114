import { InvalidRequestError, ResponseNotFoundError } from "../../core/errors.js";
import { ToolCallAssembler } from "../../core/tool-calls.js";
import type { ChatTurn, GenerateChunk } from "../../core/types.js";
import { keyOwner } from "../api-keys.js";
import { errorResponse } from "../error-body.js";
import type { Exchange, WholeAnswer } from "../exchange.js";
import { causeOf, recorded, wholeAnswer } from "../exchange.js";
import { admitFor, type GatewayContext } from "../gateway-context.js";
import { toGenerateRequest } from "../generation-request.js";
import { parseJsonText, readBodyText, SseStream, sendJson } from "../http-io.js";
import type { StoredResponse } from "./response-store.js";
import { applyResponsesFields, inputTurns, referencedItems } from "./responses-input.js";
import { RESPONSES_FIELDS, type ResponsesRequest, responsesRequestSchema } from "./responses-schema.js";
import { ResponseEvents } from "./responses-stream.js";
import {
  finishedStatus,
  functionCallItem,
  messageItem,
  newId,
  outputText,
  type ResponseHeader,
  responseObject,
} from "./responses-wire.js";
import { parseBody, unknownFields } from "./schemas.js";

/**
 * `POST /v1/responses` over the same serving path as chat (routes, cache, policies): the input items, with the
 * conversation of `previous_response_id` before them, become the request model's turns. A model whose upstream
 * speaks the Responses API gets the client's body verbatim but for `model`; every other runtime answers as a
 * chat, written back as Responses output items and events.
 */
export async function handleResponses(exchange: Exchange, context: GatewayContext): Promise<void> {
  const text = await readBodyText(exchange.req, context.limits.max_body_bytes);
  const raw = parseJsonText(text);
  const body = parseBody(responsesRequestSchema, raw);
  const owner = keyOwner(exchange.req.headers, exchange.query);
  const referenced = await referencedItems(body.input, (id) => context.responses.item(id, owner));
  const conversation = [...(await earlierTurns(context, body, owner)), ...inputTurns(body.input, referenced)];
  const messages: ChatTurn[] = body.instructions
    ? [{ role: "system", content: body.instructions }, ...conversation]
    : conversation;
  const admitted = await admitFor(exchange, context, body.model, "generate", body.user);
  try {
    const request = toGenerateRequest(context, admitted.model, { messages }, body.max_output_tokens, {
      temperature: body.temperature,
      top_p: body.top_p,
      stream: body.stream,
    });
    const unknown = [...(unknownFields(raw, RESPONSES_FIELDS) ?? []), ...applyResponsesFields(request, body)];
    if (unknown.length > 0) request.unknownFields = unknown;
    request.passthrough = { endpoint: "responses", body: raw as Record<string, unknown>, text };
    const chunks = recorded(exchange, admitted.model.generate(request, exchange.signal))[
      Symbol.asyncIterator
    ]();
    // Awaited before any byte is sent, so a request the model refuses still gets a plain HTTP error status.
    const first = await chunks.next();
    const header: ResponseHeader = {
      id: newId("resp"),
      createdAt: Math.floor(Date.now() / 1000),
      model: admitted.name,
      body,
    };
    const store = async (response: Record<string, unknown>, answer: ChatTurn) => {
      if (body.store === false) return;
      const stored: StoredResponse = { response, conversation: [...conversation, answer] };
      await context.responses.set(String(response.id), owner, stored);
    };
    if (body.stream) {
      await streamResponse(exchange, first, chunks, header, store);
      return;
    }
    const answer = await wholeAnswer(first, chunks);
    const response = answer.raw
      ? // The upstream's own response, under the name the client asked for.
        { ...answer.raw.value, model: header.model }
      : responseObject(header, finishedStatus(answer.done), outputItems(answer), answer.done);
    await store(response, answerTurn(answer));
    sendJson(exchange.res, 200, response);
  } finally {
    admitted.release();
  }
}

/** `GET /v1/responses/{id}`: a stored response, to the key that created it. */
export async function handleGetResponse(exchange: Exchange, context: GatewayContext): Promise<void> {
  const id = exchange.params.id as string;
  const stored = await context.responses.get(id, keyOwner(exchange.req.headers, exchange.query));
  if (!stored) throw new ResponseNotFoundError(id);
  sendJson(exchange.res, 200, stored.response);
}

/** `/v1/responses/{id}`. */
export function matchResponsePath(path: string): Record<string, string> | undefined {
  const prefix = "/v1/responses/";
  if (!path.startsWith(prefix) || path.length === prefix.length) return undefined;
  const id = decodeURIComponent(path.slice(prefix.length));
  return id.includes("/") ? undefined : { id };
}

/** The conversation `previous_response_id` continues; an id the store does not hold is the client's error. */
async function earlierTurns(
  context: GatewayContext,
  body: ResponsesRequest,
  owner: string,
): Promise<readonly ChatTurn[]> {
  const id = body.previous_response_id;
  if (!id) return [];
  const previous = await context.responses.get(id, owner);
  if (!previous)
    throw new InvalidRequestError(
      `previous_response_id '${id}' is not a stored response (never stored, created with store: false, with another key, or evicted)`,
      "previous_response_id",
    );
  return previous.conversation;
}

/** An unstreamed answer's output: its text as one message, then each function call. */
function outputItems(answer: WholeAnswer): Record<string, unknown>[] {
  const status = finishedStatus(answer.done);
  const items: Record<string, unknown>[] = [];
  if (answer.text || !answer.toolCalls)
    items.push(messageItem(newId("msg"), status, [outputText(answer.text, answer.logprobs)]));
  for (const call of answer.toolCalls ?? []) items.push(functionCallItem(newId("fc"), status, call));
  return items;
}

function answerTurn(answer: { text: string; toolCalls?: WholeAnswer["toolCalls"] | undefined }): ChatTurn {
  const turn: ChatTurn = { role: "assistant", content: answer.text };
  if (answer.toolCalls) turn.toolCalls = answer.toolCalls;
  return turn;
}

async function streamResponse(
  exchange: Exchange,
  first: IteratorResult<GenerateChunk>,
  chunks: AsyncIterator<GenerateChunk>,
  header: ResponseHeader,
  store: (response: Record<string, unknown>, answer: ChatTurn) => Promise<void>,
): Promise<void> {
  const sse = new SseStream(exchange.res);
  const events = new ResponseEvents(sse, header);
  let text = "";
  const calls = new ToolCallAssembler();
  const answer = () => answerTurn({ text, toolCalls: calls.calls() });
  let passedThrough = false;
  try {
    for (let step = first; !step.done; step = await chunks.next()) {
      const chunk = step.value;
      text += chunk.text;
      if (chunk.toolCalls) calls.add(chunk.toolCalls);
      if (chunk.raw) {
        // An upstream that speaks the Responses API wrote these events: each goes on as it came, `model`
        // rewritten; its final response is stored before it goes, so a continuation can never outrun it.
        passedThrough = true;
        const event = chunk.raw.value;
        const response = event.response as Record<string, unknown> | undefined;
        if (response && typeof response === "object") response.model = header.model;
        if (event.type === "response.completed" || event.type === "response.incomplete")
          await store(response ?? {}, answer());
        await sse.event(String(event.type), event);
        continue;
      }
      // A passed-through stream's closing summary: its events said it all.
      if (passedThrough) continue;
      if (step === first) await events.start();
      await events.add(chunk);
      if (chunk.done) {
        const response = await events.finish(chunk.done);
        await store(response, answer());
        await events.send(response);
      }
    }
    sse.end();
  } catch (error) {
    // Headers are gone: the stream ends with `response.failed`, never passing for a complete answer.
    const { body } = errorResponse(causeOf(exchange, error), "openai") as {
      body: { error: { message: string } };
    };
    await events.fail({ code: "server_error", message: body.error.message });
    sse.end();
    throw error;
  }
}
