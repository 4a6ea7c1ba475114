import type { ChatTurn, GenerateRequest } from "./types.js";

/**
 * Base models have no chat template of their own, so an in-process engine renders chat requests as a plain
 * transcript and stops when the model starts the next user turn:
 *
 *     {system and developer messages}\n\n
 *     User: {content}\n
 *     Assistant: {content}\n
 *     ...
 *     Assistant:
 *
 * Remote providers pass the messages through to a server that applies its model's own template.
 */
export const CHAT_STOP = "\nUser:";

export function renderChatPrompt(messages: readonly ChatTurn[]): string {
  const system: string[] = [];
  const turns: string[] = [];
  for (const message of messages) {
    if (message.role === "system" || message.role === "developer") system.push(message.content);
    else turns.push(`${message.role === "assistant" ? "Assistant" : "User"}: ${message.content}`);
  }
  const head = system.length > 0 ? `${system.join("\n")}\n\n` : "";
  return `${head}${turns.join("\n")}\nAssistant:`;
}

/** The text a completion engine sees for a request, and the stop strings that go with it. */
export function completionInput(request: GenerateRequest): { prompt: string; stop: readonly string[] } {
  const stop = request.stop ?? [];
  if (request.messages === undefined) return { prompt: request.prompt ?? "", stop };
  return { prompt: renderChatPrompt(request.messages), stop: [...stop, CHAT_STOP] };
}
