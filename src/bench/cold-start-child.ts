/**
 * A fresh process for one cold-start measurement (see cold-start.ts): argv is `MODEL [CONFIG]`. Prints the
 * wall-clock times it reached each step as one JSON line.
 */
import { loadConfig } from "../config/load-config.js";
import { createEngines } from "../engines/engines.js";
import { ModelRegistry } from "../models/model-registry.js";
import type { ColdStartTimes } from "./cold-start.js";

const epoch = () => performance.timeOrigin + performance.now();
const [model = "", configPath = ""] = process.argv.slice(2);
const registry = new ModelRegistry(await loadConfig(configPath || undefined));
const ref = registry.resolve(model);
await using engines = createEngines();
const loaded = await engines.load(ref);
const loadedAt = epoch();
let firstOutput = 0;
if (ref.spec.task === "generate") {
  for await (const chunk of loaded.generate({ prompt: "The", maxTokens: 1, temperature: 0 })) {
    if (chunk.text || chunk.done) {
      firstOutput = epoch();
      break;
    }
  }
} else if (ref.spec.task === "classify") {
  await loaded.classify(["Subject: hello"]);
  firstOutput = epoch();
} else {
  await loaded.embed(["hello"]);
  firstOutput = epoch();
}
const times: ColdStartTimes = {
  started: performance.timeOrigin,
  loaded: loadedAt,
  first_output: firstOutput,
};
process.stdout.write(`${JSON.stringify(times)}\n`);
