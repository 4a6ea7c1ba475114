import {
  type ChatHistoryItem,
  type ChatModelFunctionCall,
  type ChatModelFunctions,
  type ChatModelResponse,
  type ChatWrapper,
  isChatModelResponseFunctionCall,
  JinjaTemplateChatWrapper,
  type LlamaModel,
  LlamaText,
  resolveChatWrapper,
  type Token,
} from "node-llama-cpp";
import { InvalidRequestError } from "../../core/errors.js";
import type { ChatTurn, ToolDefinition } from "../../core/types.js";

/** A chat as the tokens a model is prompted with, and the strings that end its answer. */
export interface RenderedChat {
  tokens: Token[];
  stop: string[];
  /** With tools offered: how this model writes a call. */
  calls?: CallSyntax;
}

/**
 * How a model writes a function call, in its chat wrapper's syntax (node-llama-cpp's, e.g. `||call: name({…})`
 * for a Jinja template that has none of its own): the text that starts a call (and the variants that mean the
 * same), then the name, then the text before the JSON arguments.
 */
export interface CallSyntax {
  triggers: string[];
  prefix: Token[];
  paramsPrefix: Token[];
}

/** How a chat request becomes the tokens a model is prompted with, and the strings that end its answer. */
export interface ChatPrompter {
  /** For reports: "transcript", or the chat wrapper node-llama-cpp resolved ("JinjaTemplate", "Llama3Chat", …). */
  readonly name: string;
  /**
   * Absent for the transcript, which the engine renders as a completion prompt (core/chat-template.ts). With
   * `tools`, the wrapper documents them in the prompt, its way, and the rendering says how a call is written.
   */
  render?(messages: readonly ChatTurn[], tools?: readonly ToolDefinition[]): RenderedChat;
}

/** `auto`: the GGUF's own chat template; `transcript`: always infergate's; or a Jinja template's text. */
export type ChatTemplateSetting = "auto" | "transcript" | { jinja: string };

/** The documented `User:/Assistant:` transcript, for models without a template. */
const TRANSCRIPT: ChatPrompter = { name: "transcript" };

/**
 * The prompter for a loaded model. With `auto`, a model whose GGUF carries `tokenizer.chat_template` is prompted
 * through node-llama-cpp's chat wrappers (a known family recognised from the template, else its Jinja rendering);
 * one without (a base model) gets the transcript. node-llama-cpp would otherwise guess a family from the
 * architecture alone (Llama 2's `[INST]` for any LLaMA base model), which prompts a base model wrong.
 */
export function chatPrompterFor(model: LlamaModel, setting: ChatTemplateSetting): ChatPrompter {
  if (setting === "transcript") return TRANSCRIPT;
  let wrapper: ChatWrapper | null;
  if (setting === "auto") {
    const template = (model.fileInfo.metadata as { tokenizer?: { chat_template?: unknown } }).tokenizer
      ?.chat_template;
    if (typeof template !== "string" || template.trim() === "") return TRANSCRIPT;
    wrapper = resolveChatWrapper({
      bosString: model.tokens.bosString,
      architecture: model.fileInfo.metadata.general.architecture,
      filename: model.filename,
      fileInfo: model.fileInfo,
      tokenizer: model.tokenizer,
    });
    if (!wrapper) return TRANSCRIPT;
  } else {
    wrapper = new JinjaTemplateChatWrapper({ template: setting.jinja, tokenizer: model.tokenizer });
  }
  const chosen = wrapper;
  return {
    name: chosen.wrapperName,
    render(messages, tools) {
      const history = chatHistory(messages);
      // A conversation that ends with results of the model's calls goes on in that same model turn.
      const last = history.at(-1);
      if (!(last?.type === "model" && isChatModelResponseFunctionCall(last.response.at(-1))))
        history.push({ type: "model", response: [] });
      const { contextText, stopGenerationTriggers } = chosen.generateContextState({
        chatHistory: history,
        ...(tools && { availableFunctions: functionsOf(tools), documentFunctionParams: true }),
      });
      const rendered: RenderedChat = {
        tokens: contextText.tokenize(model.tokenizer),
        // End-of-generation tokens stop decoding anyway; the triggers that are plain text become stop strings.
        stop: stopGenerationTriggers.flatMap(plainText),
      };
      if (tools) {
        const call = chosen.settings.functions.call;
        rendered.calls = {
          triggers: [String(call.prefix), ...(call.prefixAlternateMatches ?? []).map(String)].map((text) =>
            text.trim(),
          ),
          prefix: LlamaText(call.prefix).tokenize(model.tokenizer, "trimLeadingSpace"),
          paramsPrefix: LlamaText(call.paramsPrefix).tokenize(model.tokenizer, "trimLeadingSpace"),
        };
      }
      return rendered;
    },
  };
}

/**
 * The turns as node-llama-cpp's chat history: an assistant turn's calls carry their results (the tool turns that
 * answer them, by id), so the wrapper writes each call and its result its own way. Every call must have its
 * result, as OpenAI requires.
 */
function chatHistory(messages: readonly ChatTurn[]): ChatHistoryItem[] {
  const results = new Map<string, ChatTurn>();
  for (const message of messages)
    if (message.role === "tool" && message.toolCallId) results.set(message.toolCallId, message);
  const answered = new Set<string>();
  const history: ChatHistoryItem[] = [];
  for (const [index, message] of messages.entries()) {
    switch (message.role) {
      case "system":
      case "developer":
        history.push({ type: "system", text: message.content });
        break;
      case "user":
        history.push({ type: "user", text: message.content });
        break;
      case "assistant": {
        const response: ChatModelResponse["response"] = message.content ? [message.content] : [];
        for (const call of message.toolCalls ?? []) {
          const result = results.get(call.id);
          if (!result)
            throw new InvalidRequestError(
              `messages[${index}]: tool call '${call.id}' has no tool message with its result`,
              `messages[${index}].tool_calls`,
            );
          answered.add(call.id);
          response.push(functionCall(call.name, call.arguments, result.content));
        }
        // The answer after a call's result continues the model turn that made the call.
        const previous = history.at(-1);
        if (previous?.type === "model" && isChatModelResponseFunctionCall(previous.response.at(-1)))
          previous.response.push(...response);
        else history.push({ type: "model", response });
        break;
      }
      case "tool":
        if (!message.toolCallId || !answered.has(message.toolCallId))
          throw new InvalidRequestError(
            `messages[${index}]: a tool message answers a call made by an earlier assistant message (tool_call_id '${message.toolCallId ?? ""}' matches none)`,
            `messages[${index}].tool_call_id`,
          );
        break;
      default:
        return message.role satisfies never;
    }
  }
  return history;
}

function functionCall(name: string, args: string, result: string): ChatModelFunctionCall {
  return { type: "functionCall", name, params: parsedOrText(args), result: parsedOrText(result) };
}

/** JSON text as its value, so the wrapper writes it its way; a result in plain words stays the text it is. */
function parsedOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) return text;
    throw error;
  }
}

function functionsOf(tools: readonly ToolDefinition[]): ChatModelFunctions {
  return Object.fromEntries(
    tools.map((tool) => [
      tool.name,
      {
        ...(tool.description && { description: tool.description }),
        ...(tool.parameters && { params: tool.parameters as never }),
      },
    ]),
  );
}

function plainText(trigger: LlamaText): string[] {
  return trigger.values.every((value) => typeof value === "string") && trigger.toString() !== ""
    ? [trigger.toString()]
    : [];
}
