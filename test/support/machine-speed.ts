import { getLlama } from "node-llama-cpp";
import { repoRoot } from "../helpers.js";

const YARDSTICK_TOKENS = 256;

/**
 * Seconds this machine takes now for a fixed piece of llama.cpp work: 256 greedy tokens of lm-base q8_0 on one
 * thread, in this process. A yardstick for wall-time bounds, since this machine's speed drifts 2-3x between hours.
 */
export async function yardstickSeconds(): Promise<number> {
  const llama = await getLlama({ gpu: false, build: "never" });
  const model = await llama.loadModel({ modelPath: `${repoRoot}models/lm-base-q8_0.gguf` });
  try {
    const context = await model.createContext({ contextSize: 512, threads: 1 });
    const sequence = context.getSequence();
    const started = performance.now();
    let count = 0;
    for await (const _ of sequence.evaluate(model.tokenize("The history of the city"), {
      temperature: 0,
      yieldEogToken: true,
    }))
      if (++count >= YARDSTICK_TOKENS) break;
    const seconds = (performance.now() - started) / 1000;
    await context.dispose();
    return seconds;
  } finally {
    await model.dispose();
  }
}
