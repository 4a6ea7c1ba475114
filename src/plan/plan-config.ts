import { Document, isScalar, type YAMLMap } from "yaml";
import type { ModelSpec } from "../config/load-config.js";
import type { ModelRegistry } from "../models/model-registry.js";
import { parseCandidateName } from "./candidate-name.js";
import type { Candidate } from "./candidates.js";
import type { Choice } from "./choose.js";
import type { SpecialistPick } from "./domains.js";

/** Timeouts are the measured p99 times this margin: room for a slow moment without waiting on a stuck target. */
export const TIMEOUT_MARGIN = 3;
/** No timeout is set below this, however fast the measurement. */
export const MIN_TIMEOUT_MS = 50;
/** Replicas are sized for the expected rate times this headroom. */
export const CAPACITY_HEADROOM = 2;
/** Fallbacks a plan chains after its choice. */
const MAX_FALLBACKS = 3;

/** How a specialist claims a request: a pattern on its text, or a classifier's label for its domain. */
export type DomainRule = { match: string; flags?: string } | { classifier: string; min_score?: number };

/** A domain where another candidate beat the choice significantly, with the rule that sends it there. */
export interface PlannedSpecialist extends SpecialistPick {
  rule: DomainRule;
}

export interface ServePlan {
  route: string;
  specialists: PlannedSpecialist[];
  /** The model id each serving candidate gets in plan.yaml (a second precision of one model gets its own id). */
  ids: Record<string, string>;
  chosen: string;
  fallbacks: string[];
  timeouts: { first_token: number; total: number };
  capacity: {
    /** The highest rate the latency objectives were measured to hold at on one replica (requests/s). */
    measured_rate_per_replica?: number;
    /** Whether that rate came from a capacity sweep, or is only the expected rate (a lower bound). */
    from_sweep?: boolean;
    /** Replicas for the expected rate with the headroom. */
    replicas_for_rate?: number;
    /** Little's law at that rate: requests in flight per replica, what an autoscaler should hold. */
    in_flight_per_replica?: number;
  };
  /** The precision policy: the memory limit, and the smaller variants of the choice that met every objective too. */
  memory?: { limit_mb: number; step_down_to: string[] };
}

export interface PlanInputs {
  route: string;
  /** The expected load (requests/s). */
  rate?: number;
  specialists?: readonly PlannedSpecialist[];
  /** From a capacity sweep of the choice: the highest rate that held, and the mean E2E there. */
  capacity?: { rate: number; e2eMeanMs: number };
  /** With the bytes of a candidate's weights (what the precision policy steps down by). */
  memory?: { limitMb: number; weightBytes: (name: string) => number };
}

/**
 * The serve config that applies a choice: the chosen model behind the route, the next candidates that meet the
 * objectives as its fallback chain, timeouts from the measured p99s, and retry and breaker defaults. Every value
 * carries a comment saying why.
 */
