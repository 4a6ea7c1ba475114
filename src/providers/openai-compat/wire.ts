import type {
  ChatTurn,
  ContentPart,
  FinishReason,
  GenerateRequest,
  TokenLogprobs,
  ToolCall,
  ToolCallDelta,
  ToolDefinition,
} from "../../core/types.js";
import { refuseUnknownFields } from "../../core/validate-generate-request.js";
import type { ChoiceDelta, RemoteDelta } from "../remote-model.js";

/**
 * OpenAI's wire format, both ways, as pure functions: request bodies from typed requests, typed deltas from
 * response bodies and stream events.
 */
export interface OpenAiBody {
  model: string;
  prompt?: string | number[];
  messages?: Record<string, unknown>[];
  max_tokens: number;
  temperature: number;
  n?: number;
  top_p?: number;
  top_k?: number;
  seed?: number;
  stop?: string[];
  presence_penalty?: number;
  frequency_penalty?: number;
  logit_bias?: Readonly<Record<string, number>>;
  stream: boolean;
  stream_options?: { include_usage: boolean };
  ignore_eos?: boolean;
  echo?: boolean;
  /** Completions: the count of top log-probabilities; chat: `true`, with `top_logprobs`. */
  logprobs?: number | boolean;
  top_logprobs?: number;
  response_format?:
    | { type: "json_object" }
    | {
        type: "json_schema";
        json_schema: { name: string; schema: Readonly<Record<string, unknown>>; strict: boolean };
      };
  tools?: { type: "function"; function: ToolDefinition }[];
  tool_choice?: "auto" | "none" | "required" | { type: "function"; function: { name: string } };
  parallel_tool_calls?: boolean;
  reasoning_effort?: string;
}

/**
 * The body for a request the client sent in another format (or that infergate made), from its typed fields.
 * Fields of that format no schema knows cannot be translated, and are refused by name.
 */
export function toOpenAiBody(
  request: GenerateRequest,
  model: string,
  upstreamModel: string,
  stream: boolean,
): OpenAiBody {
  refuseUnknownFields(request, model, "is an OpenAI-format upstream");
  const chat = request.messages !== undefined;
  const body: OpenAiBody = {
    model: upstreamModel,
    ...(request.messages === undefined
      ? { prompt: request.promptTokens ? [...request.promptTokens] : (request.prompt ?? "") }
      : { messages: request.messages.map(toOpenAiMessage) }),
    max_tokens: request.maxTokens,
    temperature: request.temperature,
    ...(request.n !== undefined && request.n > 1 && { n: request.n }),
    ...(request.topP !== undefined && { top_p: request.topP }),
    ...(request.topK !== undefined && { top_k: request.topK }),
    ...(request.seed !== undefined && { seed: request.seed }),
    ...(request.stop && request.stop.length > 0 && { stop: [...request.stop] }),
    ...(request.presencePenalty !== undefined && { presence_penalty: request.presencePenalty }),
    ...(request.frequencyPenalty !== undefined && { frequency_penalty: request.frequencyPenalty }),
    ...(request.logitBias && { logit_bias: request.logitBias }),
    stream,
    ...(stream && { stream_options: { include_usage: true } }),
    // vLLM's extension; sent only when asked for, as OpenAI itself refuses unknown fields.
    ...(request.ignoreEos && { ignore_eos: true }),
    ...(request.echo && { echo: true }),
    ...(request.topLogprobs !== undefined &&
      (chat ? { logprobs: true, top_logprobs: request.topLogprobs } : { logprobs: request.topLogprobs })),
    ...(request.jsonSchema
      ? {
          response_format: {
            type: "json_schema",
            json_schema: { name: "answer", schema: request.jsonSchema, strict: true },
          },
        }
      : request.jsonObject && { response_format: { type: "json_object" } }),
    ...(request.tools && {
      tools: request.tools.map((tool) => ({ type: "function" as const, function: tool })),
    }),
    ...(request.toolChoice && {
      tool_choice:
        typeof request.toolChoice === "string"
          ? request.toolChoice
          : { type: "function" as const, function: { name: request.toolChoice.name } },
    }),
    ...(request.parallelToolCalls !== undefined && { parallel_tool_calls: request.parallelToolCalls }),
    ...(request.reasoningEffort !== undefined && { reasoning_effort: request.reasoningEffort }),
  };
  return body;
}

/** Whole function calls as OpenAI spells them, in an assistant message or a whole answer. */
export function openAiToolCalls(calls: readonly ToolCall[]) {
  return calls.map((call) => ({
    id: call.id,
    type: "function",
    function: { name: call.name, arguments: call.arguments },
  }));
}

