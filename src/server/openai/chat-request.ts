import { toolDefinition } from "../../core/tool-calls.js";
import type { ChatTurn, ContentPart, GenerateRequest, ToolChoice } from "../../core/types.js";
import type { ChatMessage, ChatRequest, CompletionRequest } from "./schemas.js";

/**
 * OpenAI request bodies as the one request model: messages with their parts and tool calls, and the fields past
 * sampling. Each field is set only when the client sent it, so an engine can tell "not asked" from a default.
 */
export function chatTurns(messages: readonly ChatMessage[]): ChatTurn[] {
  return messages.map(chatTurn);
}

function chatTurn(message: ChatMessage): ChatTurn {
  const content = message.content;
  const turn: ChatTurn = { role: message.role, content: "" };
  if (typeof content === "string") turn.content = content;
  else if (content) {
    let text = "";
    let parts: ContentPart[] | undefined;
    for (const [index, part] of content.entries()) {
      if (part.type === "text") text += part.text;
      else if (part.type === "refusal") text += part.refusal;
      else {
        // The first non-text part: every part so far is kept too, so the order survives.
        parts ??= content.slice(0, index).map((earlier) => ({ type: "text", text: textOf(earlier) }));
        parts.push(contentPart(part));
        continue;
      }
      parts?.push({ type: "text", text: textOf(part) });
    }
    turn.content = text;
    if (parts) turn.parts = parts;
  }
  if (message.name) turn.name = message.name;
  if (message.tool_calls && message.tool_calls.length > 0)
    turn.toolCalls = message.tool_calls.map((call) => ({
      id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
    }));
  if (message.tool_call_id) turn.toolCallId = message.tool_call_id;
  return turn;
}

type WirePart = Exclude<ChatMessage["content"], string | null | undefined>[number];

function textOf(part: WirePart): string {
  return part.type === "text" ? part.text : part.type === "refusal" ? part.refusal : "";
}

function contentPart(part: Exclude<WirePart, { type: "text" | "refusal" }>): ContentPart {
  switch (part.type) {
    case "image_url": {
      const image: ContentPart = { type: "image", url: part.image_url.url };
      if (part.image_url.detail) image.detail = part.image_url.detail;
      return image;
    }
    case "input_audio":
      return { type: "audio", data: part.input_audio.data, format: part.input_audio.format };
    case "file": {
      const file: ContentPart = { type: "file" };
      if (part.file.file_data) file.data = part.file.file_data;
      if (part.file.file_id) file.fileId = part.file.file_id;
      if (part.file.filename) file.filename = part.file.filename;
      return file;
    }
    default:
      return part satisfies never;
  }
}

/** The fields a completions body shares with chat, past sampling. */
export function applyCompletionFields(request: GenerateRequest, body: CompletionRequest): void {
  applyCommonFields(request, body);
  if (body.logprobs !== null && body.logprobs !== undefined) request.topLogprobs = body.logprobs;
  if (body.echo === true) request.echo = true;
}

/** A chat body's fields past sampling: tools, structured output, logprobs, penalties, `n`. */
export function applyChatFields(request: GenerateRequest, body: ChatRequest): void {
  applyCommonFields(request, body);
  if (body.tools && body.tools.length > 0)
    request.tools = body.tools.map(({ function: tool }) =>
      toolDefinition(tool.name, tool.description, tool.parameters, tool.strict),
    );
  if (body.tool_choice) request.toolChoice = toolChoiceOf(body.tool_choice);
  if (body.parallel_tool_calls !== null && body.parallel_tool_calls !== undefined)
    request.parallelToolCalls = body.parallel_tool_calls;
  const format = body.response_format;
  if (format?.type === "json_object") request.jsonObject = true;
  else if (format?.type === "json_schema") {
    if (format.json_schema.schema) request.jsonSchema = format.json_schema.schema;
    else request.jsonObject = true;
  }
  if (body.logprobs === true) request.topLogprobs = body.top_logprobs ?? 0;
  if (body.reasoning_effort) request.reasoningEffort = body.reasoning_effort;
}

function applyCommonFields(request: GenerateRequest, body: CompletionRequest | ChatRequest): void {
  if (body.presence_penalty) request.presencePenalty = body.presence_penalty;
  if (body.frequency_penalty) request.frequencyPenalty = body.frequency_penalty;
  if (body.logit_bias && Object.keys(body.logit_bias).length > 0) request.logitBias = body.logit_bias;
  if (body.n !== null && body.n !== undefined && body.n !== 1) request.n = body.n;
}

function toolChoiceOf(choice: NonNullable<ChatRequest["tool_choice"]>): ToolChoice {
  return typeof choice === "string" ? choice : { name: choice.function.name };
}
