import {
  type ChatHistoryItem,
  type ChatWrapper,
  JinjaTemplateChatWrapper,
  type LlamaModel,
  type LlamaText,
  resolveChatWrapper,
  type Token,
} from "node-llama-cpp";
import type { ChatTurn } from "../../core/types.js";

/** How a chat request becomes the tokens a model is prompted with, and the strings that end its answer. */
export interface ChatPrompter {
  /** For reports: "transcript", or the chat wrapper node-llama-cpp resolved ("JinjaTemplate", "Llama3Chat", …). */
  readonly name: string;
  /** Absent for the transcript, which the engine renders as a completion prompt (core/chat-template.ts). */
  render?(messages: readonly ChatTurn[]): { tokens: Token[]; stop: string[] };
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
    render(messages) {
      const { contextText, stopGenerationTriggers } = chosen.generateContextState({
        chatHistory: [...messages.map(historyItem), { type: "model", response: [] }],
      });
      return {
        tokens: contextText.tokenize(model.tokenizer),
        // End-of-generation tokens stop decoding anyway; the triggers that are plain text become stop strings.
        stop: stopGenerationTriggers.flatMap(plainText),
      };
    },
  };
}

function historyItem(message: ChatTurn): ChatHistoryItem {
  switch (message.role) {
    case "system":
    case "developer":
      return { type: "system", text: message.content };
    case "assistant":
      return { type: "model", response: [message.content] };
    case "user":
    case "tool":
      return { type: "user", text: message.content };
    default:
      return message.role satisfies never;
  }
}

function plainText(trigger: LlamaText): string[] {
  return trigger.values.every((value) => typeof value === "string") && trigger.toString() !== ""
    ? [trigger.toString()]
    : [];
}
