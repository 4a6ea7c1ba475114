import { InvalidRequestError } from "../../core/errors.js";
import type { ChatTurn, GenerateRequest, ToolCallDelta, ToolChoice } from "../../core/types.js";
import { refuseUnknownFields } from "../../core/validate-generate-request.js";
import type { ChoiceDelta, RemoteDelta } from "../remote-model.js";

/** Gemini's wire format: request bodies from the request model, typed deltas from responses. */
export type GeminiPart =
  | { text: string }
  | { inlineData: { mimeType: string; data: string } }
  | { functionCall: { name: string; args: unknown; id?: string } }
  | { functionResponse: { name: string; response: Record<string, unknown>; id?: string } };

export interface GeminiContent {
  role: "user" | "model";
  parts: GeminiPart[];
}

export interface GeminiBody {
  contents: GeminiContent[];
  systemInstruction?: { parts: { text: string }[] };
  tools?: { functionDeclarations: { name: string; description?: string; parameters?: GeminiSchema }[] }[];
  toolConfig?: { functionCallingConfig: { mode: "AUTO" | "ANY" | "NONE"; allowedFunctionNames?: string[] } };
  generationConfig: {
    maxOutputTokens: number;
    temperature: number;
    candidateCount?: number;
    topP?: number;
    topK?: number;
    seed?: number;
    stopSequences?: string[];
    presencePenalty?: number;
    frequencyPenalty?: number;
    responseMimeType?: "application/json";
    responseLogprobs?: boolean;
    logprobs?: number;
    responseSchema?: GeminiSchema;
  };
}

/** Gemini's Schema object: an OpenAPI 3.0 subset with upper-case type names. */
export interface GeminiSchema {
  type?: string;
  enum?: unknown[];
  properties?: Record<string, GeminiSchema>;
  required?: string[];
  items?: GeminiSchema;
  description?: string;
  nullable?: boolean;
  format?: string;
  minItems?: number;
  maxItems?: number;
  propertyOrdering?: string[];
}

/** JSON-Schema keys Gemini's Schema has under the same name and meaning; the rest are left out. */
const GEMINI_SCHEMA_KEYS = new Set([
  "enum",
  "required",
  "description",
  "nullable",
  "format",
  "minItems",
  "maxItems",
]);

/**
 * A JSON Schema as Gemini's `responseSchema`: types upper-cased, properties and items converted, keys Gemini
 * rejects (`additionalProperties`, `$schema`, `title`, …) dropped. Property order is kept as written.
 */
export function toGeminiSchema(schema: Readonly<Record<string, unknown>>): GeminiSchema {
  const converted: GeminiSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "type" && typeof value === "string") converted.type = value.toUpperCase();
    else if (key === "properties" && typeof value === "object" && value !== null) {
      converted.properties = Object.fromEntries(
        Object.entries(value).map(([name, property]) => [
          name,
          toGeminiSchema(property as Record<string, unknown>),
        ]),
      );
      converted.propertyOrdering = Object.keys(value);
    } else if (key === "items" && typeof value === "object" && value !== null)
      converted.items = toGeminiSchema(value as Record<string, unknown>);
    else if (GEMINI_SCHEMA_KEYS.has(key)) Object.assign(converted, { [key]: value });
  }
  return converted;
}

/**
 * The Gemini body for a request: system turns become `systemInstruction`, tool calls and results
 * `functionCall`/`functionResponse` parts, images and audio `inlineData`, tools `functionDeclarations`. What
 * Gemini has no field for is refused by name.
 */
