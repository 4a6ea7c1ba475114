/**
 * Masks what must never reach a log: credentials, email addresses, phone and card numbers. Applied to every
 * string a log line carries, whatever its field.
 */
const PATTERNS: readonly [RegExp, string][] = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, "$1 [REDACTED]"],
  [/\b(?:sk|pk|rk|key|api[_-]?key)[-_][A-Za-z0-9_-]{8,}\b/gi, "[REDACTED_KEY]"],
  [/\bAIza[0-9A-Za-z_-]{20,}\b/g, "[REDACTED_KEY]"],
  [/[A-Z0-9._%+-]+@[A-Z0-9.-]+\.[A-Z]{2,}/gi, "[EMAIL]"],
  // 13-19 digits, optionally grouped by spaces or dashes: card numbers.
  [/\b\d(?:[ -]?\d){12,18}\b/g, "[CARD]"],
  // An optional +country code, then 9-15 digits with common separators.
  [/(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?|\b\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}\b/g, "[PHONE]"],
];

/** Every pattern above needs one of these; most log strings (routes, model ids, codes) have none. */
const MAY_NEED_REDACTION = /@|\d{3}|bearer|basic|key|aiza|\b[spr]k[-_]/i;

export function redactText(text: string): string {
  if (!MAY_NEED_REDACTION.test(text)) return text;
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Fields whose value is a secret whatever it looks like (compared lower-case). */
const SECRET_FIELDS = new Set(["authorization", "x-goog-api-key", "api_key", "apikey", "password"]);

/**
 * `value` with every string redacted and every secret field (`authorization`, `api_key`, …) masked, to any
 * depth. Parts with nothing to redact are returned as they are, so the common case (an access-log line of
 * numbers, routes and model ids) allocates nothing.
 */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactText(value);
  if (depth > 8 || value === null || typeof value !== "object") return value;
  // An error's message and stack are not own enumerable fields, and may echo what a client sent.
  if (value instanceof Error) {
    return {
      type: value.name,
      message: redactText(value.message),
      ...(value.stack && { stack: redactText(value.stack) }),
      ...(redactDeep({ ...value }, depth + 1) as object),
    };
  }
  if (Array.isArray(value)) {
    const items = value.map((item) => redactDeep(item, depth + 1));
    return items.some((item, i) => item !== value[i]) ? items : value;
  }
  let out: Record<string, unknown> | undefined;
  // for-in over own fields rather than Object.entries: this runs on every log line, and allocates nothing.
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const item = (value as Record<string, unknown>)[key];
    const redacted = SECRET_FIELDS.has(key.toLowerCase()) ? "[REDACTED]" : redactDeep(item, depth + 1);
    if (redacted !== item) {
      out ??= { ...(value as Record<string, unknown>) };
      out[key] = redacted;
    }
  }
  return out ?? value;
}
