import type { GenerateRequest } from "../../core/types.js";
import type { RemoteDelta } from "../remote-model.js";

/** Gemini's wire format as pure functions: request bodies from typed requests, typed deltas from responses. */
export interface GeminiBody {
  contents: { role: "user" | "model"; parts: { text: string }[] }[];
  systemInstruction?: { parts: { text: string }[] };
  generationConfig: {
    maxOutputTokens: number;
    temperature: number;
    topP?: number;
    topK?: number;
    seed?: number;
    stopSequences?: string[];
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

export function toGeminiBody(request: GenerateRequest): GeminiBody {
  const messages = request.messages ?? [{ role: "user" as const, content: request.prompt ?? "" }];
  const system = messages.filter((message) => message.role === "system" || message.role === "developer");
  return {
    contents: messages
      .filter((message) => message.role !== "system" && message.role !== "developer")
      .map((message) => ({
        role: message.role === "assistant" ? "model" : "user",
        parts: [{ text: message.content }],
      })),
    ...(system.length > 0 && {
      systemInstruction: { parts: system.map((message) => ({ text: message.content })) },
    }),
    generationConfig: {
      maxOutputTokens: request.maxTokens,
      temperature: request.temperature,
      ...(request.topP !== undefined && { topP: request.topP }),
      ...(request.topK !== undefined && { topK: request.topK }),
      ...(request.seed !== undefined && { seed: request.seed }),
      ...(request.stop && request.stop.length > 0 && { stopSequences: [...request.stop] }),
      ...(request.topLogprobs !== undefined && { responseLogprobs: true, logprobs: request.topLogprobs }),
      ...(request.jsonSchema && {
        responseMimeType: "application/json" as const,
        responseSchema: toGeminiSchema(request.jsonSchema),
      }),
    },
  };
}

interface LogprobCandidateWire {
  token?: string;
  logProbability?: number;
}

interface ResponseWire {
  candidates?: {
    content?: { parts?: { text?: string }[] };
    finishReason?: string;
    logprobsResult?: {
      topCandidates?: { candidates?: LogprobCandidateWire[] }[];
      chosenCandidates?: LogprobCandidateWire[];
    };
  }[];
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number };
}

/** A generateContent response, whole or one streamed event of it. */
export function parseGeminiDelta(value: unknown): RemoteDelta {
  const body = value as ResponseWire;
  const candidate = body.candidates?.[0];
  const text = candidate?.content?.parts?.map((part) => part.text ?? "").join("") ?? "";
  const reason = candidate?.finishReason;
  const usage = body.usageMetadata
    ? {
        promptTokens: body.usageMetadata.promptTokenCount ?? 0,
        completionTokens: body.usageMetadata.candidatesTokenCount ?? 0,
      }
    : null;
  const delta: RemoteDelta = {
    text,
    finishReason: reason === undefined ? null : reason === "MAX_TOKENS" ? "length" : "stop",
    usage,
  };
  const result = candidate?.logprobsResult;
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
