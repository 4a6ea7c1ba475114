/**
 * bench:engine — decode speed of lm-base q8_0 through infergate's llama.cpp engine against raw node-llama-cpp,
 * measured side by side in one process (alternating rounds, same threads, same context shape), plus load time,
 * RSS and what thread calibration chose.
 *
 *   npm run bench:engine [-- --rounds 15 --tokens 256]
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { getLlama, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import samplePrompts from "../data/sample-prompts.json" with { type: "json" };
import { loadConfig } from "../src/config/load-config.js";
import type { GenerateChunk } from "../src/core/types.js";
import { createEngines } from "../src/engines/engines.js";
import { ModelRegistry } from "../src/models/model-registry.js";
import { median, writeResults } from "./bench-output.js";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "15" }, tokens: { type: "string", default: "256" } },
});
const rounds = Number(values.rounds);
const tokens = Number(values.tokens);
const PROMPTS: string[] = samplePrompts;

// A fresh calibration cache, so the calibration cost is measured rather than read back.
process.env.INFERGATE_CACHE_DIR = mkdtempSync(join(tmpdir(), "infergate-bench-"));
const rssBefore = process.memoryUsage().rss;
const registry = new ModelRegistry(await loadConfig());
const ref = registry.resolve("lm-base:q8_0");
await using engines = createEngines();
const loadStarted = performance.now();
const model = await engines.load(ref);
const engineLoadMs = performance.now() - loadStarted;
const rssLoaded = process.memoryUsage().rss;
const threads = Number(model.runtime.threads);
const parallel = Number(model.runtime.parallel);

const llama = await getLlama({ gpu: "auto", build: "never", maxThreads: 0 });
const rawModel = await llama.loadModel({ modelPath: ref.source });
const rawContext = await rawModel.createContext({ contextSize: 2048, sequences: parallel, threads });
const rawSequences = Array.from({ length: parallel }, () => rawContext.getSequence());

async function rawGenerate(sequence: LlamaContextSequence, rawModelRef: LlamaModel, prompt: string) {
  await sequence.clearHistory();
  const bos = rawModelRef.tokens.bos;
  const input = bos === null ? rawModelRef.tokenize(prompt) : [bos, ...rawModelRef.tokenize(prompt)];
  let count = 0;
  for await (const _token of sequence.evaluate(input, { temperature: 0 })) if (++count >= tokens) break;
  return count;
}

async function engineGenerate(prompt: string) {
  let count = 0;
  let last: GenerateChunk | undefined;
  for await (const chunk of model.generate({ prompt, maxTokens: tokens, temperature: 0 })) last = chunk;
  count = last?.done?.usage.completionTokens ?? 0;
  return count;
}

async function rate(run: () => Promise<number[]>): Promise<number> {
  const started = performance.now();
  const counts = await run();
  return (counts.reduce((a, b) => a + b, 0) * 1000) / (performance.now() - started);
}

const samples = {
  rawSingle: [] as number[],
  engineSingle: [] as number[],
  rawParallel: [] as number[],
  engineParallel: [] as number[],
};
await engineGenerate(PROMPTS[0] ?? ""); // warm-up, both paths
await rawGenerate(rawSequences[0] as LlamaContextSequence, rawModel, PROMPTS[0] ?? "");
for (let round = 0; round < rounds; round++) {
  const prompt = PROMPTS[round % PROMPTS.length] ?? "";
  const sequence = rawSequences[0] as LlamaContextSequence;
  // Alternate which side goes first so drift on a shared machine hits both equally.
  const pairs: [keyof typeof samples, () => Promise<number[]>][] = [
    ["rawSingle", async () => [await rawGenerate(sequence, rawModel, prompt)]],
    ["engineSingle", async () => [await engineGenerate(prompt)]],
    [
      "rawParallel",
      () =>
        Promise.all(PROMPTS.map((p, i) => rawGenerate(rawSequences[i] as LlamaContextSequence, rawModel, p))),
    ],
    ["engineParallel", () => Promise.all(PROMPTS.map((p) => engineGenerate(p)))],
  ];
  if (round % 2) pairs.reverse();
  for (const [name, run] of pairs) samples[name].push(await rate(run));
}

const figures = {
  model: "lm-base:q8_0",
  tokens_per_request: tokens,
  rounds,
  threads,
  calibration: {
    chosen_threads: threads,
    took_ms: model.runtime.calibration_ms,
    tokens_per_s_by_threads: Object.values(
      JSON.parse(readFileSync(join(process.env.INFERGATE_CACHE_DIR, "thread-calibration.json"), "utf8")),
    )[0],
    cores: llama.cpuMathCores,
  },
  single_stream_tokens_per_s: { engine: median(samples.engineSingle), raw: median(samples.rawSingle) },
  parallel_8_tokens_per_s: { engine: median(samples.engineParallel), raw: median(samples.rawParallel) },
  engine_vs_raw: {
    single: median(samples.engineSingle) / median(samples.rawSingle),
    parallel_8: median(samples.engineParallel) / median(samples.rawParallel),
  },
  load_ms: {
    model_file: model.runtime.load_ms,
    engine_total_including_calibration: Math.round(engineLoadMs),
  },
  rss_bytes: { before_load: rssBefore, with_model_loaded: rssLoaded },
  samples,
};
await rawContext.dispose();
await rawModel.dispose();
await llama.dispose();

const pct = (ratio: number) => `${((ratio - 1) * 100).toFixed(1)}%`;
console.log(
  `bench:engine  lm-base q8_0, ${tokens} tokens/request, median of ${rounds} alternating rounds, ${threads} thread(s)`,
);
console.log(
  `  single stream   engine ${figures.single_stream_tokens_per_s.engine.toFixed(0)} tok/s   raw ${figures.single_stream_tokens_per_s.raw.toFixed(0)} tok/s   (${pct(figures.engine_vs_raw.single)})`,
);
console.log(
  `  8 parallel      engine ${figures.parallel_8_tokens_per_s.engine.toFixed(0)} tok/s   raw ${figures.parallel_8_tokens_per_s.raw.toFixed(0)} tok/s   (${pct(figures.engine_vs_raw.parallel_8)})`,
);
console.log(
  `  load            model file ${model.runtime.load_ms} ms; engine total ${figures.load_ms.engine_total_including_calibration} ms incl. calibration ${model.runtime.calibration_ms} ms (chose ${threads} of ${llama.cpuMathCores} cores: ${JSON.stringify(figures.calibration.tokens_per_s_by_threads)})`,
);
console.log(
  `  RSS             ${(rssBefore / 1e6).toFixed(0)} MB before, ${(rssLoaded / 1e6).toFixed(0)} MB with the model loaded`,
);
console.log(`  written to ${writeResults("engine", figures)}`);
