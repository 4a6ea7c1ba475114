import { completionInput } from "../core/chat-template.js";
import type { GenerateRequest } from "../core/types.js";
import type { ServingModel } from "./serving.js";

/**
 * Tokens left for the completion in a model's context after the prompt, for models with a known context size
 * (in-process models have one); undefined otherwise.
 */
export function roomInContext(model: ServingModel, request: GenerateRequest): number | undefined {
  const contextSize = Number(model.runtime.context_size);
  // Remote models have no known context: checked first, so their chat requests are never rendered here.
  if (!Number.isFinite(contextSize)) return undefined;
  // A model that renders chats with its own template counts its own prompt.
  if (model.countPromptTokens) return Math.max(1, contextSize - model.countPromptTokens(request));
  const { prompt } = completionInput(request);
  if (prompt.length === 0) return undefined;
  return Math.max(1, contextSize - model.tokenize(prompt).length);
}
