import { join } from "node:path";
import { type ControlledEvaluateInputItem, getLlama, type LlamaModel, type Token } from "node-llama-cpp";
import { repoRoot } from "../helpers.js";

/**
 * An independent reference for log-probabilities: `tokens` evaluated by node-llama-cpp directly (not through
 * infergate), and the model's own next-token distribution after each of them (`distributions[i]` follows
 * `tokens[i]`). `use` gets the model too (its tokenizer and BOS); everything is disposed afterwards.
 */
export async function withReferenceDistributions<T>(
  modelFile: string,
  tokensOf: (model: LlamaModel) => Token[],
  use: (model: LlamaModel, tokens: Token[], distributions: ReadonlyMap<Token, number>[]) => T,
): Promise<T> {
  const llama = await getLlama({ gpu: false, build: "never" });
  const model = await llama.loadModel({ modelPath: join(repoRoot, modelFile) });
  const context = await model.createContext({ contextSize: 256, threads: 1 });
  try {
    const tokens = tokensOf(model);
    const next = {
      generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } },
    };
    const steps = await context
      .getSequence()
      .controlledEvaluate(tokens.map((token): ControlledEvaluateInputItem => [token, next]));
    const distributions = steps.map((step) => step?.next.probabilities ?? new Map<Token, number>());
    return use(model, tokens, distributions);
  } finally {
    await context.dispose();
    await model.dispose();
  }
}
