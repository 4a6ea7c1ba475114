import { InvalidRequestError } from "../core/errors.js";
import type { GenerateRequest, TokenLogprobs, Usage } from "../core/types.js";
import type { BenchTarget } from "./bench-target.js";
import { generationResult } from "./generation-result.js";
import {
  type ClassificationPrompt,
  matchLabel,
  renderClassificationPrompt,
} from "./quality/classification-prompt.js";
import { argmax, softmax } from "./quality/label-scores.js";
import type { TargetResult } from "./request-record.js";
import type { Send } from "./scheduler.js";
import type { WorkItem } from "./workload.js";

/**
 * How a generative model's answer becomes a label:
 * - `loglik`: each label's log-probability as the continuation of the prompt; the likeliest wins (no answer can be
 *   unparseable). Needs the model's likelihoods: in-process only.
 * - `constrained`: decoding held to a JSON answer `{"label": one of the labels}` (a local grammar, OpenAI
 *   `json_schema`, Gemini `responseSchema`).
 * - `generate`: a free answer, normalised and matched to a label; anything else is invalid.
 * - `logprobs`: one token with the endpoint's top log-probabilities (OpenAI `logprobs`/`top_logprobs`, Gemini
 *   `responseLogprobs`), each label scored by the likeliest alternative its text starts with.
 */
export const SCORING_MODES = ["loglik", "constrained", "generate", "logprobs"] as const;
export type ScoringMode = (typeof SCORING_MODES)[number];

export interface PromptedClassification {
  prompt: ClassificationPrompt;
  /** Default: loglik in-process, generate for endpoints. */
  scoring?: ScoringMode;
  /** Each item's text is cut to this many of the target's tokens first (in-process targets). */
  maxInputTokens?: number;
}

/** Tokens a free answer may take: a label and a little slack. */
const ANSWER_TOKENS = 16;

export function scoringModesOf(target: BenchTarget): ScoringMode[] {
  return target.location === "in-process"
    ? ["loglik", "constrained", "generate"]
    : ["constrained", "generate", "logprobs"];
}

/** The mode used when none is asked for: loglik where the likelihoods are at hand, else a free answer. */
export function defaultScoringOf(target: BenchTarget): ScoringMode {
  return target.location === "in-process" ? "loglik" : "generate";
}

export function resolveScoring(target: BenchTarget, asked?: ScoringMode): ScoringMode {
  const modes = scoringModesOf(target);
  const mode = asked ?? defaultScoringOf(target);
  if (!modes.includes(mode)) {
    throw new InvalidRequestError(
      `--scoring ${mode}: ${target.name} cannot (${mode === "loglik" ? "it needs the model's likelihoods, in-process" : "it is for endpoints"}); it can ${modes.join(", ")}`,
      "scoring",
    );
  }
  return mode;
}

/** The schema a constrained answer is held to. */
export function labelSchema(labels: readonly string[]): Record<string, unknown> {
  return {
    type: "object",
    properties: { label: { type: "string", enum: [...labels] } },
    required: ["label"],
    additionalProperties: false,
  };
}