export function toGeminiBody(request: GenerateRequest, model: string): GeminiBody {
  refuseUntranslatable(request, model);
  const messages = request.messages ?? [{ role: "user" as const, content: request.prompt ?? "" }];
  const system = messages.filter((message) => message.role === "system" || message.role === "developer");
  const contents: GeminiContent[] = [];
  const callNames = new Map<string, string>();
  for (const [index, message] of messages.entries()) {
    if (message.role === "system" || message.role === "developer") continue;
    const role = message.role === "assistant" ? "model" : "user";
    const parts: GeminiPart[] =
      message.role === "tool" ? [functionResponse(message, index, callNames)] : contentParts(message, index);
    for (const call of message.toolCalls ?? []) {
      callNames.set(call.id, call.name);
      parts.push({ functionCall: { name: call.name, args: parseArguments(call.arguments, index) } });
    }
    const previous = contents.at(-1);
    // Gemini takes a turn's function results together, as one user turn.
    const resultsSoFar =
      previous?.role === "user" && !previous.parts.some((part) => !("functionResponse" in part));
    if (message.role === "tool" && previous && resultsSoFar) previous.parts.push(...parts);
    else contents.push({ role, parts });
  }
  const body: GeminiBody = {
    contents,
    ...(system.length > 0 && {
      systemInstruction: { parts: system.map((message) => ({ text: message.content })) },
    }),
    ...(request.tools && {
      tools: [
        {
          functionDeclarations: request.tools.map((tool) => ({
            name: tool.name,
            ...(tool.description !== undefined && { description: tool.description }),
            ...(tool.parameters !== undefined && { parameters: toGeminiSchema(tool.parameters) }),
          })),
        },
      ],
    }),
    ...(request.toolChoice && { toolConfig: { functionCallingConfig: functionCalling(request.toolChoice) } }),
    generationConfig: {
      maxOutputTokens: request.maxTokens,
      temperature: request.temperature,
      ...(request.n !== undefined && request.n > 1 && { candidateCount: request.n }),
      ...(request.topP !== undefined && { topP: request.topP }),
      ...(request.topK !== undefined && { topK: request.topK }),
      ...(request.seed !== undefined && { seed: request.seed }),
      ...(request.stop && request.stop.length > 0 && { stopSequences: [...request.stop] }),
      ...(request.presencePenalty !== undefined && { presencePenalty: request.presencePenalty }),
      ...(request.frequencyPenalty !== undefined && { frequencyPenalty: request.frequencyPenalty }),
      ...(request.topLogprobs !== undefined && {
        responseLogprobs: true,
        ...(request.topLogprobs > 0 && { logprobs: request.topLogprobs }),
      }),
      ...(request.jsonSchema
        ? {
            responseMimeType: "application/json" as const,
            responseSchema: toGeminiSchema(request.jsonSchema),
          }
        : request.jsonObject && { responseMimeType: "application/json" as const }),
    },
  };
  return body;
}

function refuseUntranslatable(request: GenerateRequest, model: string): void {
  refuseUnknownFields(request, model, "is a Gemini upstream");
  if (request.promptTokens)
    throw new InvalidRequestError(
      `model '${model}' is a Gemini upstream, which takes text: a prompt of token ids cannot be sent to it`,
      "prompt",
    );
  if (request.logitBias)
    throw new InvalidRequestError(
      `model '${model}' is a Gemini upstream; Gemini has no logit_bias`,
      "logit_bias",
    );
  if (request.reasoningEffort !== undefined)
    throw new InvalidRequestError(
      `model '${model}' is a Gemini upstream; reasoning_effort has no Gemini equivalent infergate maps yet`,
      "reasoning_effort",
    );
  if (request.echo === true)
    throw new InvalidRequestError(
      `model '${model}' is a Gemini upstream; Gemini cannot echo the prompt`,
      "echo",
    );
  if (request.parallelToolCalls !== undefined)
    throw new InvalidRequestError(
      `model '${model}' is a Gemini upstream; Gemini has no parallel_tool_calls setting`,
      "parallel_tool_calls",
    );
}

function contentParts(message: ChatTurn, index: number): GeminiPart[] {
  if (!message.parts) return message.content === "" && message.toolCalls ? [] : [{ text: message.content }];
  return message.parts.map((part, position): GeminiPart => {
    const param = `messages[${index}].content[${position}]`;
    switch (part.type) {
      case "text":
        return { text: part.text };
      case "image":
        return { inlineData: inlineData(part.url, param, "an image") };
      case "audio":
        return { inlineData: { mimeType: `audio/${part.format}`, data: part.data } };
      case "file":
        if (part.data === undefined)
          throw new InvalidRequestError(
            `${param}: a Gemini upstream takes files by content, not by file_id`,
            param,
          );
        return { inlineData: inlineData(part.data, param, "a file") };
      default:
        return part satisfies never;
    }
  });
}

/** A `data:` URL as Gemini's inline data; Gemini cannot fetch a URL itself. */
function inlineData(url: string, param: string, what: string): { mimeType: string; data: string } {
  const match = /^data:([\w.+-]+\/[\w.+-]+);base64,(.*)$/s.exec(url);
  if (!match)
    throw new InvalidRequestError(
      `${param}: a Gemini upstream takes ${what} as a data: URL (base64), not by link`,
      param,
    );
  return { mimeType: match[1] as string, data: match[2] as string };
}