export function servePlan(
  choice: Choice & { chosen: NonNullable<Choice["chosen"]> },
  inputs: PlanInputs,
): ServePlan {
  const { route, rate } = inputs;
  const specialists = inputs.specialists ?? [];
  const chosen = choice.chosen.candidate;
  const fallbacks = choice.fallbacks.slice(0, MAX_FALLBACKS).map((entry) => entry.candidate);
  const ids: Record<string, string> = {};
  const taken = new Set<string>();
  const classifiers = specialists.flatMap((specialist) =>
    "classifier" in specialist.rule ? [specialist.rule.classifier] : [],
  );
  const served = [chosen.name, ...fallbacks.map((candidate) => candidate.name)];
  for (const name of new Set([
    ...served,
    ...specialists.map((specialist) => specialist.model),
    ...classifiers,
  ])) {
    const { model, parallel } = parseCandidateName(name);
    const [id = model, precision] = model.split(":");
    const suffix = [precision, parallel === undefined ? undefined : `p${parallel}`].filter(Boolean).join("-");
    const planned = taken.has(id) ? `${id}-${suffix}` : id;
    taken.add(planned);
    ids[name] = planned;
  }
  // A classifier answers whole: its first "token" is its answer.
  const firstOf = (candidate: Candidate) =>
    candidate.task === "generate" && candidate.ttft.count > 0 ? candidate.ttft.p99 : candidate.e2e.p99;
  const slowest = Math.max(...[chosen, ...fallbacks].map((candidate) => candidate.e2e.p99));
  const plan: ServePlan = {
    route,
    specialists: [...specialists],
    ids,
    chosen: chosen.name,
    fallbacks: fallbacks.map((candidate) => candidate.name),
    timeouts: {
      first_token: timeout(Math.max(...[chosen, ...fallbacks].map(firstOf))),
      total: timeout(slowest * (1 + fallbacks.length)),
    },
    capacity: {},
  };
  // Without a sweep, the expected rate is all that is known to hold: a lower bound on one replica's capacity.
  const held = inputs.capacity ?? (rate === undefined ? undefined : { rate, e2eMeanMs: chosen.e2e.mean });
  if (held) {
    plan.capacity = {
      measured_rate_per_replica: held.rate,
      from_sweep: inputs.capacity !== undefined,
      ...(rate !== undefined && {
        replicas_for_rate: Math.max(1, Math.ceil((CAPACITY_HEADROOM * rate) / held.rate)),
      }),
      in_flight_per_replica: Math.max(1, Math.ceil((held.rate * held.e2eMeanMs) / 1000)),
    };
  }
  if (inputs.memory) {
    const { limitMb, weightBytes } = inputs.memory;
    plan.memory = { limit_mb: limitMb, step_down_to: smallerVariantsMeeting(choice, weightBytes) };
  }
  return plan;
}

/**
 * The other precisions of the chosen model with smaller weights that met every objective too, largest first:
 * the steps the precision policy may take under memory pressure without breaking the plan.
 */
function smallerVariantsMeeting(
  choice: Choice & { chosen: NonNullable<Choice["chosen"]> },
  weightBytes: (name: string) => number,
): string[] {
  const chosen = choice.chosen.candidate.name;
  const { parallel } = parseCandidateName(chosen);
  const [id, precision] = parseCandidateName(chosen).model.split(":");
  if (id === undefined || precision === undefined) return [];
  const own = weightBytes(chosen);
  return choice.fallbacks
    .map((entry) => entry.candidate.name)
    .map(parseCandidateName)
    .filter((other) => other.model.startsWith(`${id}:`) && other.parallel === parallel)
    .filter((other) => weightBytes(other.model) < own)
    .sort((a, b) => weightBytes(b.model) - weightBytes(a.model))
    .map((other) => other.model.slice(id.length + 1));
}

function timeout(p99Ms: number): number {
  return Math.max(MIN_TIMEOUT_MS, Math.ceil(p99Ms * TIMEOUT_MARGIN));
}

