/** The process of one isolated run (see isolated-run.ts): reads a ChildTask on stdin, prints a ChildResult. */
import { loadConfig } from "../config/load-config.js";
import type { LoadedModel } from "../engines/engine.js";
import { createEngines } from "../engines/engines.js";
import { ModelRegistry } from "../models/model-registry.js";
import type { ChildResult, ChildTask } from "./isolated-run.js";
import { measurePeakMemory, type PeakMemorySample, peakMemorySupported } from "./peak-memory.js";

const epoch = () => performance.timeOrigin + performance.now();
let input = "";
for await (const chunk of process.stdin) input += chunk;
const task = JSON.parse(input) as ChildTask;
const registry = new ModelRegistry(await loadConfig(task.configPath || undefined));
const ref = registry.resolve(task.model);
await using engines = createEngines();
const model = await engines.load(ref);
const loaded = epoch();

/** One request of the model's task, resolved when its first output exists. */
async function answer(model: LoadedModel, text: string, maxTokens: number): Promise<void> {
  if (ref.spec.task === "generate") {
    for await (const _chunk of model.generate({ prompt: text, maxTokens, temperature: 0 })) {
      if (maxTokens === 1) break;
    }
  } else if (ref.spec.task === "classify") {
    await model.classify([text]);
  } else if (ref.spec.task === "tag") {
    await model.tag([text]);
  } else {
    await model.embed([text]);
  }
}

await answer(model, "The", 1);
const firstOutput = epoch();
const memory: PeakMemorySample[] = [];
if (task.memoryTexts.length > 0 && peakMemorySupported()) {
  for (const text of task.memoryTexts)
    memory.push(await measurePeakMemory(() => answer(model, text, task.maxTokens)));
}
const result: ChildResult = { started: performance.timeOrigin, loaded, first_output: firstOutput, memory };
process.stdout.write(`${JSON.stringify(result)}\n`);
