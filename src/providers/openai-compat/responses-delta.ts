import { UpstreamError } from "../../core/errors.js";
import type { FinishReason, ToolCallDelta, Usage } from "../../core/types.js";
import type { ChoiceDelta, RemoteDelta } from "../remote-model.js";

/**
 * What a Responses API answer carries, whole (the response object) or one streamed event of it: output text,
 * function calls (told apart by their output index), and at the end the status and usage. A failed response is
 * an upstream error, not an answer.
 */
interface OutputItemWire {
  type?: string;
  call_id?: string;
  name?: string;
  arguments?: string;
  content?: { type?: string; text?: string }[];
}

interface ResponseWire {
  status?: string;
  output?: OutputItemWire[];
  usage?: { input_tokens?: number; output_tokens?: number } | null;
  error?: { message?: string } | null;
}

interface EventWire {
  type?: string;
  delta?: string;
  output_index?: number;
  item?: OutputItemWire;
  response?: ResponseWire;
  message?: string;
}

/** A Responses answer has one choice; what one event or response says of it, and of usage. */
type AnswerDelta = Omit<ChoiceDelta, "index"> & { usage: Usage | null };

const NOTHING: AnswerDelta = { text: "", finishReason: null, usage: null };

export function parseResponsesDelta(value: unknown): RemoteDelta {
  const delta = answerDelta(value);
  const choice: ChoiceDelta = { index: 0, text: delta.text, finishReason: delta.finishReason };
  if (delta.toolCalls) choice.toolCalls = delta.toolCalls;
  return { choices: [choice], usage: delta.usage };
}

function answerDelta(value: unknown): AnswerDelta {
  const body = value as EventWire & ResponseWire & { object?: string };
  if (body.object === "response") return finished(body);
  switch (body.type) {
    case "response.output_text.delta":
      return { text: body.delta ?? "", finishReason: null, usage: null };
    case "response.output_item.added":
      if (body.item?.type !== "function_call") return NOTHING;
      return {
        ...NOTHING,
        toolCalls: [call(body.output_index ?? 0, body.item, body.item.arguments ?? "")],
      };
    case "response.function_call_arguments.delta":
      return { ...NOTHING, toolCalls: [{ index: body.output_index ?? 0, arguments: body.delta ?? "" }] };
    case "response.completed":
    case "response.incomplete": {
      // The text and calls came in the deltas before; only how it ended is new.
      const { finishReason, usage } = finished(body.response ?? {});
      return { text: "", finishReason, usage };
    }
    case "response.failed":
      throw new UpstreamError(
        "IG_UPSTREAM_ERROR",
        502,
        `upstream: ${body.response?.error?.message ?? "the response failed"}`,
      );
    case "error":
      throw new UpstreamError("IG_UPSTREAM_ERROR", 502, `upstream: ${body.message ?? "stream error"}`);
    default:
      return NOTHING;
  }
}

/** A whole response: its text, its calls, how it ended and what it used. */
function finished(response: ResponseWire): AnswerDelta {
  if (response.status === "failed")
    throw new UpstreamError("IG_UPSTREAM_ERROR", 502, `upstream: ${response.error?.message ?? "failed"}`);
  let text = "";
  const toolCalls: ToolCallDelta[] = [];
  for (const [index, item] of (response.output ?? []).entries()) {
    if (item.type === "message")
      for (const part of item.content ?? []) if (part.type === "output_text") text += part.text ?? "";
    if (item.type === "function_call") toolCalls.push(call(index, item, item.arguments ?? ""));
  }
  const usage: Usage | null = response.usage
    ? { promptTokens: response.usage.input_tokens ?? 0, completionTokens: response.usage.output_tokens ?? 0 }
    : null;
  const finishReason: FinishReason =
    response.status === "incomplete" ? "length" : toolCalls.length > 0 ? "tool_calls" : "stop";
  const delta: AnswerDelta = { text, finishReason, usage };
  if (toolCalls.length > 0) delta.toolCalls = toolCalls;
  return delta;
}

function call(index: number, item: OutputItemWire, args: string): ToolCallDelta {
  const delta: ToolCallDelta = { index, arguments: args };
  if (item.call_id) delta.id = item.call_id;
  if (item.name) delta.name = item.name;
  return delta;
}
