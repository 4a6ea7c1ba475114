import { InvalidRequestError } from "../core/errors.js";
import type { EntitySpan } from "./quality/entity-metrics.js";

/** Types an entity workload may name: upper- or lower-case words, as NER datasets spell them (PER, B-less). */
const TYPE = /^[A-Za-z][A-Za-z0-9_.-]{0,31}$/;
const MAX_ENTITIES = 4096;

/**
 * A workload row's `entities`: `[{start, end, type}]`, offsets in Unicode code points of `text` (end exclusive).
 * A span outside the text, an empty one, or two of one type that overlap is refused, naming the row.
 */
export function checkedEntities(value: unknown, text: string, where: string): EntitySpan[] {
  const bad = (what: string) => new InvalidRequestError(`${where}: "entities" ${what}`, "dataset");
  if (!Array.isArray(value) || value.length > MAX_ENTITIES)
    throw bad(`must be a list of at most ${MAX_ENTITIES} {start, end, type} objects`);
  const length = Array.from(text).length;
  const entities = value.map((entity: unknown, index) => {
    const { start, end, type } = (entity ?? {}) as Record<string, unknown>;
    if (
      typeof start !== "number" ||
      typeof end !== "number" ||
      !Number.isInteger(start) ||
      !Number.isInteger(end)
    )
      throw bad(`[${index}] needs integer "start" and "end" (code points)`);
    if (typeof type !== "string" || !TYPE.test(type))
      throw bad(`[${index}] needs a "type" such as "PER" (a word of letters, digits, _ . -)`);
    if (start < 0 || end > length)
      throw bad(`[${index}] spans ${start}-${end}, outside the text (${length} code points)`);
    if (end <= start) throw bad(`[${index}] spans ${start}-${end}: empty`);
    return { start, end, type };
  });
  const sorted = [...entities].sort((a, b) => a.start - b.start);
  for (const [index, entity] of sorted.entries())
    for (const other of sorted.slice(index + 1)) {
      if (other.start >= entity.end) break;
      if (other.type === entity.type)
        throw bad(
          `overlap: ${entity.type} ${entity.start}-${entity.end} and ${other.start}-${other.end} (one type's spans may not overlap)`,
        );
    }
  return entities;
}
