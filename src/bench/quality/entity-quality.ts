import { CodePointOffsets } from "../../core/code-points.js";
import type { RequestRecord } from "../request-record.js";
import type { Workload } from "../workload.js";
import {
  documentCounts,
  type EntityCounts,
  type EntityMetrics,
  type EntitySpan,
  entityMetrics,
  scoresOf,
  sumCounts,
} from "./entity-metrics.js";
import { pairedBootstrap } from "./paired-statistics.js";

/** A target's entity quality: the metrics, and how often a generative target's answer failed to be usable. */
export interface EntityReport extends EntityMetrics {
  /** Answers that were not the asked-for JSON (a tagger: 0). */
  format_failure_rate: number;
  /** Predicted entities whose text is nowhere in the document (each also a false positive). */
  hallucinated_entity_rate: number;
  /** Bootstrap (by document) 95% interval of the strict micro F1. */
  f1_95: { low: number; high: number };
}

/** An entity a generative answer named but the text does not hold: it matches nothing, so it is a false positive. */
const NOWHERE = -1;

/**
 * A generative answer's entities as spans: each named text at its first occurrence in the document that no
 * earlier entity of the answer took. Undefined when the answer is not `{"entities": [{text, type}]}`.
 */
export function extractedEntities(
  output: string,
  text: string,
): { entities: EntitySpan[]; hallucinated: number } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    return undefined;
  }
  const list = (parsed as { entities?: unknown } | null)?.entities;
  if (!Array.isArray(list)) return undefined;
  const points = new CodePointOffsets(text);
  const taken: [number, number][] = [];
  const entities: EntitySpan[] = [];
  let hallucinated = 0;
  for (const entry of list) {
    const { text: named, type } = (entry ?? {}) as { text?: unknown; type?: unknown };
    if (typeof named !== "string" || typeof type !== "string") return undefined;
    let at = named.length === 0 ? -1 : text.indexOf(named);
    while (at !== -1 && taken.some(([start, end]) => at < end && start < at + named.length))
      at = text.indexOf(named, at + 1);
    if (at === -1) {
      hallucinated++;
      entities.push({ start: NOWHERE, end: NOWHERE, type });
      continue;
    }
    taken.push([at, at + named.length]);
    entities.push({ start: points.toCodePoint(at), end: points.toCodePoint(at + named.length), type });
  }
  return { entities, hallucinated };
}

/**
 * Every document's predicted entities (a tagger's, or a generative answer mapped onto the text; null: not
 * answered) scored against the gold, with the rates that say how usable a generative target's answers were.
 */
export function entityQuality(
  workload: Workload,
  byItem: readonly (RequestRecord | undefined)[],
): { report: EntityReport; predicted: (EntitySpan[] | null)[]; counts: (EntityCounts | null)[] } {
  let formatFailures = 0;
  let answered = 0;
  let hallucinated = 0;
  const predicted = workload.items.map((item, index): EntitySpan[] | null => {
    const record = byItem[index];
    if (!record) return null;
    answered++;
    if (record.error !== undefined) return [];
    if (record.entities) return record.entities;
    const extracted = extractedEntities(record.output ?? "", item.text);
    if (!extracted) {
      formatFailures++;
      return [];
    }
    hallucinated += extracted.hallucinated;
    return extracted.entities;
  });
  const scored = workload.items.flatMap((item, index) => {
    const entities = predicted[index];
    return entities ? [{ gold: item.entities ?? [], entities }] : [];
  });
  const metrics = entityMetrics(
    scored.map((row) => row.gold),
    scored.map((row) => row.entities),
  );
  const named = scored.reduce((sum, row) => sum + row.entities.length, 0);
  const counts = workload.items.map((item, index) => {
    const entities = predicted[index];
    return entities ? documentCounts(item.entities ?? [], entities) : null;
  });
  const answeredCounts = counts.filter((row): row is EntityCounts => row !== null);
  const interval = pairedBootstrap(
    answeredCounts.length,
    (indices) => scoresOf(sumCounts(Array.from(indices, (i) => answeredCounts[i] as EntityCounts))).f1,
  );
  return {
    report: {
      ...metrics,
      format_failure_rate: answered > 0 ? formatFailures / answered : 0,
      hallucinated_entity_rate: named > 0 ? hallucinated / named : 0,
      f1_95: { low: interval.low, high: interval.high },
    },
    predicted,
    counts,
  };
}