/** How one labelled item becomes one timed request to a generative target, and its answer a label. */
export function sendPromptedClassification(
  target: BenchTarget,
  setup: PromptedClassification,
  scoring: ScoringMode,
): Send<WorkItem> {
  const { model } = target;
  const { labels } = setup.prompt;
  const promptOf = classificationPromptFor(target, setup);
  switch (scoring) {
    case "loglik":
      return async (item, signal): Promise<TargetResult> => {
        const scored = await model.scoreContinuations(
          promptOf(item.text),
          labels.map((label) => ` ${label}`),
          signal,
        );
        const logprobs = Object.fromEntries(labels.map((label, i) => [label, scored.logprobs[i] as number]));
        const scores = softmax(logprobs);
        return {
          chunkTimes: [performance.now()],
          outputTokens: 0,
          inputTokens: scored.promptTokens,
          prediction: argmax(scores),
          scores,
          logprobs,
        };
      };
    case "constrained":
    case "generate":
      return async (item, signal): Promise<TargetResult> => {
        const request: GenerateRequest = {
          prompt: promptOf(item.text),
          maxTokens: scoring === "constrained" ? ANSWER_TOKENS * 2 : ANSWER_TOKENS,
          temperature: 0,
          whole: true,
          ...(scoring === "constrained" ? { jsonSchema: labelSchema(labels) } : { stop: ["\n"] }),
        };
        const answer = await generationResult(model, request, signal);
        const prediction =
          scoring === "constrained"
            ? constrainedLabel(answer.output, labels)
            : matchLabel(answer.output, labels);
        return { ...answer, ...(prediction !== undefined && { prediction }) };
      };
    case "logprobs":
      return async (item, signal): Promise<TargetResult> => {
        const request: GenerateRequest = {
          prompt: promptOf(item.text),
          maxTokens: 1,
          temperature: 0,
          whole: true,
          topLogprobs: TOP_LOGPROBS,
        };
        let usage: Usage = { promptTokens: 0, completionTokens: 0 };
        let first: TokenLogprobs | undefined;
        for await (const chunk of model.generate(request, signal)) {
          first ??= chunk.logprobs?.[0];
          if (chunk.done) usage = chunk.done.usage;
        }
        const logprobs = labelLogprobs(first, labels);
        const found = Object.keys(logprobs).length > 0;
        const scores = found ? softmax(logprobs) : undefined;
        return {
          chunkTimes: [performance.now()],
          outputTokens: usage.completionTokens,
          inputTokens: usage.promptTokens,
          output: first?.token ?? "",
          ...(scores && { scores, prediction: argmax(scores), logprobs }),
        };
      };
    default:
      return scoring satisfies never;
  }
}

/** The most alternatives OpenAI's and Gemini's APIs return per position. */
const TOP_LOGPROBS = 20;

/**
 * Each label's log-probability as the likeliest first-token alternative whose text (trimmed, lower-cased) begins
 * the label; a label no alternative begins is left out (if none is found, the answer is invalid).
 */
export function labelLogprobs(
  first: TokenLogprobs | undefined,
  labels: readonly string[],
): Record<string, number> {
  const found: Record<string, number> = {};
  const alternatives = first ? [{ token: first.token, logprob: first.logprob }, ...first.top] : [];
  for (const { token, logprob } of alternatives) {
    const piece = token.trim().toLowerCase();
    if (piece === "") continue;
    for (const label of labels)
      if (
        logprob !== null &&
        label.toLowerCase().startsWith(piece) &&
        logprob > (found[label] ?? Number.NEGATIVE_INFINITY)
      )
        found[label] = logprob;
  }
  return found;
}

/** The prompt the target is sent for an item's text: cut to the token limit, then put in the template. */
export function classificationPromptFor(
  target: BenchTarget,
  setup: PromptedClassification,
): (text: string) => string {
  return (text) => renderClassificationPrompt(setup.prompt, fitText(target, text, setup.maxInputTokens));
}

/** The label of a `{"label": …}` answer; a constrained answer cut short (max tokens) names none. */
function constrainedLabel(output: string, labels: readonly string[]): string | undefined {
  try {
    const label = (JSON.parse(output) as { label?: unknown }).label;
    return typeof label === "string" && labels.includes(label) ? label : undefined;
  } catch {
    return undefined; // not JSON: an invalid answer, counted as such
  }
}

/**
 * The longest prefix of `text` that is at most `maxTokens` of the target's tokens (BOS not counted), found by
 * bisection on characters; an endpoint has no tokenizer here and gets the text whole.
 */
function fitText(target: BenchTarget, text: string, maxTokens?: number): string {
  if (maxTokens === undefined || target.location !== "in-process") return text;
  const count = (piece: string) => target.model.tokenize(piece).length - target.model.tokenize("").length;
  if (count(text) <= maxTokens) return text;
  let low = 0;
  let high = text.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (count(text.slice(0, middle)) <= maxTokens) low = middle;
    else high = middle - 1;
  }
  return text.slice(0, low);
}