function functionResponse(
  message: ChatTurn,
  index: number,
  callNames: ReadonlyMap<string, string>,
): GeminiPart {
  const name = message.toolCallId === undefined ? undefined : callNames.get(message.toolCallId);
  if (name === undefined)
    throw new InvalidRequestError(
      `messages[${index}].tool_call_id: a Gemini upstream names the function a result answers, and no earlier assistant turn made a call with id '${message.toolCallId ?? ""}'`,
      `messages[${index}].tool_call_id`,
    );
  let response: Record<string, unknown> = { result: message.content };
  try {
    const parsed: unknown = JSON.parse(message.content);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
      response = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: the result is the text itself.
  }
  return { functionResponse: { name, response } };
}

function parseArguments(text: string, index: number): unknown {
  try {
    return JSON.parse(text === "" ? "{}" : text);
  } catch {
    throw new InvalidRequestError(
      `messages[${index}].tool_calls: a call's arguments are not JSON`,
      `messages[${index}].tool_calls`,
    );
  }
}

function functionCalling(choice: ToolChoice): NonNullable<GeminiBody["toolConfig"]>["functionCallingConfig"] {
  if (choice === "auto") return { mode: "AUTO" };
  if (choice === "none") return { mode: "NONE" };
  if (choice === "required") return { mode: "ANY" };
  return { mode: "ANY", allowedFunctionNames: [choice.name] };
}

interface LogprobCandidateWire {
  token?: string;
  logProbability?: number;
}

interface CandidateWire {
  index?: number;
  content?: {
    parts?: {
      text?: string;
      thought?: boolean;
      functionCall?: { name?: string; args?: unknown; id?: string };
    }[];
  };
  finishReason?: string;
  logprobsResult?: {
    topCandidates?: { candidates?: LogprobCandidateWire[] }[];
    chosenCandidates?: LogprobCandidateWire[];
  };
}

interface ResponseWire {
  candidates?: CandidateWire[];
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number };
}

/**
 * A parser for one answer's generateContent responses, whole or streamed event by event, each candidate a
 * choice. It numbers each candidate's function calls across the answer's events (each arrives whole), and a
 * candidate that called a function finishes with `tool_calls`, as OpenAI's do.
 */
export function geminiDeltaParser(): (value: unknown) => RemoteDelta {
  const calls: number[] = [];
  return (value) => {
    const body = value as ResponseWire;
    const usage = body.usageMetadata
      ? {
          promptTokens: body.usageMetadata.promptTokenCount ?? 0,
          completionTokens: body.usageMetadata.candidatesTokenCount ?? 0,
        }
      : null;
    return {
      choices: (body.candidates ?? []).map((candidate, position) =>
        candidateDelta(candidate, candidate.index ?? position, calls),
      ),
      usage,
    };
  };
}

function candidateDelta(candidate: CandidateWire, index: number, calls: number[]): ChoiceDelta {
  let text = "";
  let toolCalls: ToolCallDelta[] | undefined;
  for (const part of candidate.content?.parts ?? []) {
    if (part.functionCall) {
      const call = calls[index] ?? 0;
      calls[index] = call + 1;
      toolCalls ??= [];
      toolCalls.push({
        index: call,
        id: part.functionCall.id ?? `call_${call}`,
        name: part.functionCall.name ?? "",
        arguments: JSON.stringify(part.functionCall.args ?? {}),
      });
    } else if (part.text && part.thought !== true) text += part.text;
  }
  const reason = candidate.finishReason;
  const delta: ChoiceDelta = {
    index,
    text,
    finishReason:
      reason === undefined
        ? null
        : reason === "MAX_TOKENS"
          ? "length"
          : (calls[index] ?? 0) > 0
            ? "tool_calls"
            : "stop",
  };
  if (toolCalls) delta.toolCalls = toolCalls;
  const result = candidate.logprobsResult;
  if (result?.chosenCandidates)
    delta.logprobs = result.chosenCandidates.map((chosen, i) => ({
      token: chosen.token ?? "",
      logprob: chosen.logProbability ?? Number.NEGATIVE_INFINITY,
      top: (result.topCandidates?.[i]?.candidates ?? []).map((alternative) => ({
        token: alternative.token ?? "",
        logprob: alternative.logProbability ?? Number.NEGATIVE_INFINITY,
      })),
    }));
  return delta;
}
