import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { readGgufFileInfo } from "node-llama-cpp";
import samplePrompts from "../../../data/sample-prompts.json" with { type: "json" };
import { parseConfig } from "../../../src/config/load-config.js";
import { RequestAbortedError } from "../../../src/core/errors.js";
import type { LoadedModel } from "../../../src/engines/engine.js";
import { createEngines } from "../../../src/engines/engines.js";
import { ModelRegistry } from "../../../src/models/model-registry.js";
import { type Collected, collect, defaultRegistry, LLAMA_RUNTIMES, repoRoot } from "../../helpers.js";

const PROMPTS: string[] = samplePrompts;

for (const runtime of LLAMA_RUNTIMES)
  describe(`continuous batching (${runtime}): 8 concurrent greedy generations on one loaded model`, async () => {
    const registry = await defaultRegistry(runtime);
    const engines = createEngines();
    let model: LoadedModel;
    before(async () => {
      model = await engines.load(registry.resolve("lm-base:q8_0"));
    });
    after(() => engines.close());

    test("all complete, interleaved in shared batches", async () => {
      assert.equal(model.runtime.parallel, 8);
      const results = await Promise.all(
        PROMPTS.map((prompt) => collect(model.generate({ prompt, maxTokens: 48, temperature: 0 }))),
      );
      for (const result of results) assert.equal(result.done.usage.completionTokens, 48);
      assertInterleaved(results);
    });

    test("a request that arrives while 7 others decode starts at once: no stream starves", async () => {
      // node-llama-cpp's dispatch loop held the context lock for as long as any sequence kept decoding, so a new
      // request's clearHistory waited for all 7 to finish (patches/node-llama-cpp+3.21.1.patch).
      const firstTokens: Promise<void>[] = [];
      const running = PROMPTS.slice(0, 7).map((prompt) => {
        const chunks = model.generate({ prompt, maxTokens: 320, temperature: 0, ignoreEos: true });
        let started: () => void = () => {};
        firstTokens.push(new Promise<void>((resolve) => (started = resolve)));
        return (async () => {
          for await (const chunk of chunks) if (chunk.text) started();
          return performance.now();
        })();
      });
      await Promise.all(firstTokens);
      const sent = performance.now();
      const late = await collect(model.generate({ prompt: "Whale, n.", maxTokens: 8, temperature: 0 }));
      const lateEnd = performance.now();
      const othersEnd = await Promise.all(running);
      assert.equal(late.done.usage.completionTokens, 8);
      // It shares their batches: done long before any of them, in a few decode steps rather than 300.
      const othersFirstEnd = Math.min(...othersEnd);
      assert.ok(lateEnd < othersFirstEnd, "the late request finished before the running ones");
      assert.ok(
        lateEnd - sent < (othersFirstEnd - sent) / 4,
        `late request took ${Math.round(lateEnd - sent)} ms; the running ones needed ${Math.round(othersFirstEnd - sent)} ms more`,
      );
    });

    test("stop strings end the text before the stop string, split across tokens or not", async () => {
      const full = await collect(
        model.generate({ prompt: "The President said", maxTokens: 24, temperature: 0 }),
      );
      // ": The President of the United States, in the first year, ..."
      const stop = "United States";
      assert.ok(full.text.includes(stop));
      const cut = await collect(
        model.generate({ prompt: "The President said", maxTokens: 24, temperature: 0, stop: [stop] }),
      );
      assert.equal(cut.text, full.text.slice(0, full.text.indexOf(stop)));
      assert.equal(cut.done.finishReason, "stop");
      assert.ok(cut.done.usage.completionTokens < 24);
    });

    test("an answer of bytes that are not valid UTF-8 streams to its end, each byte as U+FFFD", async () => {
      // A stray continuation byte (a byte-fallback token) forced at every step by its logit bias, so the answer
      // does not hang on one machine's greedy choices; unpatched, llama-server held back every token while the
      // text ended in such a byte, then ended the stream with an error (vendor-patches/llama.cpp).
      const { metadata } = await readGgufFileInfo(`${repoRoot}models/lm-base-q8_0.gguf`, {
        logWarnings: false,
      });
      const strayByte = metadata.tokenizer.ggml.tokens.indexOf("<0x80>");
      assert.ok(strayByte > 0, "lm-base has byte-fallback tokens");
      const answer = await collect(
        model.generate({ prompt: "Whale", maxTokens: 12, temperature: 0, logitBias: { [strayByte]: 100 } }),
      );
      assert.equal(answer.done.usage.completionTokens, 12);
      assert.equal(answer.text, "\uFFFD".repeat(12));
    });

    test("sampling with a seed is reproducible, and differs from greedy", async () => {
      const sampled = {
        prompt: "Whale, n.",
        maxTokens: 32,
        temperature: 1.2,
        topK: 50,
        topP: 0.95,
        seed: 42,
      };
      const first = await collect(model.generate(sampled));
      const second = await collect(model.generate(sampled));
      const greedy = await collect(model.generate({ ...sampled, temperature: 0 }));
      assert.deepEqual(first.tokenIds, second.tokenIds);
      assert.notDeepEqual(first.tokenIds, greedy.tokenIds);
    });

    test("embeddings: one vector per text, model width, deterministic; memory report", async () => {
      const { vectors, promptTokens } = await model.embed(["Whale, n.", "The President said", "Whale, n."]);
      const [a, b, again] = vectors;
      assert.equal(promptTokens, 5 + 6 + 5);
      assert.equal(a?.length, 384);
      assert.ok(a?.every(Number.isFinite));
      assert.deepEqual(again, a);
      assert.notDeepEqual(b, a);
      const memory = await model.memory();
      const fileBytes = statSync(model.ref.source).size;
      assert.ok(
        Math.abs(memory.weightsBytes - fileBytes) / fileBytes < 0.05,
        `${memory.weightsBytes} vs ${fileBytes}`,
      );
      // 8 sequences x 2048 tokens x 6 layers x (K+V) x 2 KV heads x 64 dims x 2 bytes (f16) = 50.3 MB
      assert.ok(memory.stateBytes >= 50_000_000 && memory.stateBytes < 80_000_000, `${memory.stateBytes}`);
      assert.equal(memory.vramBytes, 0);
    });

    test("a consumer that stops reading early frees its sequence", async () => {
      for (let i = 0; i < 12; i++) {
        for await (const chunk of model.generate({
          prompt: PROMPTS[i % 8] ?? "",
          maxTokens: 200,
          temperature: 0,
        })) {
          if (chunk.text) break;
        }
      }
      // 12 early exits on 8 sequences: had any leaked, this would wait forever.
      const result = await collect(model.generate({ prompt: "Whale, n.", maxTokens: 4, temperature: 0 }));
      assert.equal(result.done.usage.completionTokens, 4);
    });
  });

