import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { Slo } from "../../bench/load-metrics.js";
import { quantile } from "../../bench/quality/paired-statistics.js";
import type { SweepSpec } from "../../bench/sweep.js";
import type { ProgressEvent } from "../../cli/progress-channel.js";
import { InvalidRequestError, UnavailableError } from "../../core/errors.js";

/** What the dashboard asks to run: the CLI's own command and flags, so a run from the page is a CLI run. */
export interface JobSpec {
  kind: "compare" | "bench";
  targets: string[];
  /** An uploaded, validated JSONL workload, removed once the job has ended; the bundled workload without one. */
  dataset?: string;
  requests?: number;
  concurrency?: number;
  rate?: number;
  maxTokens?: number;
  slo?: Slo;
  sweep?: SweepSpec;
}

export type JobStatus = "queued" | "running" | "done" | "failed" | "cancelled";

/** One server-sent event of a job: its id orders them, so a client that reconnects says where it was. */
export interface JobEvent {
  id: number;
  type: "status" | "progress";
  data: unknown;
}

interface TargetProgress {
  /** Its place among the job's targets: the scatter's series. */
  index: number;
  target: string;
  workload: string;
  total: number;
  done: number;
  errors: number;
  /** The latest E2E latencies, for rolling percentiles. */
  recent: number[];
  recentTtft: number[];
}

/** Events kept per job for clients that reconnect; one that missed more gets a snapshot. */
const KEPT_EVENTS = 256;
/** Progress is sent at most this often: a fast target finishes hundreds of requests a second. */
const PROGRESS_EVERY_MS = 200;
/** Points of the latency scatter kept per job (the newest). */
const MAX_POINTS = 5000;
const ROLLING = 200;
const MAX_QUEUED = 16;

/** A compare or bench started from the dashboard: its status, its progress, and the events that tell them. */
export class Job {
  readonly id = `job-${randomBytes(6).toString("hex")}`;
  readonly createdAt = new Date().toISOString();
  status: JobStatus = "queued";
  run: string | undefined;
  error: string | undefined;
  readonly #targets = new Map<string, TargetProgress>();
  /** [target index, ms since the job started, E2E ms] */
  readonly #points: [number, number, number][] = [];
  #pendingPoints: [number, number, number][] = [];
  readonly #events: JobEvent[] = [];
  #nextEvent = 1;
  #startedAt = 0;
  #flush: NodeJS.Timeout | undefined;
  readonly #listeners = new Set<(event: JobEvent) => void>();

  constructor(readonly spec: JobSpec) {}

  get finished(): boolean {
    return this.status === "done" || this.status === "failed" || this.status === "cancelled";
  }

  /** What a list of jobs shows of each. */
  summary(): Record<string, unknown> {
    return {
      id: this.id,
      createdAt: this.createdAt,
      spec: this.spec,
      status: this.status,
      run: this.run,
      error: this.error,
    };
  }

