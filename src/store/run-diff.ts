import {
  type BootstrapDifference,
  type McNemarResult,
  mcnemar,
  pairedBootstrap,
  quantile,
  seededRandom,
} from "../bench/quality/paired-statistics.js";
import type { RequestRecord } from "../bench/request-record.js";
import type { StoredRun, TargetRun } from "./run-store.js";

/** One target on one workload, in two runs: what changed, with intervals. */
export interface TargetDiff {
  target: string;
  workload: string;
  /** Items scored right or wrong in both runs (matched by item index). */
  paired_items: number;
  /** Accuracy after − before on the paired items: paired bootstrap, and McNemar on the same items. */
  accuracy?: { before: number; after: number; delta: BootstrapDifference; mcnemar: McNemarResult };
  /** E2E latency after − before (ms), its p50 and p99: each run's requests resampled on their own. */
  e2e_p50_ms: { before: number; after: number; delta: BootstrapDifference };
  e2e_p99_ms: { before: number; after: number; delta: BootstrapDifference };
  /** Requests that failed, before and after. */
  errors: { before: number; after: number };
}

export interface RunDiff {
  before: string;
  after: string;
  targets: TargetDiff[];
  /** Target and workload pairs only one of the runs has. */
  only_before: string[];
  only_after: string[];
}

const RESAMPLES = 2000;

/**
 * Run `after` against run `before`, target by target (a target is matched by its name and workload): the accuracy
 * change on the items both scored (paired bootstrap, McNemar), and the latency change (each run's requests
 * resampled independently: requests are not paired across runs).
 */
export function diffRuns(before: StoredRun, after: StoredRun): RunDiff {
  const key = (run: TargetRun) => `${run.target} on ${run.workload}`;
  const earlier = new Map(before.runs.map((run) => [key(run), run]));
  const later = new Map(after.runs.map((run) => [key(run), run]));
  const targets: TargetDiff[] = [];
  for (const [name, run] of later) {
    const previous = earlier.get(name);
    if (previous) targets.push(diffTarget(previous, run));
  }
  return {
    before: before.id,
    after: after.id,
    targets,
    only_before: [...earlier.keys()].filter((name) => !later.has(name)),
    only_after: [...later.keys()].filter((name) => !earlier.has(name)),
  };
}

function diffTarget(before: TargetRun, after: TargetRun): TargetDiff {
  const correctBefore = new Map<number, boolean>();
  for (const item of before.items)
    if (item.correct !== undefined) correctBefore.set(item.index, item.correct);
  const first: boolean[] = [];
  const second: boolean[] = [];
  for (const item of after.items) {
    const was = correctBefore.get(item.index);
    if (item.correct === undefined || was === undefined) continue;
    first.push(was);
    second.push(item.correct);
  }
  const diff: TargetDiff = {
    target: after.target,
    workload: after.workload,
    paired_items: first.length,
    e2e_p50_ms: latencyChange(before.records, after.records, 0.5),
    e2e_p99_ms: latencyChange(before.records, after.records, 0.99),
    errors: { before: errorsOf(before.records), after: errorsOf(after.records) },
  };
  if (first.length > 0) {
    const accuracyOn = (values: readonly boolean[], indices: Int32Array) => {
      let right = 0;
      for (const index of indices) if (values[index]) right++;
      return right / indices.length;
    };
    const all = Int32Array.from({ length: first.length }, (_, i) => i);
    diff.accuracy = {
      before: accuracyOn(first, all),
      after: accuracyOn(second, all),
      delta: pairedBootstrap(
        first.length,
        (indices) => accuracyOn(second, indices) - accuracyOn(first, indices),
        { resamples: RESAMPLES },
      ),
      mcnemar: mcnemar(first, second),
    };
  }
  return diff;
}

function e2eOf(records: readonly RequestRecord[]): Float64Array {
  const measured = records.filter((record) => !record.warmup && record.error === undefined);
  return Float64Array.from(measured, (record) => record.endAt - record.sentAt).sort();
}

function errorsOf(records: readonly RequestRecord[]): number {
  return records.filter((record) => !record.warmup && record.error !== undefined).length;
}

/** A latency quantile's change, each run's requests resampled on their own (percentile interval). */
function latencyChange(
  before: readonly RequestRecord[],
  after: readonly RequestRecord[],
  q: number,
): { before: number; after: number; delta: BootstrapDifference } {
  const earlier = e2eOf(before);
  const later = e2eOf(after);
  const was = quantile(earlier, q);
  const is = quantile(later, q);
  if (earlier.length === 0 || later.length === 0)
    return { before: was, after: is, delta: { difference: is - was, low: Number.NaN, high: Number.NaN } };
  const random = seededRandom(1);
  const resample = (sorted: Float64Array, into: Float64Array) => {
    for (let i = 0; i < into.length; i++) into[i] = sorted[Math.floor(random() * sorted.length)] as number;
    return quantile(into.sort(), q);
  };
  const earlierDraw = new Float64Array(earlier.length);
  const laterDraw = new Float64Array(later.length);
  const differences = new Float64Array(RESAMPLES);
  for (let r = 0; r < RESAMPLES; r++)
    differences[r] = resample(later, laterDraw) - resample(earlier, earlierDraw);
  differences.sort();
  return {
    before: was,
    after: is,
    delta: { difference: is - was, low: quantile(differences, 0.025), high: quantile(differences, 0.975) },
  };
}
