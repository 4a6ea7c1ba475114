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
export function refuseUnenforceable(schema: unknown, param = "response_format", path = "schema"): void {
  const unenforceable = unenforceableKeyword(schema, path);
  if (unenforceable)
    throw new InvalidRequestError(
      `${param}: local models cannot enforce the JSON-Schema keyword '${unenforceable.key}' (at ${unenforceable.path}); grammar-constrained decoding enforces ${[...ENFORCED].join(", ")}`,
      param,
    );
}

/** The first keyword of a schema that the grammar cannot enforce, and where it is. */
export function unenforceableKeyword(
  schema: unknown,
  path = "schema",
): { key: string; path: string } | undefined {
  if (typeof schema !== "object" || schema === null) return undefined;
  if (Array.isArray(schema)) {
    for (const [index, item] of schema.entries()) {
      const found = unenforceableKeyword(item, `${path}[${index}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key)) continue;
    if (!ENFORCED.has(key)) return { key, path };
    let found: { key: string; path: string } | undefined;
    if (key === "properties" || key === "$defs") {
      for (const [name, property] of Object.entries(value as object)) {
        found = unenforceableKeyword(property, `${path}.${key}.${name}`);
        if (found) return found;
      }
    } else if (key === "items" || key === "prefixItems" || key === "oneOf" || key === "additionalProperties")
      found = unenforceableKeyword(value, `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}
