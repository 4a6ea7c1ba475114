import { randomUUID } from "node:crypto";
import type { GenerateChunk, TokenLogprobs, ToolCall } from "../../core/types.js";
import type { ResponsesRequest } from "./responses-schema.js";

/** The Responses API's objects as infergate writes them: the response, its output items, their log-probabilities. */

export function newId(prefix: "resp" | "msg" | "fc"): string {
  return `${prefix}_${randomUUID().replaceAll("-", "")}`;
}

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

/** What a response says of the request that made it, fixed when it starts. */
export interface ResponseHeader {
  id: string;
  createdAt: number;
  model: string;
  body: ResponsesRequest;
}

type Done = NonNullable<GenerateChunk["done"]>;

/** The response object in OpenAI's field order, at one point of its life. */
export function responseObject(
  header: ResponseHeader,
  status: ResponseStatus,
  output: readonly Record<string, unknown>[],
  done?: Done,
  error?: { code: string; message: string },
): Record<string, unknown> {
  const { body } = header;
  return {
    id: header.id,
    object: "response",
    created_at: header.createdAt,
    status,
    background: false,
    completed_at: status === "completed" ? Math.floor(Date.now() / 1000) : null,
    error: error ?? null,
    incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    model: header.model,
    output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: null },
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: body.text?.format ?? { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: "disabled",
    usage: done ? usageOf(done) : null,
    user: body.user ?? null,
  };
}

/** The status a finished generation gives its response: cut off by `max_output_tokens`, or complete. */
export function finishedStatus(done: Done): ResponseStatus {
  return done.finishReason === "length" ? "incomplete" : "completed";
}

function usageOf(done: Done) {
  const { promptTokens, completionTokens } = done.usage;
  return {
    input_tokens: promptTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: promptTokens + completionTokens,
  };
}

export function outputText(text: string, logprobs: readonly TokenLogprobs[] | undefined) {
  return { type: "output_text", annotations: [], logprobs: logprobs ? logprobsWire(logprobs) : [], text };
}

export function messageItem(
  id: string,
  status: ResponseStatus,
  content: readonly Record<string, unknown>[],
): Record<string, unknown> {
  return { id, type: "message", status, content, role: "assistant" };
}

export function functionCallItem(
  id: string,
  status: ResponseStatus,
  call: ToolCall,
): Record<string, unknown> {
  return {
    id,
    type: "function_call",
    status,
    arguments: call.arguments,
    call_id: call.id,
    name: call.name,
  };
}

/** Each token with its UTF-8 bytes, as OpenAI reports them (a token may be part of a character). */
export function logprobsWire(logprobs: readonly TokenLogprobs[]) {
  return logprobs.map(({ token, logprob, top }) => ({
    token,
    bytes: [...Buffer.from(token, "utf8")],
    logprob,
    top_logprobs: top.map((alternative) => ({
      token: alternative.token,
      bytes: [...Buffer.from(alternative.token, "utf8")],
      logprob: alternative.logprob,
    })),
  }));
}
