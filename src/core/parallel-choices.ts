import type { FinishReason, GenerateChunk } from "./types.js";

type Step = { choice: number; step: IteratorResult<GenerateChunk> };

/**
 * Several choices (`n`) as one generation: each choice's own generation runs at once beside the others, and their
 * chunks come out as they are made, each tagged with its choice. The end counts the prompt once (as OpenAI does)
 * and every choice's output tokens, and keeps each choice's finish reason. A choice that fails fails the whole;
 * the rest are stopped, so their resources are released before the error goes on.
 */
export async function* parallelChoices(
  generations: readonly AsyncIterable<GenerateChunk>[],
): AsyncIterable<GenerateChunk> {
  const iterators = generations.map((generation) => generation[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<Step>>();
  const pull = (choice: number) =>
    pending.set(
      choice,
      (iterators[choice] as AsyncIterator<GenerateChunk>).next().then((step) => ({ choice, step })),
    );
  for (const choice of iterators.keys()) pull(choice);
  const finishReasons: FinishReason[] = [];
  let promptTokens = 0;
  let completionTokens = 0;
  let endedAt = 0;
  try {
    while (pending.size > 0) {
      const { choice, step } = await Promise.race(pending.values());
      if (step.done) {
        pending.delete(choice);
        continue;
      }
      pull(choice);
      const { done, ...chunk } = step.value;
      if (done) {
        finishReasons[choice] = done.finishReason;
        if (choice === 0) promptTokens = done.usage.promptTokens;
        completionTokens += done.usage.completionTokens;
        endedAt = Math.max(endedAt, chunk.at);
      }
      if (!done || chunk.text || chunk.logprobs) yield choice === 0 ? chunk : { ...chunk, choice };
    }
  } finally {
    // Stopped early (a failure, or the consumer leaving): the other choices' pulls already under way settle
    // into nothing, as the first failure is the one that goes on; each generation is closed.
    for (const step of pending.values()) step.catch(() => undefined);
    await Promise.allSettled(iterators.map((iterator) => iterator.return?.()));
  }
  yield {
    text: "",
    tokenIds: [],
    at: endedAt,
    done: {
      usage: { promptTokens, completionTokens },
      finishReason: finishReasons[0] ?? "stop",
      finishReasons,
    },
  };
}
