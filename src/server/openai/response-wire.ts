import type { TokenLogprobs, ToolCallDelta } from "../../core/types.js";

/** OpenAI's response spellings of the request model's typed outputs. */

const utf8 = new TextEncoder();

/** Chat completions: one entry per token, alternatives with their UTF-8 bytes. */
export function chatLogprobs(logprobs: readonly TokenLogprobs[]) {
  return {
    content: logprobs.map(({ token, logprob, top }) => ({
      token,
      logprob,
      bytes: Array.from(utf8.encode(token)),
      top_logprobs: top.map((alternative) => ({
        token: alternative.token,
        logprob: alternative.logprob,
        bytes: Array.from(utf8.encode(alternative.token)),
      })),
    })),
    refusal: null,
  };
}

/** Completions: parallel lists, each position's alternatives as one object, offsets into the text returned. */
export function completionLogprobs(logprobs: readonly TokenLogprobs[]) {
  let offset = 0;
  const textOffset: number[] = [];
  for (const { token } of logprobs) {
    textOffset.push(offset);
    offset += token.length;
  }
  return {
    tokens: logprobs.map(({ token }) => token),
    token_logprobs: logprobs.map(({ logprob }) => logprob),
    top_logprobs: logprobs.map(({ top }) =>
      Object.fromEntries(top.map((alternative) => [alternative.token, alternative.logprob])),
    ),
    text_offset: textOffset,
  };
}

/** Streamed tool-call pieces: a call's first piece carries its id, type and name. */
export function toolCallsWire(deltas: readonly ToolCallDelta[]) {
  return deltas.map((delta) => {
    const wire: Record<string, unknown> = { index: delta.index };
    if (delta.id) {
      wire.id = delta.id;
      wire.type = "function";
    }
    wire.function = delta.name
      ? { name: delta.name, arguments: delta.arguments }
      : { arguments: delta.arguments };
    return wire;
  });
}
