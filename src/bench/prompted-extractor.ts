import type { BenchTarget } from "./bench-target.js";
import { generationResult } from "./generation-result.js";
import type { TargetResult } from "./request-record.js";
import type { Send } from "./scheduler.js";
import type { WorkItem } from "./workload.js";

/** Tokens an extraction answer may take: a few dozen entities of a few words each; a cut answer fails to parse. */
export const EXTRACTION_ANSWER_TOKENS = 192;

/**
 * The JSON a generative model answers an entity workload with: `{"entities": [{"text", "type"}]}`, the type one
 * of the workload's. Within what every runtime enforces: an object at the top (OpenAI's strict `json_schema` takes
 * no other), every field required, no length or count bounds (the token budget is the bound); a local model holds
 * to it by grammar, an OpenAI-format upstream by `json_schema`, a Gemini one by `responseSchema`.
 */
export function extractionSchema(types: readonly string[]): Record<string, unknown> {
  return {
    type: "object",
    properties: {
      entities: {
        type: "array",
        items: {
          type: "object",
          properties: {
            text: { type: "string" },
            type: { type: "string", enum: [...types] },
          },
          required: ["text", "type"],
          additionalProperties: false,
        },
      },
    },
    required: ["entities"],
    additionalProperties: false,
  };
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  PER: "people",
  LOC: "places",
  ORG: "organisations",
  DATE: "dates",
  MONEY: "amounts of money",
};

export function extractionPrompt(text: string, types: readonly string[]): string {
  const kinds = types.map((type) => (TYPE_NAMES[type] ? `${type} (${TYPE_NAMES[type]})` : type)).join(", ");
  return `List the named entities in the text: ${kinds}. Answer with JSON, each entity's exact words from the text and its type.\n\nText: ${text}\n\nJSON: `;
}

/** A generative target asked for an item's entities as JSON; its answer is kept, to be mapped onto the text. */
export function sendPromptedExtraction(target: BenchTarget, types: readonly string[]): Send<WorkItem> {
  const schema = extractionSchema(types);
  return (item, signal): Promise<TargetResult> =>
    generationResult(
      target.model,
      {
        prompt: extractionPrompt(item.text, types),
        maxTokens: EXTRACTION_ANSWER_TOKENS,
        temperature: 0,
        jsonSchema: schema,
        whole: true,
      },
      signal,
    );
}
