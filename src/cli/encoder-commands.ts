import type { Command } from "commander";
import { InvalidRequestError } from "../core/errors.js";
import type { ClassifyResult, TagResult, Task } from "../core/types.js";
import type { LoadedModel } from "../engines/engine.js";
import { CliContext, describeRef, type GlobalOptions, type ModelOptions } from "./cli-context.js";
import { printJsonLine } from "./output.js";
import { Progress } from "./progress.js";
import { countRows, readJsonlTexts, readStdin } from "./read-input.js";

interface EncoderOptions extends ModelOptions {
  input?: string;
  json?: boolean;
}

/** Rows read and sent to the model together; the engine splits them into its own batches. */
const ROWS_PER_GROUP = 256;

interface EncoderTask<R> {
  name: Extract<Task, "classify" | "embed" | "tag">;
  description: string;
  run(model: LoadedModel, texts: readonly string[]): Promise<R[]>;
  json(result: R): Record<string, unknown>;
  text(result: R): string;
  examples: string;
}

const classifyTask: EncoderTask<ClassifyResult> = {
  name: "classify",
  description: 'label texts with a classifier model (one text, or a JSONL file of {"text": ...} rows)',
  run: (model, texts) => model.classify(texts),
  json: (result) => ({ label: result.label, score: result.score }),
  text: (result) => `${result.label}\t${result.score.toFixed(4)}`,
  examples: `
Examples:
  $ infergate classify "Subject: WIN a FREE cruise, click now"
  $ infergate classify --input emails.jsonl --json > labels.jsonl
  $ infergate classify -m spam-encoder:fp32 --input emails.jsonl`,
};

const embedTask: EncoderTask<Float32Array> = {
  name: "embed",
  description: 'embed texts as L2-normalized vectors (one text, or a JSONL file of {"text": ...} rows)',
  run: async (model, texts) => (await model.embed(texts)).vectors,
  json: (vector) => ({ dimensions: vector.length, embedding: Array.from(vector) }),
  text: (vector) =>
    `[${Array.from(vector.subarray(0, 4), (x) => x.toFixed(4)).join(", ")}, ...] (${vector.length} dimensions)`,
  examples: `
Examples:
  $ infergate embed "the whale surfaced"
  $ infergate embed --input texts.jsonl --json > vectors.jsonl`,
};

const tagTask: EncoderTask<TagResult> = {
  name: "tag",
  description:
    'find named entities with a tagging model (one text, or a JSONL file of {"text": ...} rows); offsets count Unicode code points',
  run: (model, texts) => model.tag(texts),
  json: (result) => ({ entities: result.entities }),
  text: (result) =>
    result.entities.length === 0
      ? "-"
      : result.entities
          .map(
            (entity) =>
              `${entity.type}[${entity.start},${entity.end}) ${JSON.stringify(entity.text)} ${entity.score.toFixed(3)}`,
          )
          .join("  "),
  examples: `
Examples:
  $ infergate tag "President Lincoln wrote to Congress on March 4, 1865."
  $ infergate tag --input passages.jsonl --json > entities.jsonl
  $ infergate tag -m ner-encoder:fp32 --input passages.jsonl`,
};

export function registerEncoderCommands(program: Command): void {
  for (const task of [classifyTask, embedTask, tagTask] as EncoderTask<unknown>[])
    registerEncoderCommand(program, task);
}

function registerEncoderCommand<R>(program: Command, task: EncoderTask<R>): void {
  program
    .command(task.name)
    .description(task.description)
    .argument("[text]", "the text (default: --input, else standard input)")
    .option(
      "-m, --model <id>",
      `model id, optionally with :precision (default: the config's ${task.name} model)`,
    )
    .option("-p, --precision <precision>", "variant to load, e.g. fp32, fp16, int8")
    .option("-i, --input <file>", 'JSONL file, one {"text": ...} object a line; results keep its order')
    .option("--json", "print one JSON object a result")
    .addHelpText("after", task.examples)
    .action(async (textArgument: string | undefined, options: EncoderOptions, command: Command) => {
      if (textArgument !== undefined && options.input) {
        throw new InvalidRequestError("give either a text argument or --input, not both", "input");
      }
      const single = options.input ? undefined : (textArgument ?? (await readStdin()));
      if (single === "")
        throw new InvalidRequestError("no input: pass a text, --input FILE, or stdin", "input");
      await using context = await CliContext.open(command.optsWithGlobals<GlobalOptions>());
      const { ref, model } = await context.load(task.name, options);
      const print = (result: R) => {
        if (options.json) printJsonLine({ ...describeRef(ref), ...task.json(result) });
        else process.stdout.write(`${task.text(result)}\n`);
      };
      if (single !== undefined) {
        const [result] = await task.run(model, [single]);
        if (result !== undefined) print(result);
        return;
      }
      const path = options.input as string;
      const progress = new Progress(task.name, process.stderr.isTTY ? await countRows(path) : 0);
      for await (const texts of readJsonlTexts(path, ROWS_PER_GROUP)) {
        for (const result of await task.run(model, texts)) print(result);
        progress.advance(texts.length);
      }
      progress.finish();
    });
}
