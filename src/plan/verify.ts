import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { openTarget } from "../bench/bench-target.js";
import { benchmarkTarget, warmTarget } from "../bench/run-benchmark.js";
import type { Workload } from "../bench/workload.js";
import { UnavailableError } from "../core/errors.js";
import type { Task } from "../core/types.js";
import { createEngines } from "../engines/engines.js";
import type { ModelRegistry } from "../models/model-registry.js";
import { type Attainment, attain, type Candidate, candidatesOf, MAX_ERROR_RATE } from "./candidates.js";
import type { Objective } from "./objectives.js";
import { planLoad } from "./plan-load.js";

/** How long `serve` may take to load the plan's models and listen. */
const START_TIMEOUT_MS = 120_000;
/** Before it is measured, the route is sent up to this many requests, one at a time, for at most this long. */
const WARMUP = { requests: 32, durationS: 5 } as const;

export interface VerifyInput {
  config: string;
  route: string;
  task: string;
  workload: Workload;
  objectives: readonly Objective[];
  rate?: number;
  durationS?: number;
  /** The plan's own figures for its choice, to set beside what the gateway does. */
  predicted: { name: string; attainments: readonly Attainment[] } | null;
  registry: ModelRegistry;
}

export interface VerifyResult {
  passed: boolean;
  summary: string;
  facts: {
    route: string;
    rate: number | null;
    served_by: string | null;
    /** Requests sent through the route, one at a time, before the measured ones. */
    warmup_requests: number;
    requests: number;
    error_rate: number;
    attainments: (Attainment & { predicted: number | null })[];
    missed: string[];
  };
}

/**
 * Serves plan.yaml in a child process, drives the workload through the plan's route at the planned rate for a
 * bounded time, and judges every objective the gateway can show (quality through the route, latency
 * percentiles, errors) as the plan judged its candidates. Cost and memory are properties of the model, not of
 * the route, and are not measured again.
 */
export async function verifyPlan(input: VerifyInput): Promise<VerifyResult> {
  const { child, url } = await startServe(input.config);
  try {
    await using engines = createEngines();
    const target = await openTarget(`${url}/v1`, {
      registry: input.registry,
      engines,
      model: input.route,
      task: input.task as Task,
    });
    // A freshly started gateway's first requests run cold code (its HTTP path, the tokenizer, the engine's first
    // passes) and were 2-4x slower than the rest here. The plan measured its candidates in-process, where that
    // path does not exist, so the route is warmed before it is judged.
    const warmupRequests = await warmTarget(target, input.workload, {
      ...planLoad(undefined, WARMUP),
      constraints: WARMUP,
    });
    const plan = planLoad(
      input.rate,
      input.durationS === undefined
        ? { requests: input.workload.items.length }
        : { durationS: input.durationS },
    );
    const report = await benchmarkTarget(target, input.workload, plan);
    // Cost is not judged here, so no price is needed.
    const [measured] = candidatesOf([report], 0) as [Candidate];
    const servedBy = await servedModel(url, input);
    const judged = input.objectives.filter(
      (objective) => objective.metric.kind === "quality" || objective.metric.kind === "latency",
    );
    const attainments = judged.map((objective) => {
      const attainment = attain(measured, objective);
      const predicted = input.predicted?.attainments.find((each) => each.objective === objective.name)?.value;
      return { ...attainment, predicted: predicted ?? null };
    });
    const errorRate = report.metrics.error_rate;
    if (errorRate > MAX_ERROR_RATE)
      attainments.push({
        objective: "error_rate",
        bound: "max",
        limit: MAX_ERROR_RATE,
        value: errorRate,
        met: false,
        predicted: null,
      });
    const missed = attainments
      .filter((attainment) => !attainment.met)
      .map((attainment) => attainment.objective);
    const facts: VerifyResult["facts"] = {
      route: input.route,
      rate: input.rate ?? null,
      served_by: servedBy,
      warmup_requests: warmupRequests,
      requests: report.metrics.requests,
      error_rate: errorRate,
      attainments,
      missed,
    };
    return { passed: missed.length === 0, summary: summaryOf(facts), facts };
  } finally {
    child.kill("SIGTERM");
    if (child.exitCode === null) await once(child, "exit");
  }
}

/** `serve` on an ephemeral loopback port, with the plan's config; resolves once it listens. */
async function startServe(config: string): Promise<{ child: ChildProcess; url: string }> {
  // The same CLI this process runs (and its loader flags: tsx in development).
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      process.argv[1] as string,
      "--config",
      config,
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
    ],
    { env: { ...process.env, INFERGATE_API_KEYS: "" }, stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const timer = setTimeout(() => child.kill("SIGKILL"), START_TIMEOUT_MS);
  try {
    for await (const line of lines) {
      const entry = parseLine(line);
      if (entry?.msg === "listening" && typeof entry.port === "number") {
        // The rest of its log is not needed; keep the pipe drained.
        child.stdout?.resume();
        return { child, url: `http://127.0.0.1:${entry.port}` };
      }
    }
  } finally {
    clearTimeout(timer);
  }
  throw new UnavailableError(`serve --config ${config} exited before it listened (code ${child.exitCode})`);
}

function parseLine(line: string): { msg?: string; port?: number } | undefined {
  try {
    return JSON.parse(line) as { msg?: string; port?: number };
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** One request through the route: `x-infergate-model` names what served it. */
async function servedModel(url: string, input: VerifyInput): Promise<string | null> {
  const text = input.workload.items[0]?.text ?? "hello";
  const response =
    input.task === "classify"
      ? await fetch(`${url}/v1/classify`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: input.route, input: text }),
        })
      : await fetch(`${url}/v1/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: input.route, prompt: text, max_tokens: 1 }),
        });
  await response.arrayBuffer();
  return response.headers.get("x-infergate-model");
}

function summaryOf(facts: VerifyResult["facts"]): string {
  const load = facts.rate === null ? "one request at a time" : `${facts.rate} requests/s`;
  const lines = [
    `verify: route '${facts.route}' through the gateway at ${load}, ${facts.requests} requests after ${facts.warmup_requests} to warm it, served by ${facts.served_by ?? "?"}`,
    ...facts.attainments.map((attainment) => {
      const value = attainment.value === undefined ? "unmeasured" : attainment.value.toPrecision(4);
      const predicted =
        attainment.predicted === null ? "" : ` (plan: ${attainment.predicted.toPrecision(4)})`;
      const sign = attainment.bound === "min" ? "≥" : "≤";
      return `  ${attainment.met ? "ok  " : "MISS"} ${attainment.objective} ${value} ${sign} ${attainment.limit}${predicted}`;
    }),
    facts.missed.length === 0
      ? "every objective holds (exit 0)"
      : `missed: ${facts.missed.join(", ")} (exit 1)`,
    "",
  ];
  return lines.join("\n");
}
