import type { FinishReason, GenerateRequest, TokenLogprobs } from "../../core/types.js";
import type { RemoteDelta } from "../remote-model.js";

/**
 * OpenAI's wire format, both ways, as pure functions: request bodies from typed requests, typed deltas from
 * response bodies and stream events.
 */
export interface OpenAiBody {
  model: string;
  prompt?: string;
  messages?: { role: string; content: string }[];
  max_tokens: number;
  temperature: number;
  top_p?: number;
  top_k?: number;
  seed?: number;
  stop?: string[];
  stream: boolean;
  stream_options?: { include_usage: boolean };
  ignore_eos?: boolean;
  /** Completions: the count of top log-probabilities; chat: `true`, with `top_logprobs`. */
  logprobs?: number | boolean;
  top_logprobs?: number;
  response_format?: {
    type: "json_schema";
    json_schema: { name: string; schema: Readonly<Record<string, unknown>>; strict: boolean };
  };
}

export function toOpenAiBody(request: GenerateRequest, upstreamModel: string, stream: boolean): OpenAiBody {
  return {
    model: upstreamModel,
    ...(request.messages === undefined
      ? { prompt: request.prompt ?? "" }
      : { messages: request.messages.map(({ role, content }) => ({ role, content })) }),
    max_tokens: request.maxTokens,
    temperature: request.temperature,
    ...(request.topP !== undefined && { top_p: request.topP }),
    ...(request.topK !== undefined && { top_k: request.topK }),
    ...(request.seed !== undefined && { seed: request.seed }),
    ...(request.stop && request.stop.length > 0 && { stop: [...request.stop] }),
    stream,
    ...(stream && { stream_options: { include_usage: true } }),
    // vLLM's extension; sent only when asked for, as OpenAI itself refuses unknown fields.
    ...(request.ignoreEos && { ignore_eos: true }),
    ...(request.topLogprobs !== undefined &&
      (request.messages === undefined
        ? { logprobs: request.topLogprobs }
        : { logprobs: true, top_logprobs: request.topLogprobs })),
    ...(request.jsonSchema && {
      response_format: {
        type: "json_schema",
        json_schema: { name: "answer", schema: request.jsonSchema, strict: true },
      },
    }),
  };
}

/** What one response body or stream event carries, whichever endpoint produced it. */
interface ChoiceWire {
  text?: string | null;
  message?: { content?: string | null };
  delta?: { content?: string | null };
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

/** A completion or chat completion, whole or one streamed chunk of it. */
export function parseOpenAiDelta(value: unknown): RemoteDelta {
  const body = value as ResponseWire;
  const choice = body.choices?.[0];
  const text = choice?.text ?? choice?.message?.content ?? choice?.delta?.content ?? "";
  const usage = body.usage
    ? { promptTokens: body.usage.prompt_tokens ?? 0, completionTokens: body.usage.completion_tokens ?? 0 }
    : null;
  const logprobs = logprobsOf(choice?.logprobs);
  const delta: RemoteDelta = { text, finishReason: finishReasonOf(choice?.finish_reason), usage };
  if (logprobs) delta.logprobs = logprobs;
  return delta;
}

function finishReasonOf(reason: string | null | undefined): FinishReason | null {
  if (reason === null || reason === undefined) return null;
  return reason === "length" ? "length" : "stop";
}
