/**
 * bench:quality — what it costs to read a label from a language model: loglik classification (2 labels, the
 * prompt evaluated once and its state reused for each label) against generating one greedy token per item, on the
 * same prompts, lm-base q8_0, rounds alternating in one process. The shared prompt state should make loglik cost
 * one prompt evaluation plus the label tokens: a ratio near 1. Beside them, each label scored from scratch (the
 * prompt evaluated again per label, as a loglikelihood request without prefix reuse is).
 *
 *   npm run bench:quality [-- --items 100 --rounds 3 --max-input-tokens 256]
 */
import { parseArgs } from "node:util";
import { classificationPromptFor } from "../src/bench/prompted-classifier.js";
import { DEFAULT_CLASSIFY_TEMPLATE } from "../src/bench/quality/classification-prompt.js";
import { bundledClassificationWorkload, subsample } from "../src/bench/workload.js";
import { loadConfig } from "../src/config/load-config.js";
import { createEngines } from "../src/engines/engines.js";
import { ModelRegistry } from "../src/models/model-registry.js";
import { median, writeResults } from "./bench-output.js";

const { values } = parseArgs({
  options: {
    items: { type: "string", default: "100" },
    rounds: { type: "string", default: "3" },
    "max-input-tokens": { type: "string", default: "256" },
  },
});
const items = Number(values.items);
const rounds = Number(values.rounds);

const registry = new ModelRegistry(await loadConfig());
await using engines = createEngines();
const model = await engines.load(registry.resolve("lm-base:q8_0"));
const target = { name: "lm-base:q8_0", task: "generate" as const, model, location: "in-process" };
const workload = subsample(bundledClassificationWorkload(), items);
const labels = workload.labels ?? [];
const promptOf = classificationPromptFor(target, {
  prompt: { template: DEFAULT_CLASSIFY_TEMPLATE, labels, shots: [] },
  maxInputTokens: Number(values["max-input-tokens"]),
});
const prompts = workload.items.map((item) => promptOf(item.text));
const promptTokens = prompts.reduce((sum, prompt) => sum + model.tokenize(prompt).length, 0);

async function loglik(): Promise<{ seconds: number; evaluated: number }> {
  const started = performance.now();
  let evaluated = 0;
  for (const prompt of prompts)
    evaluated += (
      await model.scoreContinuations(
        prompt,
        labels.map((label) => ` ${label}`),
      )
    ).evaluatedTokens;
  return { seconds: (performance.now() - started) / 1000, evaluated };
}

async function loglikFromScratch(): Promise<{ seconds: number }> {
  const started = performance.now();
  for (const prompt of prompts)
    for (const label of labels) await model.scoreContinuations(prompt, [` ${label}`]);
  return { seconds: (performance.now() - started) / 1000 };
}

async function oneToken(): Promise<{ seconds: number }> {
  const started = performance.now();
  for (const prompt of prompts)
    for await (const _ of model.generate({ prompt, maxTokens: 1, temperature: 0 }));
  return { seconds: (performance.now() - started) / 1000 };
}

await loglik(); // warm-up: first-use costs out of the figures
const loglikSeconds: number[] = [];
const generateSeconds: number[] = [];
const scratchSeconds: number[] = [];
let evaluated = 0;
for (let round = 0; round < rounds; round++) {
  const scored = await loglik();
  loglikSeconds.push(scored.seconds);
  evaluated = scored.evaluated;
  generateSeconds.push((await oneToken()).seconds);
  scratchSeconds.push((await loglikFromScratch()).seconds);
}
const results = {
  model: "lm-base:q8_0",
  runtime: model.runtime,
  items,
  labels,
  prompt_tokens_per_item: promptTokens / items,
  loglik: {
    items_per_s: items / median(loglikSeconds),
    evaluated_tokens_per_item: evaluated / items,
    seconds: loglikSeconds,
  },
  generate_one_token: { items_per_s: items / median(generateSeconds), seconds: generateSeconds },
  loglik_prompt_per_label: { items_per_s: items / median(scratchSeconds), seconds: scratchSeconds },
};
const ratio = results.loglik.items_per_s / results.generate_one_token.items_per_s;
console.log(
  `lm-base:q8_0, ${items} spam_dev prompts of ${results.prompt_tokens_per_item.toFixed(0)} tokens, labels ${labels.join("/")}, ${rounds} alternating rounds (median)`,
);
console.log(
  `  loglik (2 labels, prompt state shared): ${results.loglik.items_per_s.toFixed(1)} items/s, ${results.loglik.evaluated_tokens_per_item.toFixed(1)} tokens evaluated per item`,
);
console.log(
  `  one greedy token per item:              ${results.generate_one_token.items_per_s.toFixed(1)} items/s`,
);
console.log(
  `  loglik, the prompt again per label:     ${results.loglik_prompt_per_label.items_per_s.toFixed(1)} items/s`,
);
console.log(`  loglik / one token: ${ratio.toFixed(2)}x`);
console.log(`results: ${writeResults("quality", { ...results, loglik_vs_one_token: ratio })}`);