/** plan.yaml: the models the plan serves (from the config it was measured with) and its route, commented. */
export function planYaml(plan: ServePlan, registry: ModelRegistry, choice: Choice): string {
  const models = Object.entries(plan.ids).map(([name, id]) => {
    const { model, parallel } = parseCandidateName(name);
    const ref = registry.resolve(model);
    if (!("variants" in ref.spec) || !ref.precision) return { ...ref.spec, id };
    // Served with the parallel sequences it was measured with.
    const sequences = parallel === undefined ? {} : { parallel };
    // The choice keeps the smaller variants that met every objective: the precision policy's steps down.
    const steps = name === plan.chosen ? (plan.memory?.step_down_to ?? []) : [];
    const variants: Record<string, string> = { [ref.precision]: ref.source };
    for (const precision of steps) variants[precision] = registry.resolve(model, precision).source;
    return { ...ref.spec, ...sequences, id, variants, default_precision: ref.precision } as ModelSpec;
  });
  // Written out in full: YAML anchors between models would only make the file harder to edit.
  const doc = new Document(
    {
      ...(plan.memory && { server: { memory: { limit_mb: Math.floor(plan.memory.limit_mb) } } }),
      models,
      routes: [
        {
          name: plan.route,
          targets: [{ model: plan.ids[plan.chosen] }],
          ...(plan.specialists.length > 0 && {
            specialists: plan.specialists.map((specialist) => ({
              model: plan.ids[specialist.model],
              ...("match" in specialist.rule
                ? {
                    match: specialist.rule.match,
                    ...(specialist.rule.flags !== undefined && { match_flags: specialist.rule.flags }),
                  }
                : {
                    classifier: {
                      model: plan.ids[specialist.rule.classifier],
                      label: specialist.domain,
                      min_score: specialist.rule.min_score ?? 0.5,
                    },
                  }),
            })),
          }),
          ...(plan.fallbacks.length > 0 && { fallback: plan.fallbacks.map((name) => plan.ids[name]) }),
          retry: { attempts: 1 },
          breaker: { failures: 5, half_open_after_ms: 5000 },
          timeout_ms: plan.timeouts,
        },
      ],
    },
    { aliasDuplicateObjects: false },
  );
  const met = (name: string) =>
    [choice.chosen, ...choice.fallbacks]
      .find((entry) => entry?.candidate.name === name)
      ?.attainments.map((attainment) => `${attainment.objective} ${figure(attainment.value)}`)
      .join(", ");
  if (plan.memory) {
    const steps = plan.memory.step_down_to;
    comment(
      doc.contents as YAMLMap,
      "server",
      ` the precision policy: stay under --memory-limit-mb; ${steps.length > 0 ? `${plan.chosen} may step down to ${steps.join(", ")} (each met every objective too)` : "no smaller variant of the choice met every objective, so it has none to step down to"}`,
    );
  }
  doc.commentBefore = ` infergate plan: serve config for route '${plan.route}' (infergate serve --config plan.yaml).
 The choice is ${plan.chosen}: the cheapest candidate that met every objective (${met(plan.chosen) ?? ""}).
 Capacity: ${capacityLine(plan)}`;
  const route = doc.getIn(["routes", 0], true) as YAMLMap;
  comment(
    route,
    "targets",
    ` the chosen model${plan.ids[plan.chosen] === plan.chosen ? "" : ` (${plan.chosen})`}`,
  );
  if (plan.specialists.length > 0)
    comment(
      route,
      "specialists",
      plan.specialists
        .map(
          (specialist) =>
            ` domain '${specialist.domain}': ${specialist.model} ${specialist.accuracy.toFixed(3)} vs ${plan.chosen} ${specialist.chosen_accuracy.toFixed(3)} accuracy on its ${specialist.items} items (McNemar p = ${specialist.p_value.toPrecision(2)})`,
        )
        .join("\n"),
    );
  if (plan.fallbacks.length > 0)
    comment(
      route,
      "fallback",
      ` the next candidates that met every objective, by quality then speed: ${plan.fallbacks.join(", ")}`,
    );
  comment(route, "retry", " no retry on the same target: a failure moves straight to the fallback");
  comment(route, "breaker", " five failures in a row open the breaker for 5 s; then one probe");
  comment(
    route,
    "timeout_ms",
    ` first_token: the slowest planned target's measured p99 to first token (a classifier: its answer) x ${TIMEOUT_MARGIN}; total: the slowest E2E p99 x ${TIMEOUT_MARGIN} x the targets a request may try (floor ${MIN_TIMEOUT_MS} ms)`,
  );
  return doc.toString({ lineWidth: 0 });
}

export function capacityLine(plan: ServePlan): string {
  const {
    measured_rate_per_replica: held,
    from_sweep: swept,
    replicas_for_rate: replicas,
    in_flight_per_replica: inFlight,
  } = plan.capacity;
  if (held === undefined)
    return "not measured (plan with --rate, and --capacity-rates to find the most one replica sustains)";
  const sustained = swept
    ? `one replica sustained ${held} requests/s within the latency objectives (the highest rate of the capacity sweep that held)`
    : `the objectives held at ${held} requests/s on one replica (at least that: --capacity-rates would find how much more)`;
  const sizing =
    replicas === undefined
      ? ""
      : `; for the expected rate with ${CAPACITY_HEADROOM}x headroom, ${replicas} replica(s)`;
  return `${sustained}${sizing}, each holding about ${inFlight} request(s) in flight (an autoscaler's target)`;
}

function comment(map: YAMLMap, key: string, text: string): void {
  const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
  if (pair && isScalar(pair.key)) pair.key.commentBefore = text;
}

/** A figure as plans print it: whole from 100 up, else three significant digits. */
export function figure(value: number | undefined): string {
  if (value === undefined) return "unmeasured";
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}
