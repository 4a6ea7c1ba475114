import type { GenerateRequest } from "../core/types.js";
import type { LoadedModel } from "../engines/engine.js";
import type { TargetResult } from "./request-record.js";

/** One generation as a target's result: when each chunk with content came, its text, and the usage at its end. */
export async function generationResult(
  model: Pick<LoadedModel, "generate">,
  request: GenerateRequest,
  signal?: AbortSignal,
): Promise<TargetResult & { output: string }> {
  const chunkTimes: number[] = [];
  let output = "";
  let usage = { promptTokens: 0, completionTokens: 0 };
  for await (const chunk of model.generate(request, signal)) {
    if (chunk.text) chunkTimes.push(chunk.at);
    output += chunk.text;
    if (chunk.done) usage = chunk.done.usage;
  }
  return { chunkTimes, outputTokens: usage.completionTokens, inputTokens: usage.promptTokens, output };
}
