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
  };
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
    },
  };
}

interface ResponseWire {
  candidates?: { content?: { parts?: { text?: string }[] }; finishReason?: string }[];
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
  return {
    text,
    finishReason: reason === undefined ? null : reason === "MAX_TOKENS" ? "length" : "stop",
    usage,
  };
}
