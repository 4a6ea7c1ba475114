import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { getLlama, type Token } from "node-llama-cpp";
import type { LlamaCppModelSpec } from "../../../src/config/load-config.js";
import { chatPrompterFor } from "../../../src/engines/llamacpp/chat-prompt.js";
import type { DecodeSequence, Step } from "../../../src/engines/llamacpp/decode-sequence.js";
import { LlamaLoadedModel } from "../../../src/engines/llamacpp/llama-loaded-model.js";
import { collect, defaultRegistry, repoRoot } from "../../helpers.js";

/**
 * How the engine turns tokens into an answer's text, on lm-base's real tokenizer, with a sequence that "generates"
 * a scripted answer (so the answer does not hang on a machine's greedy choices, nor on the model ever ending one).
 */
describe("an answer's text from its tokens", async () => {
  const llama = await getLlama({ gpu: false, build: "never" });
  const model = await llama.loadModel({ modelPath: `${repoRoot}models/lm-base-q8_0.gguf` });
  after(() => model.dispose());
  const resolved = (await defaultRegistry()).resolve("lm-base:q8_0");
  assert.equal(resolved.spec.engine, "llamacpp");
  const ref = { ...resolved, spec: resolved.spec as LlamaCppModelSpec };
  const byte = (value: number) =>
    model.fileInfo.metadata.tokenizer.ggml.tokens.indexOf(
      `<0x${value.toString(16).toUpperCase().padStart(2, "0")}>`,
    ) as Token;
  const eos = model.tokens.eos as Token;

  /** The model answering every prompt with `answer`, token by token. */
  function answering(answer: readonly Token[]) {
    const sequence: DecodeSequence = {
      nextTokenIndex: 0,
      clearHistory: async () => {},
      eraseFrom: async () => {},
      async *generate(_input, _sampling, limit): AsyncGenerator<Step, void, undefined> {
        for (const token of answer.slice(0, limit)) yield { token };
      },
    };
    return new LlamaLoadedModel(
      ref,
      {},
      llama,
      model,
      { sequences: [sequence], contextSize: 2048, threads: 1, close: async () => {} },
      0,
      chatPrompterFor(model, "transcript"),
    );
  }

  test("text held back as a possible stop string goes out when the end-of-generation token ends the answer", async () => {
    const answer = await collect(
      answering([...model.tokenize(" the United"), eos]).generate({
        prompt: "Whale",
        temperature: 0,
        maxTokens: 16,
        stop: ["United States"],
      }),
    );
    assert.equal(answer.text, " the United");
    assert.equal(answer.done.finishReason, "stop");
  });

  test("bytes that make no character go out as U+FFFD, at the answer's end or after a character's 4 bytes", async () => {
    // A stray continuation byte, then the end-of-generation token.
    const ended = await collect(
      answering([...model.tokenize(" a"), byte(0x80), eos]).generate({
        prompt: "Whale",
        temperature: 0,
        maxTokens: 16,
      }),
    );
    assert.equal(ended.text, " a\uFFFD");
    assert.equal(ended.done.usage.completionTokens, 3);
    // The answer's last token, at its limit: a lead byte whose character never came.
    const cut = await collect(
      answering([...model.tokenize(" a"), byte(0xe2)]).generate({
        prompt: "Whale",
        temperature: 0,
        maxTokens: 3,
      }),
    );
    assert.equal(cut.text, " a\uFFFD");
    // Stray bytes on and on, then text: nothing waits for more than 4 of them.
    const stray = [byte(0x80), byte(0x80), byte(0x80), byte(0x80), byte(0x80), ...model.tokenize(" b")];
    const chunks = [];
    for await (const chunk of answering(stray).generate({ prompt: "Whale", temperature: 0, maxTokens: 16 }))
      chunks.push(chunk.text);
    assert.match(chunks.join(""), /^\uFFFD{5} +b$/);
    assert.equal(chunks[0], "\uFFFD".repeat(4));
    // A character split over its bytes comes out whole: "€" is E2 82 AC.
    const euro = await collect(
      answering([byte(0xe2), byte(0x82), byte(0xac), eos]).generate({
        prompt: "Whale",
        temperature: 0,
        maxTokens: 16,
      }),
    );
    assert.equal(euro.text, "€");
  });
});
