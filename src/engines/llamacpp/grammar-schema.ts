import { InvalidRequestError } from "../../core/errors.js";

/** JSON-Schema keywords node-llama-cpp's JSON-schema grammar enforces while decoding (its GbnfJsonSchema type). */
const ENFORCED = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "prefixItems",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "minLength",
  "maxLength",
  "enum",
  "const",
  "oneOf",
  "format",
  "$defs",
  "$ref",
]);

/** Keywords that only annotate; no answer can break them. */
const ANNOTATIONS = new Set([
  "title",
  "description",
  "$schema",
  "$id",
  "$comment",
  "default",
  "examples",
  "deprecated",
]);

/**
 * Refuses a schema with a keyword the grammar cannot enforce (`minimum`, `pattern`, `anyOf`, …), naming it:
 * decoding would otherwise produce JSON that looks right and breaks the schema.
 */
export function refuseUnenforceable(schema: unknown, path = "schema"): void {
  if (typeof schema !== "object" || schema === null) return;
  if (Array.isArray(schema)) {
    for (const [index, item] of schema.entries()) refuseUnenforceable(item, `${path}[${index}]`);
    return;
  }
  for (const [key, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key)) continue;
    if (!ENFORCED.has(key))
      throw new InvalidRequestError(
        `response_format: local models cannot enforce the JSON-Schema keyword '${key}' (at ${path}); grammar-constrained decoding enforces ${[...ENFORCED].join(", ")}`,
        "response_format",
      );
    if (key === "properties" || key === "$defs") {
      for (const [name, property] of Object.entries(value as object))
        refuseUnenforceable(property, `${path}.${key}.${name}`);
    } else if (key === "items" || key === "prefixItems" || key === "oneOf" || key === "additionalProperties")
      refuseUnenforceable(value, `${path}.${key}`);
  }
}
