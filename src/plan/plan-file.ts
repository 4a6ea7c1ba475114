import type { ScoringMode } from "../bench/prompted-classifier.js";
import type { QualityTask } from "../bench/workload.js";
import type { Choice } from "./choose.js";
import type { DomainRow, SpecialistPick } from "./domains.js";
import type { PlannedSpecialist, servePlan } from "./plan-config.js";

/** How the workload was scored, so --verify scores it the same way through the gateway. */
export interface PlannedQualityOptions {
  task?: QualityTask;
  labels?: string[];
  scoring?: ScoringMode;
  maxInputTokens?: number;
  metrics?: string[];
  similarityThreshold: number;
}

/** What plan.json holds: the facts of the plan, and what --verify needs to drive it again. */
export interface PlanFile {
  schema: "infergate.plan/1";
  created_at: string;
  dataset: string;
  task: string;
  rate?: number;
  slo: string;
  max_cost_per_1k?: number;
  memory_limit_mb?: number;
  price_per_core_hour: number;
  route: string;
  quality_options: PlannedQualityOptions;
  choice: ChoiceFacts;
  /** When rows have a `domain`: accuracy per domain and candidate, the specialists it justified, and domains left unrouted. */
  domains?: { table: DomainRow[]; specialists: PlannedSpecialist[]; without_rule: SpecialistPick[] };
  /** With --capacity-rates: the choice driven at each rate, and whether the latency objectives held there. */
  capacity_sweep?: CapacityStep[];
  plan?: ReturnType<typeof servePlan>;
}

export interface CapacityStep {
  rate: number;
  e2e_p99_ms: number;
  ttft_p99_ms: number;
  error_rate: number;
  held: boolean;
}

type ChoiceFacts = ReturnType<typeof choiceFacts>;

/** The facts of a choice as plan.json holds them: each candidate's figures and how it fared. */
export function choiceFacts(choice: Choice) {
  const facts = (entry: NonNullable<Choice["chosen"]>) => ({
    name: entry.candidate.name,
    quality: entry.candidate.quality,
    e2e_p99_ms: entry.candidate.e2e.p99,
    ttft_p99_ms: entry.candidate.ttft.p99,
    cost_per_1k_usd: entry.candidate.costPer1k ?? null,
    memory_mb: entry.candidate.memoryMb ?? null,
    requests_per_s: entry.candidate.requestsPerS,
    meets: entry.meets,
    attainments: entry.attainments,
  });
  return {
    chosen: choice.chosen ? facts(choice.chosen) : null,
    fallbacks: choice.fallbacks.map(facts),
    rejected: choice.rejected.map(facts),
    pareto: choice.pareto,
    quality_metric: choice.qualityMetric ?? null,
  };
}