  /** Everything a page needs to draw the job from nothing. */
  snapshot(): Record<string, unknown> {
    return { ...this.summary(), targets: this.#targetFigures(), points: this.#points };
  }

  /** The events after `lastId`, or undefined when some of them are no longer kept. */
  eventsAfter(lastId: number): JobEvent[] | undefined {
    const oldest = this.#events[0]?.id ?? this.#nextEvent;
    if (lastId + 1 < oldest) return undefined;
    return this.#events.filter((event) => event.id > lastId);
  }

  get lastEventId(): number {
    return this.#nextEvent - 1;
  }

  listen(listener: (event: JobEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** @internal The runner's view: status changes and the child's progress lines. */
  setStatus(status: JobStatus, details: { run?: string; error?: string } = {}): void {
    if (status === "running") this.#startedAt = performance.now();
    this.#sendProgress();
    this.status = status;
    this.run = details.run ?? this.run;
    this.error = details.error;
    this.#emit("status", { status, run: this.run, error: this.error });
  }

  /** @internal */
  progress(event: ProgressEvent): void {
    if (event.type === "target") {
      const { target, workload, total } = event;
      const index = this.#targets.size;
      this.#targets.set(target, {
        index,
        target,
        workload,
        total,
        done: 0,
        errors: 0,
        recent: [],
        recentTtft: [],
      });
    } else if (event.type === "request") {
      const target = this.#targets.get(event.target);
      if (!target) return;
      target.done++;
      if (event.error) target.errors++;
      target.recent.push(event.e2e_ms);
      if (target.recent.length > ROLLING) target.recent.shift();
      if (event.ttft_ms !== undefined) {
        target.recentTtft.push(event.ttft_ms);
        if (target.recentTtft.length > ROLLING) target.recentTtft.shift();
      }
      const point: [number, number, number] = [
        target.index,
        Math.round(performance.now() - this.#startedAt),
        Math.round(event.e2e_ms * 100) / 100,
      ];
      this.#points.push(point);
      if (this.#points.length > MAX_POINTS) this.#points.shift();
      this.#pendingPoints.push(point);
    } else {
      this.run = event.run;
    }
    this.#flush ??= setTimeout(() => this.#sendProgress(), PROGRESS_EVERY_MS);
  }

  #sendProgress(): void {
    clearTimeout(this.#flush);
    this.#flush = undefined;
    if (this.#targets.size === 0 && this.#pendingPoints.length === 0) return;
    const points = this.#pendingPoints;
    this.#pendingPoints = [];
    this.#emit("progress", { targets: this.#targetFigures(), points });
  }

  #targetFigures() {
    return [...this.#targets.values()].map((target) => {
      const e2e = [...target.recent].sort((a, b) => a - b);
      const ttft = [...target.recentTtft].sort((a, b) => a - b);
      return {
        target: target.target,
        workload: target.workload,
        done: target.done,
        total: target.total,
        errors: target.errors,
        e2e_p50_ms: e2e.length ? quantile(e2e, 0.5) : null,
        e2e_p95_ms: e2e.length ? quantile(e2e, 0.95) : null,
        ttft_p50_ms: ttft.length ? quantile(ttft, 0.5) : null,
      };
    });
  }

  #emit(type: JobEvent["type"], data: unknown): void {
    const event = { id: this.#nextEvent++, type, data };
    this.#events.push(event);
    if (this.#events.length > KEPT_EVENTS) this.#events.shift();
    for (const listener of this.#listeners) listener(event);
  }
}

/**
 * Runs from the dashboard, one at a time (runs must not compete for the CPU they measure), each in a child process
 * running the CLI itself (`infergate compare|bench … ` with the gateway's config), which saves its run in the run
 * store and reports progress on a pipe (`INFERGATE_PROGRESS_FD`).
 */
export class RunJobs {
  readonly #jobs = new Map<string, Job>();
  readonly #queue: Job[] = [];
  #running: { job: Job; child: ChildProcess } | undefined;

  constructor(
    private readonly configPath: string | undefined,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  submit(spec: JobSpec): Job {
    if (this.#queue.length >= MAX_QUEUED)
      throw new UnavailableError(`${MAX_QUEUED} runs are queued already; wait for one to finish`);
    const job = new Job(spec);
    this.#jobs.set(job.id, job);
    this.#queue.push(job);
    this.#next();
    return job;
  }

  get(id: string): Job {
    const job = this.#jobs.get(id);
    if (!job) throw new InvalidRequestError(`no job ${JSON.stringify(id)}`, "id");
    return job;
  }

  list(): Job[] {
    return [...this.#jobs.values()].reverse();
  }

  /** Stops a running job (its child is terminated) or takes a queued one off the queue. */
  cancel(id: string): Job {
    const job = this.get(id);
    if (job.finished) return job;
    const queued = this.#queue.indexOf(job);
    if (queued !== -1) {
      this.#queue.splice(queued, 1);
      if (job.spec.dataset) rmSync(job.spec.dataset, { force: true });
      job.setStatus("cancelled");
    } else if (this.#running?.job === job) {
      job.status = "cancelled";
      this.#running.child.kill("SIGTERM");
    }
    return job;
  }

  /** Terminates the running job (the gateway is going away). */
  close(): void {
    this.#queue.length = 0;
    this.#running?.child.kill("SIGTERM");
  }

  #next(): void {
    if (this.#running) return;
    const job = this.#queue.shift();
    if (!job) return;
    const child = spawn(
      process.execPath,
      [...process.execArgv, cliEntry(), ...argsFor(job.spec, this.configPath)],
      {
        env: { ...this.env, INFERGATE_PROGRESS_FD: "3" },
        stdio: ["ignore", "ignore", "pipe", "pipe"],
      },
    );
    this.#running = { job, child };
    job.setStatus("running");
    createInterface({ input: child.stdio[3] as Readable }).on("line", (line) => {
      try {
        job.progress(JSON.parse(line) as ProgressEvent);
      } catch {
        // A line that is not an event is not the progress protocol: ignore it rather than fail the run.
      }
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4096);
    });
    child.once("exit", (code, signal) => {
      this.#running = undefined;
      if (job.spec.dataset) rmSync(job.spec.dataset, { force: true });
      if (job.status === "cancelled") job.setStatus("cancelled");
      else if (code === 0 && job.run) job.setStatus("done", { run: job.run });
      else job.setStatus("failed", { error: failureOf(stderr, code, signal) });
      this.#next();
    });
  }
}

/** The CLI's entry beside this module: `.ts` run from source, `.js` compiled. */
function cliEntry(): string {
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  return fileURLToPath(new URL(`../../cli/infergate${extension}`, import.meta.url));
}

function argsFor(spec: JobSpec, configPath: string | undefined): string[] {
  return [
    ...(configPath ? ["--config", configPath] : []),
    spec.kind,
    ...spec.targets.flatMap((target) => ["--target", target]),
    ...(spec.dataset ? ["--dataset", spec.dataset] : []),
    ...(spec.requests !== undefined ? ["--requests", String(spec.requests)] : []),
    ...(spec.concurrency !== undefined ? ["--concurrency", String(spec.concurrency)] : []),
    ...(spec.rate !== undefined ? ["--rate", String(spec.rate)] : []),
    ...(spec.maxTokens !== undefined ? ["--max-tokens", String(spec.maxTokens)] : []),
    ...(spec.slo
      ? [
          "--slo",
          Object.entries(spec.slo)
            .map(([name, ms]) => `${name}=${ms}`)
            .join(","),
        ]
      : []),
    ...(spec.sweep ? ["--sweep", `${spec.sweep.parameter}=${spec.sweep.values.join(",")}`] : []),
    // Reports and memory samples in a process of their own are for the terminal; the page reads the run store.
    "--memory-samples",
    "0",
    "--cold-starts",
    "0",
  ];
}

/** The CLI's own one-line error (its last stderr line), else how the child ended. */
function failureOf(stderr: string, code: number | null, signal: NodeJS.Signals | null): string {
  const last = stderr.trim().split("\n").at(-1)?.trim();
  if (last) return last;
  return signal ? `the run was stopped by ${signal}` : `the run exited with code ${code}`;
}
