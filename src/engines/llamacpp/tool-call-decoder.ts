import { randomUUID } from "node:crypto";
import type { LlamaGrammar, LlamaModel, Token } from "node-llama-cpp";
import type { RequestSignal } from "../../core/abort.js";
import { RequestAbortedError } from "../../core/errors.js";
import type { ToolCall, ToolDefinition } from "../../core/types.js";
import type { CallSyntax } from "./chat-prompt.js";
import type { DecodeSequence, Sampling } from "./decode-sequence.js";
import { JsonValueEnd } from "./json-value-end.js";

/** The grammars a call is decoded under: one of the offered names, then that function's parameters. */
export interface CallGrammars {
  names(tools: readonly ToolDefinition[]): Promise<LlamaGrammar>;
  parameters(tool: ToolDefinition): Promise<LlamaGrammar>;
}

export interface DecodedCall {
  call: ToolCall;
  /** Tokens the call took, the syntax's own included. */
  tokens: number;
  /** False when `maxTokens` ran out before the arguments were whole. */
  complete: boolean;
}

/**
 * Writes one function call in the model's own syntax, the model choosing only what is free: the call's prefix is
 * put in, the name is decoded under a grammar of the offered names (or put in, when the client chose the
 * function), the parameters' prefix is put in, and the arguments are decoded under the function's JSON Schema
 * grammar. So a call always parses and always names an offered function, with arguments its schema accepts.
 * `input` goes in before the call: the prompt, or what the model wrote before deciding to call.
 */
export async function decodeToolCall(options: {
  sequence: DecodeSequence;
  model: LlamaModel;
  input: Token[];
  syntax: CallSyntax;
  tools: readonly ToolDefinition[];
  /** The function the client chose (`tool_choice` naming one), else the model picks. */
  chosen: ToolDefinition | undefined;
  sampling: Sampling;
  maxTokens: number;
  grammars: CallGrammars;
  signal: RequestSignal | undefined;
}): Promise<DecodedCall> {
  const { model, syntax, tools, maxTokens } = options;
  let input = [...options.input, ...syntax.prefix];
  let used = syntax.prefix.length;
  let tool = options.chosen ?? (tools.length === 1 ? tools[0] : undefined);
  if (tool) {
    const name = model.tokenize(tool.name);
    input.push(...name);
    used += name.length;
  } else {
    const name = await decodeUnder(options, input, await options.grammars.names(tools), maxTokens - used);
    used += name.tokens.length;
    const written = model.detokenize(name.tokens);
    tool = tools.find((offered) => offered.name === written);
    // Under the grammar, only running out of tokens leaves a name unfinished.
    if (!tool) return { call: callOf(written, ""), tokens: used, complete: false };
    input = [];
  }
  input.push(...syntax.paramsPrefix);
  used += syntax.paramsPrefix.length;
  const grammar = await options.grammars.parameters(tool);
  // The arguments end with their object, not with the whitespace the grammar allows after it.
  const end = new JsonValueEnd();
  let seen = 0;
  let kept: string | undefined;
  const args = await decodeUnder(options, input, grammar, maxTokens - used, (written) => {
    // A token can end inside a character; its text is judged once the character is whole.
    if (written.endsWith("\uFFFD")) return false;
    const cut = end.push(written.slice(seen));
    if (cut !== undefined) kept = written.slice(0, seen + cut);
    seen = written.length;
    return end.ended;
  });
  used += args.tokens.length;
  const text = kept ?? model.detokenize(args.tokens);
  return { call: callOf(tool.name, text), tokens: used, complete: args.ended };
}

function callOf(name: string, args: string): ToolCall {
  return { id: `call_${randomUUID().replaceAll("-", "").slice(0, 24)}`, name, arguments: args };
}

/**
 * Tokens decoded after `input` under `grammar`, until the grammar is satisfied (`ended`: end-of-generation is then
 * the only token it allows) or `room` runs out.
 */
async function decodeUnder(
  options: {
    sequence: DecodeSequence;
    model: LlamaModel;
    sampling: Sampling;
    signal: RequestSignal | undefined;
  },
  input: Token[],
  grammar: LlamaGrammar,
  room: number,
  /** Told the text decoded so far after each token; true ends the decode there, as if the grammar had. */
  ends?: (text: string) => boolean,
): Promise<{ tokens: Token[]; ended: boolean }> {
  const { sequence, model, sampling, signal } = options;
  const decoded: Token[] = [];
  if (room <= 0) return { tokens: decoded, ended: false };
  const steps = sequence.generate(input, { ...sampling, grammar }, room);
  for await (const { token } of steps) {
    if (signal?.aborted) throw new RequestAbortedError();
    if (model.isEogToken(token)) return { tokens: decoded, ended: true };
    decoded.push(token);
    if (ends?.(model.detokenize(decoded))) return { tokens: decoded, ended: true };
    if (decoded.length >= room) break;
  }
  return { tokens: decoded, ended: false };
}
