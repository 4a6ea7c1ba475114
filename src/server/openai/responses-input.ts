import { InvalidRequestError } from "../../core/errors.js";
import { toolDefinition } from "../../core/tool-calls.js";
import type { ChatTurn, ContentPart, GenerateRequest, ToolDefinition } from "../../core/types.js";
import {
  OUTPUT_TEXT_LOGPROBS,
  type ResponsesFunctionTool,
  type ResponsesInputContent,
  type ResponsesInputItem,
  type ResponsesRequest,
  responsesInputItem,
} from "./responses-schema.js";

/**
 * A Responses body's input as the one request model's turns: messages with their parts, consecutive
 * `function_call` items as one assistant turn's tool calls (joined to the assistant message before them, as chat
 * writes it), `function_call_output` items as tool turns. Instructions are not among them: they apply to one
 * request only, never to the conversation a later request continues.
 */
export function inputTurns(
  input: ResponsesRequest["input"],
  referenced: ReadonlyMap<string, ResponsesInputItem> = new Map(),
): ChatTurn[] {
  if (typeof input === "string") return [{ role: "user", content: input }];
  const turns: ChatTurn[] = [];
  for (const [index, given] of input.entries()) {
    const item = given.type === "item_reference" ? (referenced.get(given.id) ?? given) : given;
    const turn = itemTurn(item, `input[${index}]`);
    const previous = turns.at(-1);
    if (turn.toolCalls && previous?.role === "assistant") {
      turns[turns.length - 1] = {
        ...previous,
        toolCalls: [...(previous.toolCalls ?? []), ...turn.toolCalls],
      };
      continue;
    }
    turns.push(turn);
  }
  return turns;
}

function itemTurn(item: ResponsesInputItem, param: string): ChatTurn {
  switch (item.type) {
    case "function_call":
      return {
        role: "assistant",
        content: "",
        toolCalls: [{ id: item.call_id, name: item.name, arguments: item.arguments }],
      };
    case "function_call_output":
      return { role: "tool", toolCallId: item.call_id, ...contentOf(item.output, `${param}.output`) };
    case "item_reference":
      throw new InvalidRequestError(
        `${param}: item_reference '${item.id}' names no stored output item`,
        `${param}.id`,
      );
    case "reasoning":
      throw new InvalidRequestError(
        `${param}: reasoning items belong to the upstream that wrote them and cannot be sent back through infergate; leave them out`,
        param,
      );
    default:
      return { role: item.role, ...contentOf(item.content, `${param}.content`) };
  }
}

/** A message's text (its text parts joined) and, when it has any part that is not text, every part in order. */
function contentOf(
  content: string | readonly ResponsesInputContent[],
  param: string,
): Pick<ChatTurn, "content" | "parts"> {
  if (typeof content === "string") return { content };
  let text = "";
  const parts: ContentPart[] = [];
  let media = false;
  for (const [index, part] of content.entries()) {
    const piece = contentPart(part, `${param}[${index}]`);
    if (piece.type === "text") text += piece.text;
    else media = true;
    parts.push(piece);
  }
  return media ? { content: text, parts } : { content: text };
}

function contentPart(part: ResponsesInputContent, param: string): ContentPart {
  switch (part.type) {
    case "input_text":
    case "output_text":
      return { type: "text", text: part.text };
    case "refusal":
      return { type: "text", text: part.refusal };
    case "input_image": {
      if (!part.image_url)
        throw new InvalidRequestError(
          `${param}: an input_image by file_id is not supported; send image_url (an https or data: URL)`,
          `${param}.file_id`,
        );
      const image: ContentPart = { type: "image", url: part.image_url };
      if (part.detail) image.detail = part.detail;
      return image;
    }
    case "input_file": {
      if (part.file_url)
        throw new InvalidRequestError(
          `${param}: an input_file by file_url is not supported; send file_data or file_id`,
          `${param}.file_url`,
        );
      const file: ContentPart = { type: "file" };
      if (part.file_data) file.data = part.file_data;
      if (part.file_id) file.fileId = part.file_id;
      if (part.filename) file.filename = part.filename;
      return file;
    }
    default:
      return part satisfies never;
  }
}

/**
 * A Responses body's fields past sampling, as the request model holds them: function tools, tool choice, the text
 * format, logprobs and reasoning effort. Hosted tools (web search, file search, …) are named as unknown fields:
 * only an upstream that speaks the Responses API itself can run them.
 */
export function applyResponsesFields(request: GenerateRequest, body: ResponsesRequest): string[] {
  const unknown: string[] = [];
  const tools: ToolDefinition[] = [];
  for (const [index, tool] of (body.tools ?? []).entries()) {
    if (isFunctionTool(tool))
      tools.push(toolDefinition(tool.name, tool.description, tool.parameters, tool.strict));
    else unknown.push(`tools[${index}] (${tool.type})`);
  }
  if (tools.length > 0) request.tools = tools;
  const choice = body.tool_choice;
  if (choice) request.toolChoice = typeof choice === "string" ? choice : { name: choice.name };
  if (body.parallel_tool_calls !== null && body.parallel_tool_calls !== undefined)
    request.parallelToolCalls = body.parallel_tool_calls;
  const format = body.text?.format;
  if (format?.type === "json_object") request.jsonObject = true;
  else if (format?.type === "json_schema") request.jsonSchema = format.schema;
  for (const [index, included] of (body.include ?? []).entries()) {
    if (included === OUTPUT_TEXT_LOGPROBS) request.topLogprobs = body.top_logprobs ?? 0;
    else unknown.push(`include[${index}] (${included})`);
  }
  if (body.reasoning?.effort) request.reasoningEffort = body.reasoning.effort;
  return unknown;
}

function isFunctionTool(tool: NonNullable<ResponsesRequest["tools"]>[number]): tool is ResponsesFunctionTool {
  return tool.type === "function";
}

/**
 * The stored output items an input's `item_reference`s name (what the AI SDK sends for earlier turns when
 * responses are stored), as input items; one the store does not hold is the client's error.
 */
export async function referencedItems(
  input: ResponsesRequest["input"],
  lookup: (id: string) => Promise<Record<string, unknown> | undefined>,
): Promise<Map<string, ResponsesInputItem>> {
  const items = new Map<string, ResponsesInputItem>();
  if (typeof input === "string") return items;
  for (const [index, item] of input.entries()) {
    if (item.type !== "item_reference" || items.has(item.id)) continue;
    const stored = await lookup(item.id);
    if (!stored)
      throw new InvalidRequestError(
        `input[${index}]: item_reference '${item.id}' names no stored output item (never stored, stored with another key, or evicted)`,
        `input[${index}].id`,
      );
    const parsed = responsesInputItem.safeParse(stored);
    if (!parsed.success || parsed.data.type === "item_reference" || parsed.data.type === "reasoning")
      throw new InvalidRequestError(
        `input[${index}]: item_reference '${item.id}' is a ${String(stored.type)} item, which cannot be sent back as input`,
        `input[${index}].id`,
      );
    items.set(item.id, parsed.data);
  }
  return items;
}
