import { type Attainment, attain, type Candidate, MAX_ERROR_RATE } from "./candidates.js";
import type { Objective } from "./objectives.js";

export interface Weighed {
  candidate: Candidate;
  attainments: Attainment[];
  /** Every objective met, and errors within bounds. */
  meets: boolean;
}

export interface Choice {
  /** Undefined when no candidate meets every objective. */
  chosen?: Weighed;
  /** The other candidates that meet every objective, by quality then speed: the fallback chain. */
  fallbacks: Weighed[];
  /** Candidates that miss an objective, closest first (fewest misses, then the smallest shortfall). */
  rejected: Weighed[];
  /** Not dominated on quality (up), cost (down) and E2E p99 (down). */
  pareto: string[];
  /** The quality metric the ranking and the frontier use. */
  qualityMetric?: string;
}

/**
 * The cheapest candidate that meets every objective; ties go to the lower E2E p99, then the lower memory.
 * Every figure compared was measured under the same load (one report, one load plan).
 */
export function choose(candidates: readonly Candidate[], objectives: readonly Objective[]): Choice {
  const weighed = candidates.map((candidate): Weighed => {
    const attainments = objectives.map((objective) => attain(candidate, objective));
    const errorsOk = candidate.errorRate <= MAX_ERROR_RATE;
    if (!errorsOk)
      attainments.push({
        objective: "error_rate",
        bound: "max",
        limit: MAX_ERROR_RATE,
        value: candidate.errorRate,
        met: false,
      });
    if (candidate.unservable)
      attainments.push({
        objective: "servable",
        bound: "min",
        limit: 1,
        met: false,
        note: candidate.unservable,
      });
    return { candidate, attainments, meets: attainments.every((attainment) => attainment.met) };
  });
  // The metric of the first quality floor, else the first one measured.
  const floor = objectives.find((objective) => objective.metric.kind === "quality")?.metric;
  const qualityMetric = floor?.kind === "quality" ? floor.name : Object.keys(candidates[0]?.quality ?? {})[0];
  const meeting = weighed
    .filter((entry) => entry.meets)
    .sort(
      (a, b) =>
        (a.candidate.costPer1k ?? Number.POSITIVE_INFINITY) -
          (b.candidate.costPer1k ?? Number.POSITIVE_INFINITY) ||
        a.candidate.e2e.p99 - b.candidate.e2e.p99 ||
        (a.candidate.memoryMb ?? Number.POSITIVE_INFINITY) -
          (b.candidate.memoryMb ?? Number.POSITIVE_INFINITY),
    );
  const [chosen, ...others] = meeting;
  const qualityOf = (entry: Weighed) =>
    qualityMetric === undefined ? 0 : (entry.candidate.quality[qualityMetric]?.low ?? 0);
  const fallbacks = others.sort(
    (a, b) => qualityOf(b) - qualityOf(a) || a.candidate.e2e.p99 - b.candidate.e2e.p99,
  );
  const rejected = weighed
    .filter((entry) => !entry.meets)
    .sort((a, b) => misses(a) - misses(b) || shortfall(a) - shortfall(b));
  const choice: Choice = { fallbacks, rejected, pareto: paretoFrontier(candidates, qualityMetric) };
  if (chosen) choice.chosen = chosen;
  if (qualityMetric !== undefined) choice.qualityMetric = qualityMetric;
  return choice;
}

function misses(entry: Weighed): number {
  return entry.attainments.filter((attainment) => !attainment.met).length;
}

/** The sum over missed objectives of how far off each is, relative to its limit (an unmeasured one counts 1). */
export function shortfall(entry: Weighed): number {
  return entry.attainments
    .filter((attainment) => !attainment.met)
    .reduce((sum, attainment) => sum + relativeMiss(attainment), 0);
}

export function relativeMiss(attainment: Attainment): number {
  if (attainment.value === undefined) return 1;
  const gap =
    attainment.bound === "min" ? attainment.limit - attainment.value : attainment.value - attainment.limit;
  return attainment.limit > 0 ? gap / attainment.limit : gap;
}

function paretoFrontier(candidates: readonly Candidate[], metric: string | undefined): string[] {
  const point = (candidate: Candidate) => ({
    quality: metric === undefined ? 0 : (candidate.quality[metric]?.value ?? 0),
    cost: candidate.costPer1k ?? Number.POSITIVE_INFINITY,
    p99: candidate.e2e.p99,
  });
  return candidates
    .filter((candidate) => {
      const a = point(candidate);
      return !candidates.some((other) => {
        if (other === candidate) return false;
        const b = point(other);
        const noWorse = b.quality >= a.quality && b.cost <= a.cost && b.p99 <= a.p99;
        const better = b.quality > a.quality || b.cost < a.cost || b.p99 < a.p99;
        return noWorse && better;
      });
    })
    .map((candidate) => candidate.name);
}
