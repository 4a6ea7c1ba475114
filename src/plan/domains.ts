import { mcnemar } from "../bench/quality/paired-statistics.js";

/** Per-item correctness of one candidate, in the workload's item order (null: not answered). */
export interface ItemCorrectness {
  name: string;
  correct: readonly (boolean | null)[];
}

export interface DomainRow {
  domain: string;
  items: number;
  /** Accuracy per candidate on this domain's items. */
  accuracy: Record<string, number>;
}

export interface SpecialistPick {
  domain: string;
  /** The candidate that is significantly better than the choice on this domain's items. */
  model: string;
  accuracy: number;
  chosen_accuracy: number;
  /** McNemar within the domain, specialist against the choice. */
  p_value: number;
  items: number;
}

/** A specialist must beat the choice within its domain at this significance (two-sided McNemar). */
export const SPECIALIST_ALPHA = 0.05;

/**
 * Accuracy per domain of the rows, per candidate, and for each domain the candidate (among `eligible`: those
 * that meet the latency objectives and can be served) that is significantly more accurate than `chosen` on that
 * domain's items, by a paired test on the same items: the most accurate of them when several are.
 */
export function domainAnalysis(
  domains: readonly (string | undefined)[],
  candidates: readonly ItemCorrectness[],
  chosen: string,
  eligible: ReadonlySet<string>,
): { table: DomainRow[]; specialists: SpecialistPick[] } {
  const names = [...new Set(domains.filter((domain): domain is string => domain !== undefined))].sort();
  const base = candidates.find((candidate) => candidate.name === chosen);
  const table: DomainRow[] = [];
  const specialists: SpecialistPick[] = [];
  for (const domain of names) {
    const indices = domains.flatMap((each, i) => (each === domain ? [i] : []));
    const row: DomainRow = { domain, items: indices.length, accuracy: {} };
    for (const candidate of candidates) row.accuracy[candidate.name] = accuracyOn(candidate, indices);
    table.push(row);
    if (!base) continue;
    let best: SpecialistPick | undefined;
    for (const candidate of candidates) {
      if (candidate.name === chosen || !eligible.has(candidate.name)) continue;
      const paired = indices.filter((i) => candidate.correct[i] != null && base.correct[i] != null);
      const test = mcnemar(
        paired.map((i) => candidate.correct[i] === true),
        paired.map((i) => base.correct[i] === true),
      );
      const better = test.only_first_correct > test.only_second_correct;
      if (!better || test.p_value >= SPECIALIST_ALPHA) continue;
      const pick: SpecialistPick = {
        domain,
        model: candidate.name,
        accuracy: row.accuracy[candidate.name] ?? 0,
        chosen_accuracy: row.accuracy[chosen] ?? 0,
        p_value: test.p_value,
        items: paired.length,
      };
      if (!best || pick.accuracy > best.accuracy) best = pick;
    }
    if (best) specialists.push(best);
  }
  return { table, specialists };
}

function accuracyOn(candidate: ItemCorrectness, indices: readonly number[]): number {
  const answered = indices.filter((i) => candidate.correct[i] != null);
  if (answered.length === 0) return 0;
  return answered.filter((i) => candidate.correct[i] === true).length / answered.length;
}
