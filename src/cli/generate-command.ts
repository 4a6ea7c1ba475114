import type { Command } from "commander";
import { InvalidRequestError } from "../core/errors.js";
import type { GenerateRequest, Usage } from "../core/types.js";
import { CliContext, describeRef, type GlobalOptions, type ModelOptions } from "./cli-context.js";
import { printJsonLine } from "./output.js";
import { collect, decimal, integer } from "./parse-options.js";
import { readStdin } from "./read-input.js";

interface GenerateOptions extends ModelOptions {
  maxTokens: number;
  temperature: number;
  topP?: number;
  topK?: number;
  seed?: number;
  stop?: string[];
  json?: boolean;
}

export function registerGenerateCommand(program: Command): void {
  program
    .command("generate")
    .description("complete a prompt with a local language model, streaming the text as it is generated")
    .argument("[prompt]", "the prompt (default: standard input)")
    .option("-m, --model <id>", "model id, optionally with :precision (default: the config's generate model)")
    .option("-p, --precision <precision>", "variant to load, e.g. f16, q8_0, q4_0")
    .option("-n, --max-tokens <n>", "tokens to generate at most", integer(1, 32_768), 128)
    .option("-t, --temperature <t>", "sampling temperature; 0 is greedy", decimal(0, 2), 0)
    .option("--top-p <p>", "nucleus sampling threshold (0, 1]", decimal(Number.MIN_VALUE, 1))
    .option("--top-k <k>", "sample from the k most likely tokens", integer(0))
    .option("--seed <n>", "sampling seed, for reproducible sampled output", integer(0, 0xffffffff))
    .option("--stop <text>", "stop before this text (repeatable)", collect)
    .option("--threads <n>", "CPU threads (default: measured once per machine and model)", integer(1, 1024))
    .option("--json", "print one JSON object: {model, precision, text, usage, timing}")
    .addHelpText(
      "after",
      `
Examples:
  $ infergate generate "Whale, n." --max-tokens 24
  $ infergate generate -m lm-small:f16 --temperature 0.8 --seed 7 "The President said"
  $ echo "Subject: Re: your order" | infergate generate --json`,
    )
    .action(async (promptArgument: string | undefined, options: GenerateOptions, command: Command) => {
      const prompt = promptArgument ?? (await readStdin());
      if (prompt === "")
        throw new InvalidRequestError("prompt is empty: pass it as an argument or on stdin", "prompt");
      await using context = await CliContext.open(command.optsWithGlobals<GlobalOptions>());
      const { ref, model } = await context.load("generate", options);
      const request: GenerateRequest = {
        prompt,
        maxTokens: options.maxTokens,
        temperature: options.temperature,
        topP: options.topP,
        topK: options.topK,
        seed: options.seed,
        stop: options.stop,
      };
      const abort = new AbortController();
      const onInterrupt = () => abort.abort();
      process.once("SIGINT", onInterrupt);
      const started = performance.now();
      let firstTextAt: number | undefined;
      let text = "";
      let usage: Usage = { promptTokens: 0, completionTokens: 0 };
      try {
        for await (const chunk of model.generate(request, abort.signal)) {
          if (chunk.text && firstTextAt === undefined) firstTextAt = chunk.at;
          text += chunk.text;
          if (!options.json) process.stdout.write(chunk.text);
          if (chunk.done) usage = chunk.done.usage;
        }
      } finally {
        process.off("SIGINT", onInterrupt);
      }
      const totalMs = performance.now() - started;
      const ttftMs = (firstTextAt ?? performance.now()) - started;
      if (options.json) {
        printJsonLine({
          ...describeRef(ref),
          text,
          usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens },
          timing: { ttft_ms: round(ttftMs), total_ms: round(totalMs) },
        });
        return;
      }
      const decodeSeconds = (totalMs - ttftMs) / 1000;
      const rate = usage.completionTokens > 1 ? (usage.completionTokens - 1) / decodeSeconds : 0;
      process.stdout.write("\n");
      process.stderr.write(
        `[${ref.spec.id}:${ref.precision}] ${usage.promptTokens} prompt + ${usage.completionTokens} completion tokens, ` +
          `TTFT ${ttftMs.toFixed(1)} ms, ${rate.toFixed(0)} tokens/s, threads ${model.runtime.threads}\n`,
      );
    });
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
