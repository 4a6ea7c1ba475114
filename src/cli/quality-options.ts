import { readFileSync } from "node:fs";
import type { Command } from "commander";
import {
  type PromptedClassification,
  SCORING_MODES,
  type ScoringMode,
} from "../bench/prompted-classifier.js";
import {
  checkTemplate,
  DEFAULT_CLASSIFY_TEMPLATE,
  type Shot,
} from "../bench/quality/classification-prompt.js";
import { checkJsonSchema, GENERATION_METRIC_NAMES } from "../bench/quality/generation-metrics.js";
import { PERTURBATIONS, type Perturbation, parsePerturbation } from "../bench/quality/perturb.js";
import { loadJsonlWorkload, type QualityTask, type Workload, withQualityTask } from "../bench/workload.js";
import { InvalidRequestError } from "../core/errors.js";
import { decimal, integer } from "./parse-options.js";

/** How answers are scored: the workload's task, a prompted classifier's prompt and scoring, generation metrics. */
export interface QualityOptions {
  task?: QualityTask;
  labels?: string[];
  promptTemplate?: string;
  shotsFile?: string;
  scoring?: ScoringMode;
  maxInputTokens?: number;
  metrics?: string[];
  schema?: string;
  lengthBuckets?: number[];
  perturb?: Perturbation;
  embedModel?: string;
  similarityThreshold: number;
}

const list = (value: string) =>
  value
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);

export function addQualityOptions(command: Command): Command {
  return command
    .option(
      "--task <task>",
      "the workload's task: classify or generate (default: from its rows: label → classify, reference → generate)",
      (value: string) => {
        if (value !== "classify" && value !== "generate")
          throw new InvalidRequestError(`--task must be classify or generate, got '${value}'`, "task");
        return value;
      },
    )
    .option("--labels <a,b,c>", "a classification workload's labels (default: those in the dataset)", list)
    .option(
      "--prompt-template <file>",
      "how a generative model is asked to classify: a text with {text} and {labels} (default: docs/report.md#quality)",
    )
    .option("--shots-file <file>", "few-shot examples for a prompted classifier: JSONL rows {text, label}")
    .option(
      "--scoring <mode>",
      `how a generative model's answer becomes a label: ${SCORING_MODES.join(", ")} (default: loglik in-process, generate for endpoints)`,
      (value: string) => {
        if (!(SCORING_MODES as readonly string[]).includes(value))
          throw new InvalidRequestError(
            `--scoring must be one of ${SCORING_MODES.join(", ")}, got '${value}'`,
            "scoring",
          );
        return value;
      },
    )
    .option(
      "--max-input-tokens <n>",
      "cut each text to this many of an in-process model's tokens before prompting it",
      integer(1, 1_000_000),
    )
    .option("--metrics <a,b>", `generation metrics: ${GENERATION_METRIC_NAMES.join(", ")}`, list)
    .option(
      "--schema <file>",
      "a JSON Schema every answer must satisfy (json_schema_valid), for rows without their own",
    )
    .option(
      "--embed-model <id>",
      "a configured embedding model: scores semantic_similarity (answer vs reference cosine) and its pass rate",
    )
    .option(
      "--similarity-threshold <t>",
      "the cosine at which semantic_similarity passes",
      decimal(-1, 1),
      0.75,
    )
    .option(
      "--length-buckets <bounds>",
      "quality by input length in estimated tokens, e.g. 0,256,1024,4096 (default: the dataset's quartiles)",
      lengthBuckets,
    )
    .option(
      "--perturb <list>",
      `run every item again perturbed (${PERTURBATIONS.join(", ")}; typos=RATE, truncate=SHARE) and report quality and consistency`,
      parsePerturbation,
    );
}

function lengthBuckets(value: string): number[] {
  const bounds = value.split(",").map(Number);
  const ascending = bounds.every(
    (bound, i) => Number.isInteger(bound) && bound >= 0 && (i === 0 || bound > (bounds[i - 1] as number)),
  );
  if (!ascending || bounds.length === 0)
    throw new InvalidRequestError(
      `--length-buckets: expected ascending whole numbers like 0,256,1024, got '${value}'`,
      "length_buckets",
    );
  return bounds;
}

/** The workload as the options have it scored: its task overridden, labels given, a schema for every row. */
export function scoredWorkload(workload: Workload, options: QualityOptions): Workload {
  let scored = workload;
  if (options.schema !== undefined) {
    const schema = checkJsonSchema(readJson(options.schema, "--schema"), options.schema);
    scored = withQualityTask(
      { name: scored.name, items: scored.items.map((item) => ({ schema, ...item })) },
      (i) => `${scored.name} row ${i + 1}`,
    );
  }
  if (options.task === "classify" && scored.task !== "classify")
    throw new InvalidRequestError(`--task classify: ${scored.name} has no labels to score against`, "task");
  if (options.task === "generate" && scored.task === "classify") {
    const { task: _, labels: __, ...rest } = scored;
    scored = { ...rest, items: rest.items.map(({ label: _label, ...item }) => item) };
  }
  if (options.labels && scored.task === "classify") {
    const missing = (scored.labels ?? []).filter((label) => !options.labels?.includes(label));
    if (missing.length > 0)
      throw new InvalidRequestError(`--labels: the dataset also has ${missing.join(", ")}`, "labels");
    scored = { ...scored, labels: [...options.labels] };
  }
  return scored;
}

/** A prompted classifier's prompt and scoring, or undefined for the defaults. */
export function promptedClassification(
  options: QualityOptions,
  workload: Workload,
): PromptedClassification | undefined {
  if (workload.task !== "classify") return undefined;
  const template =
    options.promptTemplate === undefined
      ? DEFAULT_CLASSIFY_TEMPLATE
      : checkTemplate(readText(options.promptTemplate, "--prompt-template"), options.promptTemplate);
  return {
    prompt: {
      template,
      labels: workload.labels ?? [],
      shots: options.shotsFile ? readShots(options.shotsFile, workload) : [],
    },
    ...(options.scoring && { scoring: options.scoring }),
    ...(options.maxInputTokens !== undefined && { maxInputTokens: options.maxInputTokens }),
  };
}

/** Few-shot examples: labelled rows, never the scored items themselves. */
function readShots(path: string, workload: Workload): Shot[] {
  const shots = loadJsonlWorkload(path);
  if (shots.task !== "classify")
    throw new InvalidRequestError(`--shots-file ${path}: rows need a label`, "shots_file");
  const scored = new Set(workload.items.map((item) => item.text));
  const shared = shots.items.findIndex((shot) => scored.has(shot.text));
  if (shared >= 0)
    throw new InvalidRequestError(
      `--shots-file ${path}: row ${shared + 1} is also an item being scored`,
      "shots_file",
    );
  const unknown = shots.items.find((shot) => !(workload.labels ?? []).includes(shot.label as string));
  if (unknown)
    throw new InvalidRequestError(
      `--shots-file ${path}: label '${unknown.label}' is not one of the workload's`,
      "shots_file",
    );
  return shots.items.map((shot) => ({ text: shot.text, label: shot.label as string }));
}

function readText(path: string, flag: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new InvalidRequestError(
      `${flag}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`,
      flag.slice(2),
    );
  }
}

function readJson(path: string, flag: string): unknown {
  try {
    return JSON.parse(readText(path, flag));
  } catch (error) {
    if (error instanceof InvalidRequestError) throw error;
    throw new InvalidRequestError(`${flag}: ${path} is not valid JSON`, flag.slice(2));
  }
}
