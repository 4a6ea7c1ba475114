import type { ChatMessage } from "./schemas.js";

/**
 * The bundled LMs are base models with no chat template of their own, so chat requests are rendered as a plain
 * transcript and generation stops when the model starts the next user turn:
 *
 *     {system and developer messages}\n\n
 *     User: {content}\n
 *     Assistant: {content}\n
 *     ...
 *     Assistant:
 */
export const CHAT_STOP = "\nUser:";

export function renderChatPrompt(messages: readonly ChatMessage[]): string {
  const system: string[] = [];
  const turns: string[] = [];
  for (const message of messages) {
    const content = textOf(message.content);
    if (message.role === "system" || message.role === "developer") system.push(content);
    else turns.push(`${message.role === "assistant" ? "Assistant" : "User"}: ${content}`);
  }
  const head = system.length > 0 ? `${system.join("\n")}\n\n` : "";
  return `${head}${turns.join("\n")}\nAssistant:`;
}

function textOf(content: ChatMessage["content"]): string {
  if (content === null) return "";
  if (typeof content === "string") return content;
  return content.map((part) => part.text).join("");
}