describe("batch-invariant mode: 8 concurrent greedy generations", async () => {
  const registry = singleModelRegistry({ parallel: 8, batch_invariant: true });
  const engines = createEngines();
  after(() => engines.close());

  test("each equals its solo output, token for token", async () => {
    const model = await engines.load(registry.resolve("one"));
    const request = (prompt: string) => ({ prompt, maxTokens: 64, temperature: 0 });
    const solo: number[][] = [];
    for (const prompt of PROMPTS) solo.push((await collect(model.generate(request(prompt)))).tokenIds);
    const together = await Promise.all(PROMPTS.map((prompt) => collect(model.generate(request(prompt)))));
    assert.deepEqual(
      together.map((result) => result.tokenIds),
      solo,
    );
    assertInterleaved(together);
  });
});

for (const runtime of LLAMA_RUNTIMES)
  describe(`cancellation (${runtime})`, async () => {
    // One sequence, so the request after the abort must reuse the very sequence that was aborted.
    const registry = singleModelRegistry({ parallel: 1, runtime });
    const engines = createEngines();
    after(() => engines.close());

    test("an abort stops the generation within a few tokens' time and the sequence serves the next request", async () => {
      const model = await engines.load(registry.resolve("one"));
      const soloStarted = performance.now();
      const solo = await collect(model.generate({ prompt: "Whale, n.", maxTokens: 32, temperature: 0 }));
      // The budget scales with this hour's speed: 50 ms, or 20 tokens' time when the machine is slower than that.
      const budgetMs = Math.max(50, (20 * (performance.now() - soloStarted)) / 32);
      const controller = new AbortController();
      let tokens = 0;
      let abortedAt = 0;
      await assert.rejects(
        (async () => {
          for await (const chunk of model.generate(
            { prompt: "The President said", maxTokens: 2000, temperature: 0 },
            controller.signal,
          )) {
            tokens += chunk.tokenIds.length;
            if (tokens >= 10 && abortedAt === 0) {
              // Abort from outside the loop, as a timer or a disconnecting client would.
              setTimeout(() => {
                abortedAt = performance.now();
                controller.abort();
              }, 0);
            }
          }
        })(),
        RequestAbortedError,
      );
      const stoppedAfter = performance.now() - abortedAt;
      assert.ok(
        stoppedAfter < budgetMs,
        `took ${stoppedAfter.toFixed(1)} ms to stop (budget ${budgetMs.toFixed(0)})`,
      );
      assert.ok(tokens < 1000, `generated ${tokens} tokens`);
      const next = await collect(model.generate({ prompt: "Whale, n.", maxTokens: 32, temperature: 0 }));
      assert.deepEqual(next.tokenIds, solo.tokenIds);
    });

    test("a request waiting for a busy sequence leaves the queue when aborted", async () => {
      const model = await engines.load(registry.resolve("one"));
      const busy = collect(model.generate({ prompt: "Whale, n.", maxTokens: 400, temperature: 0 }));
      const controller = new AbortController();
      const waiting = collect(
        model.generate({ prompt: "Whale, n.", maxTokens: 4, temperature: 0 }, controller.signal),
      );
      controller.abort();
      await assert.rejects(waiting, RequestAbortedError);
      assert.equal((await busy).done.usage.completionTokens, 400);
    });
  });

function singleModelRegistry(options: Record<string, unknown>): ModelRegistry {
  const model = {
    id: "one",
    task: "generate",
    engine: "llamacpp",
    variants: { q8_0: "models/lm-base-q8_0.gguf" },
  };
  return new ModelRegistry(parseConfig({ models: [{ ...model, ...options }] }, repoRoot, "test"));
}

/** Every stream's first token arrived before any stream finished: they ran together, not one after another. */
function assertInterleaved(results: readonly Collected[]): void {
  const lastFirstToken = Math.max(
    ...results.map((result) => result.chunks[0]?.at ?? Number.POSITIVE_INFINITY),
  );
  const firstFinish = Math.min(...results.map((result) => result.chunks.at(-1)?.at ?? 0));
  assert.ok(lastFirstToken < firstFinish, "streams ran one after another");
}
