import type { GeminiModelSpec, OpenAiModelSpec } from "../config/load-config.js";
import { InvalidRequestError } from "../core/errors.js";
import type { Task } from "../core/types.js";
import type { LoadedModel } from "../engines/engine.js";
import type { Engines } from "../engines/engines.js";
import { type ModelRegistry, modelLabel } from "../models/model-registry.js";
import { generationResult } from "./generation-result.js";
import {
  type PromptedClassification,
  resolveScoring,
  sendPromptedClassification,
} from "./prompted-classifier.js";
import { sendPromptedExtraction } from "./prompted-extractor.js";
import { DEFAULT_CLASSIFY_TEMPLATE } from "./quality/classification-prompt.js";
import type { TargetResult } from "./request-record.js";
import type { Send } from "./scheduler.js";
import type { WorkItem, Workload } from "./workload.js";

/**
 * What `bench` measures: a loaded model, in-process or behind an HTTP endpoint. Both are `LoadedModel`s, so
 * "local model" vs "our gateway" vs "a remote API" is one code path.
 */
export interface BenchTarget {
  name: string;
  task: Task;
  model: LoadedModel;
  /** Where it runs: "in-process" or the endpoint's URL. */
  location: string;
}

export interface TargetOptions {
  registry: ModelRegistry;
  engines: Engines;
  /** For an endpoint: the model name to ask it for. */
  model?: string;
  /** For an endpoint: which task to exercise (default generate). */
  task?: Task;
  api?: "openai" | "gemini";
  /** For an endpoint: env var with its API key. */
  apiKeyEnv?: string;
}

/**
 * `lm-base:q8_0` (a configured model), or an endpoint with `model`: `http://host:port/v1` speaking OpenAI's wire
 * format, or with `api: "gemini"` the root of a Gemini API (`http://host:port`).
 */
export async function openTarget(spec: string, options: TargetOptions): Promise<BenchTarget> {
  if (!/^https?:\/\//.test(spec)) {
    const ref = options.registry.resolve(spec);
    const model = await options.engines.load(ref);
    // A configured remote model runs at its base URL, not here: no memory, cold start or CPU cost of ours.
    const location = "base_url" in ref.spec ? ref.spec.base_url : "in-process";
    return { name: modelLabel(ref), task: ref.spec.task, model, location };
  }
  if (!options.model)
    throw new InvalidRequestError(`target ${spec} is an endpoint: name its model with --model`, "model");
  const common = {
    id: `${options.model}@${spec}`,
    task: options.task ?? "generate",
    base_url: spec,
    upstream_model: options.model,
    ...(options.apiKeyEnv && { api_key_env: options.apiKeyEnv }),
    max_connections: 1024,
    connect_timeout_ms: 10_000,
    parallel: 1_000_000,
    domains: [],
  };
  const remote: OpenAiModelSpec | GeminiModelSpec =
    options.api === "gemini"
      ? { ...common, engine: "gemini" }
      : { ...common, engine: "openai", responses_api: false };
  const model = await options.engines.load({ spec: remote, source: spec });
  return { name: `${options.model} @ ${spec}`, task: remote.task, model, location: spec };
}

export interface GenerationSettings {
  maxTokens: number;
  temperature: number;
}

/**
 * How one work item becomes one timed request to the target. A generative target on a classification workload is
 * prompted as a classifier; on a tagging one, asked for the entities as JSON; on a reference-scored one its answer
 * is kept for scoring.
 */
export function sendTo(
  target: BenchTarget,
  settings: GenerationSettings,
  workload: Pick<Workload, "task" | "labels">,
  classification?: PromptedClassification,
): Send<WorkItem> {
  const { model } = target;
  if (workload.task === "classify" && target.task === "generate") {
    const setup = classification ?? {
      prompt: { template: DEFAULT_CLASSIFY_TEMPLATE, labels: workload.labels ?? [], shots: [] },
    };
    return sendPromptedClassification(target, setup, resolveScoring(target, setup.scoring));
  }
  if (workload.task === "tag" && target.task === "generate")
    return sendPromptedExtraction(target, workload.labels ?? []);
  const keepOutput = workload.task === "generate";
  switch (target.task) {
    case "generate":
      return async (item, signal): Promise<TargetResult> => {
        const { output, ...result } = await generationResult(
          model,
          {
            prompt: item.text,
            // An item with its own output length gets exactly that many tokens, end-of-sequence or not.
            maxTokens: item.maxTokens ?? settings.maxTokens,
            temperature: settings.temperature,
            ...(item.maxTokens !== undefined && { ignoreEos: true }),
          },
          signal,
        );
        return keepOutput ? { ...result, output } : result;
      };
    case "classify":
      return async (item): Promise<TargetResult> => {
        const [result] = await model.classify(item.batch ?? [item.text]);
        return {
          chunkTimes: [performance.now()],
          outputTokens: 0,
          ...(result && { prediction: result.label, scores: { ...result.scores } }),
        };
      };
    case "tag":
      return async (item): Promise<TargetResult> => {
        const [result] = await model.tag(item.batch ?? [item.text]);
        return {
          chunkTimes: [performance.now()],
          outputTokens: 0,
          ...(result && {
            entities: result.entities.map(({ start, end, type }) => ({ start, end, type })),
          }),
        };
      };
    case "embed":
      return async (item): Promise<TargetResult> => {
        const { promptTokens } = await model.embed(item.batch ?? [item.text]);
        return { chunkTimes: [performance.now()], outputTokens: 0, inputTokens: promptTokens };
      };
    default:
      return target.task satisfies never;
  }
}
