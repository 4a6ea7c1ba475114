import { InvalidRequestError } from "./errors.js";
import type { GenerateRequest } from "./types.js";

/** Bounds every engine relies on; the wire-format schemas at the server edge map onto these. */
export const GENERATE_LIMITS = {
  maxPromptChars: 1_000_000,
  maxTokens: 32_768,
  maxTemperature: 2,
  maxStopStrings: 8,
  maxStopChars: 256,
} as const;

export function validateGenerateRequest(request: GenerateRequest): void {
  const { prompt, promptTokens, messages, maxTokens, temperature, topP, topK, seed, stop, topLogprobs } =
    request;
  if (topLogprobs !== undefined && !(Number.isInteger(topLogprobs) && topLogprobs >= 0 && topLogprobs <= 20))
    throw new InvalidRequestError(
      `top_logprobs must be an integer from 0 to 20, got ${topLogprobs}`,
      "top_logprobs",
    );
  const given = [prompt, promptTokens, messages].filter((input) => input !== undefined).length;
  if (given !== 1) throw new InvalidRequestError("give either a prompt or messages", "prompt");
  if (promptTokens !== undefined && promptTokens.length === 0)
    throw new InvalidRequestError("prompt is empty", "prompt");
  if (messages !== undefined && messages.length === 0)
    throw new InvalidRequestError("messages is empty", "messages");
  if (prompt !== undefined && prompt.length === 0) throw new InvalidRequestError("prompt is empty", "prompt");
  const length = prompt?.length ?? messages?.reduce((sum, message) => sum + message.content.length, 0) ?? 0;
  if (length > GENERATE_LIMITS.maxPromptChars) {
    throw new InvalidRequestError(
      `prompt is longer than ${GENERATE_LIMITS.maxPromptChars} characters`,
      "prompt",
    );
  }
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > GENERATE_LIMITS.maxTokens) {
    throw new InvalidRequestError(
      `max_tokens must be an integer from 1 to ${GENERATE_LIMITS.maxTokens}, got ${maxTokens}`,
      "max_tokens",
    );
  }
  if (!Number.isFinite(temperature) || temperature < 0 || temperature > GENERATE_LIMITS.maxTemperature) {
    throw new InvalidRequestError(
      `temperature must be from 0 to ${GENERATE_LIMITS.maxTemperature}, got ${temperature}`,
      "temperature",
    );
  }
  if (topP !== undefined && !(topP > 0 && topP <= 1)) {
    throw new InvalidRequestError(`top_p must be in (0, 1], got ${topP}`, "top_p");
  }
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) {
    throw new InvalidRequestError(`top_k must be a non-negative integer, got ${topK}`, "top_k");
  }
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) {
    throw new InvalidRequestError(`seed must be an integer from 0 to 2^32-1, got ${seed}`, "seed");
  }
  if (stop !== undefined) {
    if (stop.length > GENERATE_LIMITS.maxStopStrings) {
      throw new InvalidRequestError(`at most ${GENERATE_LIMITS.maxStopStrings} stop strings`, "stop");
    }
    for (const s of stop) {
      if (typeof s !== "string" || s.length === 0 || s.length > GENERATE_LIMITS.maxStopChars) {
        throw new InvalidRequestError(
          `stop strings must be 1-${GENERATE_LIMITS.maxStopChars} characters`,
          "stop",
        );
      }
    }
  }
}

/**
 * Refuses a request carrying fields infergate does not know, naming them: only an upstream that gets the
 * client's body verbatim can honour them. `runtime` says what the model is ("is local", "is a Gemini upstream").
 */
export function refuseUnknownFields(request: GenerateRequest, model: string, runtime: string): void {
  const unknown = request.unknownFields;
  if (!unknown || unknown.length === 0) return;
  throw new InvalidRequestError(
    `model '${model}' ${runtime} and cannot take ${unknown.map((field) => `'${field}'`).join(", ")}: fields infergate does not know go only, verbatim, to an upstream of the client's own format`,
    unknown[0],
  );
}