function toOpenAiMessage(message: ChatTurn): Record<string, unknown> {
  const wire: Record<string, unknown> = {
    role: message.role,
    content: message.parts ? message.parts.map(toOpenAiPart) : message.content,
  };
  if (message.name) wire.name = message.name;
  if (message.toolCalls) {
    wire.tool_calls = openAiToolCalls(message.toolCalls);
    if (message.content === "") wire.content = null;
  }
  if (message.toolCallId) wire.tool_call_id = message.toolCallId;
  return wire;
}

function toOpenAiPart(part: ContentPart): Record<string, unknown> {
  switch (part.type) {
    case "text":
      return { type: "text", text: part.text };
    case "image":
      return {
        type: "image_url",
        image_url: part.detail ? { url: part.url, detail: part.detail } : { url: part.url },
      };
    case "audio":
      return { type: "input_audio", input_audio: { data: part.data, format: part.format } };
    case "file":
      return {
        type: "file",
        file: {
          ...(part.data !== undefined && { file_data: part.data }),
          ...(part.fileId !== undefined && { file_id: part.fileId }),
          ...(part.filename !== undefined && { filename: part.filename }),
        },
      };
    default:
      return part satisfies never;
  }
}

/** What one response body or stream event carries, whichever endpoint produced it. */
interface ToolCallWire {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface ChoiceWire {
  index?: number;
  text?: string | null;
  message?: { content?: string | null; tool_calls?: ToolCallWire[] | null };
  delta?: { content?: string | null; tool_calls?: ToolCallWire[] | null };
  finish_reason?: string | null;
  logprobs?: CompletionLogprobsWire & ChatLogprobsWire;
}

/** Completions: parallel lists, the alternatives as one object per position. */
interface CompletionLogprobsWire {
  tokens?: string[];
  token_logprobs?: (number | null)[];
  top_logprobs?: (Record<string, number> | null)[];
}

/** Chat completions: one entry per token. */
interface ChatLogprobsWire {
  content?: { token: string; logprob: number; top_logprobs?: { token: string; logprob: number }[] }[] | null;
}

function logprobsOf(wire: ChoiceWire["logprobs"]): TokenLogprobs[] | undefined {
  if (!wire) return undefined;
  if (Array.isArray(wire.content))
    return wire.content.map(({ token, logprob, top_logprobs }) => ({
      token,
      logprob,
      top: top_logprobs ?? [],
    }));
  if (Array.isArray(wire.tokens))
    return wire.tokens.map((token, i) => ({
      token,
      logprob: wire.token_logprobs?.[i] ?? Number.NEGATIVE_INFINITY,
      top: Object.entries(wire.top_logprobs?.[i] ?? {}).map(([alternative, logprob]) => ({
        token: alternative,
        logprob,
      })),
    }));
  return undefined;
}

interface ResponseWire {
  choices?: ChoiceWire[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string };
}

/** A completion or chat completion, whole or one streamed chunk of it: each choice it carries. */
export function parseOpenAiDelta(value: unknown): RemoteDelta {
  const body = value as ResponseWire;
  const usage = body.usage
    ? { promptTokens: body.usage.prompt_tokens ?? 0, completionTokens: body.usage.completion_tokens ?? 0 }
    : null;
  return { choices: (body.choices ?? []).map(choiceDelta), usage };
}

function choiceDelta(choice: ChoiceWire, position: number): ChoiceDelta {
  const delta: ChoiceDelta = {
    index: choice.index ?? position,
    text: choice.text ?? choice.message?.content ?? choice.delta?.content ?? "",
    finishReason: finishReasonOf(choice.finish_reason),
  };
  const logprobs = logprobsOf(choice.logprobs);
  if (logprobs) delta.logprobs = logprobs;
  const calls = choice.message?.tool_calls ?? choice.delta?.tool_calls;
  if (calls && calls.length > 0) delta.toolCalls = calls.map(toolCallDelta);
  return delta;
}

function toolCallDelta(call: ToolCallWire, position: number): ToolCallDelta {
  const delta: ToolCallDelta = { index: call.index ?? position, arguments: call.function?.arguments ?? "" };
  if (call.id) delta.id = call.id;
  if (call.function?.name) delta.name = call.function.name;
  return delta;
}

function finishReasonOf(reason: string | null | undefined): FinishReason | null {
  if (reason === null || reason === undefined) return null;
  return reason === "length" ? "length" : reason === "tool_calls" ? "tool_calls" : "stop";
}
