import { Ajv, type ValidateFunction } from "ajv";
import { InvalidRequestError } from "../../core/errors.js";
import {
  contains,
  exactMatch,
  jsonValid,
  quasiExactMatch,
  type ReferenceItem,
  type ReferenceMetric,
  regex,
  rougeL,
  tokenF1,
} from "./reference-metrics.js";

/** What a generation metric sees of an item: its references, its `match` pattern and its JSON Schema. */
export interface ScoredItem extends ReferenceItem {
  schema?: Readonly<Record<string, unknown>>;
}

export type GenerationMetric = (answer: string, item: ScoredItem) => number;

/** One validator per distinct schema (a workload usually has one, or a handful). */
function schemaValidator(): GenerationMetric {
  const ajv = new Ajv({ strict: false, allErrors: false });
  const compiled = new Map<Readonly<Record<string, unknown>>, ValidateFunction>();
  return (answer, item) => {
    if (!item.schema) return 0;
    let validate = compiled.get(item.schema);
    if (!validate) {
      validate = ajv.compile(item.schema);
      compiled.set(item.schema, validate);
    }
    try {
      return validate(JSON.parse(answer.trim())) ? 1 : 0;
    } catch {
      return 0; // not JSON, so not valid against the schema
    }
  };
}

const REFERENCE_METRICS: Record<string, ReferenceMetric> = {
  exact_match: exactMatch,
  quasi_exact_match: quasiExactMatch,
  token_f1: tokenF1,
  contains,
  regex,
  rouge_l: rougeL,
  json_valid: jsonValid,
};
export const GENERATION_METRIC_NAMES = [...Object.keys(REFERENCE_METRICS), "json_schema_valid"];

/**
 * The metrics to score answers with: those asked for (`--metrics a,b`), else the ones the rows make sense of —
 * exact, quasi-exact, token F1 and ROUGE-L with references, `regex` with `match`, JSON validity with a schema.
 */
export function generationMetrics(
  asked: readonly string[] | undefined,
  items: readonly ScoredItem[],
): Record<string, GenerationMetric> {
  const names = asked ?? [
    ...(items.some((item) => (item.references?.length ?? 0) > 0)
      ? ["exact_match", "quasi_exact_match", "token_f1", "rouge_l"]
      : []),
    ...(items.some((item) => item.match !== undefined) ? ["regex"] : []),
    ...(items.some((item) => item.schema !== undefined) ? ["json_valid", "json_schema_valid"] : []),
  ];
  const unknown = names.filter((name) => !GENERATION_METRIC_NAMES.includes(name));
  if (unknown.length > 0)
    throw new InvalidRequestError(
      `--metrics: unknown ${unknown.join(", ")}; known: ${GENERATION_METRIC_NAMES.join(", ")}`,
      "metrics",
    );
  return Object.fromEntries(
    names.map((name) => [
      name,
      name === "json_schema_valid" ? schemaValidator() : (REFERENCE_METRICS[name] as GenerationMetric),
    ]),
  );
}

/** A schema file's or row's schema must itself be JSON Schema; ajv says why not. */
export function checkJsonSchema(schema: unknown, where: string): Record<string, unknown> {
  const ajv = new Ajv({ strict: false });
  if (typeof schema !== "object" || schema === null || Array.isArray(schema) || !ajv.validateSchema(schema))
    throw new InvalidRequestError(
      `${where}: not a JSON Schema${ajv.errors ? ` (${ajv.errorsText(ajv.errors)})` : ""}`,
      "schema",
    );
  return schema as Record<string, unknown>;
}
