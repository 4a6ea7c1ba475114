import assert from "node:assert/strict";
import { after, test } from "node:test";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { repoRoot } from "../../helpers.js";

/**
 * Our patch to node-llama-cpp puts a batch's tokens in sequence id order. Out of order, llama.cpp splits each
 * step of parallel sequences into several parts for its per-sequence KV cache, none of which can reuse the last
 * step's compute graph: decoding 8 streams ran at 0.6x the speed. llama.cpp says whether it reused the graph when
 * LLAMA_GRAPH_RESULT_DEBUG is set, read as each context is created.
 */
test("parallel sequences decode as one batch a step, reusing llama.cpp's compute graph", async () => {
  process.env.LLAMA_GRAPH_RESULT_DEBUG = "2";
  let reused = 0;
  let rebuilt = 0;
  const llama = await getLlama({
    gpu: false,
    build: "never",
    logLevel: LlamaLogLevel.debug,
    logger: (_level, message) => {
      if (message.includes("can reuse graph = 1")) reused++;
      else if (message.includes("cannot reuse graph")) rebuilt++;
    },
  });
  const model = await llama.loadModel({ modelPath: `${repoRoot}models/lm-base-q8_0.gguf` });
  after(() => model.dispose());
  const sequences = 4;
  const tokensEach = 32;
  const context = await model.createContext({ contextSize: 1024, sequences, threads: 1 });
  const prompt = model.tokenize("The quick brown fox jumps over the lazy dog");
  await Promise.all(
    Array.from({ length: sequences }, async () => {
      let generated = 0;
      for await (const _ of context.getSequence().evaluate(prompt, { temperature: 0, yieldEogToken: true }))
        if (++generated === tokensEach) break;
    }),
  );
  await context.dispose();
  assert.ok(
    reused + rebuilt >= tokensEach,
    `llama.cpp reported ${reused + rebuilt} graphs: is the debug log on?`,
  );
  assert.ok(
    reused >= 0.8 * tokensEach && rebuilt <= 0.2 * tokensEach,
    `of ${reused + rebuilt} graphs, ${reused} reused: the batch was split`,
  );
});
