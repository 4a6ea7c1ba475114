import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import { loadJsonlWorkload } from "../../bench/workload.js";
import { InfergateError, InvalidRequestError, RouteNotFoundError } from "../../core/errors.js";
import { diffRuns } from "../../store/run-diff.js";
import { isClusterWorker } from "../cluster-workers.js";
import type { Exchange } from "../exchange.js";
import type { GatewayContext } from "../gateway-context.js";
import { readJsonBody, SseStream, sendJson } from "../http-io.js";
import { parseBody } from "../openai/schemas.js";
import type { JobSpec } from "./run-jobs.js";

/** `GET /ui/api/runs`: the stored runs, newest first (`?limit=`, at most 1,000). */
export async function handleListRuns(exchange: Exchange, context: GatewayContext): Promise<void> {
  context.ui.check(exchange.req.headers, exchange.query);
  const limit = Number(exchange.query.get("limit") ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new InvalidRequestError("limit must be a whole number from 1 to 1000", "limit");
  sendJson(exchange.res, 200, { object: "list", data: context.runs().list(limit) });
}

/** `GET /ui/api/runs/{id}`: one run, its report, records and item outcomes. */
export async function handleGetRun(exchange: Exchange, context: GatewayContext): Promise<void> {
  context.ui.check(exchange.req.headers, exchange.query);
  sendJson(exchange.res, 200, context.runs().get(exchange.params.id ?? ""));
}

/** `GET /ui/api/diff?before=ID&after=ID`: what changed between two runs, per target, with intervals. */
export async function handleDiffRuns(exchange: Exchange, context: GatewayContext): Promise<void> {
  context.ui.check(exchange.req.headers, exchange.query);
  const runs = context.runs();
  const stored = (field: "before" | "after") => {
    const id = exchange.query.get(field);
    if (!id) throw new InvalidRequestError(`give the ${field} run's id as ?${field}=`, field);
    return runs.get(id);
  };
  sendJson(exchange.res, 200, diffRuns(stored("before"), stored("after")));
}

/** `GET /ui/api/live`: the gateway now: tiles, 15 minutes of per-second series, models, A/B arms, breakers. */
export async function handleLive(exchange: Exchange, context: GatewayContext): Promise<void> {
  context.ui.check(exchange.req.headers, exchange.query);
  sendJson(exchange.res, 200, await context.live());
}

/** `/ui/api/runs/{id}` → `{id}`. */
export function matchRunPath(path: string): Record<string, string> | undefined {
  const prefix = "/ui/api/runs/";
  if (!path.startsWith(prefix) || path.length === prefix.length) return undefined;
  const id = path.slice(prefix.length);
  return id.includes("/") ? undefined : { id };
}

const jobRequestSchema = z
  .object({
    kind: z.enum(["compare", "bench"]),
    targets: z.array(z.string().min(1).max(256)).min(1).max(32),
    /** An uploaded workload, validated as `--dataset` files are. */
    dataset: z
      .object({ jsonl: z.string().min(1) })
      .strict()
      .optional(),
    requests: z.int().min(1).max(100_000).optional(),
    concurrency: z.int().min(1).max(1024).optional(),
    /** Open loop: requests per second, on schedule. */
    rate: z.number().positive().max(1_000_000).optional(),
    max_tokens: z.int().min(1).max(32_768).optional(),
    /** Goodput objectives: a request counts as good when it meets all of them. */
    slo: z
      .object({
        ttft_ms: z.number().positive().max(3_600_000).optional(),
        itl_ms: z.number().positive().max(3_600_000).optional(),
        e2e_ms: z.number().positive().max(3_600_000).optional(),
      })
      .strict()
      .optional(),
    sweep: z
      .object({
        parameter: z.enum(["concurrency", "rate", "batch"]),
        values: z.array(z.number().positive().max(1_000_000)).min(2).max(16),
      })
      .strict()
      .optional(),
  })
  .strict();

/** `POST /ui/api/jobs`: queue a compare or bench of configured models; 202 with the job. */
export async function handleSubmitJob(exchange: Exchange, context: GatewayContext): Promise<void> {
  context.ui.check(exchange.req.headers, exchange.query);
  const body = parseBody(jobRequestSchema, await readJsonBody(exchange.req, context.limits.max_body_bytes));
  // Each worker would keep its own queue (two runs at once) and its own events (a reconnect may reach another).
  if (isClusterWorker())
    throw new InvalidRequestError(
      "runs from the dashboard need a gateway with one worker (serve without --workers)",
      "kind",
    );
  const known = new Set(context.models.modelNames());
  body.targets.forEach((target, index) => {
    if (!known.has(target))
      throw new InvalidRequestError(
        `targets[${index}]: no model ${JSON.stringify(target)} in this gateway's config`,
        `targets.${index}`,
      );
  });
  if (body.kind === "bench" && body.targets.length !== 1)
    throw new InvalidRequestError("bench measures one target; use compare for several", "targets");
  if (body.concurrency !== undefined && body.rate !== undefined)
    throw new InvalidRequestError("give concurrency or rate, not both", "rate");
  const spec: JobSpec = { kind: body.kind, targets: body.targets };
  if (body.requests !== undefined) spec.requests = body.requests;
  if (body.concurrency !== undefined) spec.concurrency = body.concurrency;
  if (body.rate !== undefined) spec.rate = body.rate;
  if (body.max_tokens !== undefined) spec.maxTokens = body.max_tokens;
  if (body.slo && Object.keys(body.slo).length > 0) spec.slo = body.slo;
  if (body.sweep) spec.sweep = body.sweep;
  if (body.dataset) spec.dataset = savedUpload(context, body.dataset.jsonl);
  sendJson(exchange.res, 202, context.jobs().submit(spec).snapshot());
}

/** An upload kept beside the run store (owner-only), refused with the CLI's own message for a bad row. */
function savedUpload(context: GatewayContext, jsonl: string): string {
  const dir = join(dirname(context.runs().path), "uploads");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${randomBytes(8).toString("hex")}.jsonl`);
  writeFileSync(path, jsonl, { mode: 0o600 });
  try {
    loadJsonlWorkload(path);
  } catch (error) {
    rmSync(path, { force: true });
    // The loader's own message, with the upload's line in place of a file name the client never chose.
    if (error instanceof InfergateError)
      throw new InvalidRequestError(error.message.replaceAll(`${path}:`, "dataset line "), "dataset");
    throw error;
  }
  return path;
}

/** `GET /ui/api/models`: what a run from the dashboard can measure: the models of this gateway's config (no routes). */
export async function handleUiModels(exchange: Exchange, context: GatewayContext): Promise<void> {
  context.ui.check(exchange.req.headers, exchange.query);
  const names = new Set(context.models.modelNames());
  const data = context.models.catalog().filter((entry) => names.has(entry.id));
  sendJson(exchange.res, 200, { object: "list", data: data.map(({ id, task }) => ({ id, task })) });
}

/** `GET /ui/api/jobs`: the runs started from the dashboard, newest first. */
export async function handleListJobs(exchange: Exchange, context: GatewayContext): Promise<void> {
  context.ui.check(exchange.req.headers, exchange.query);
  const data = context
    .jobs()
    .list()
    .map((job) => job.summary());
  sendJson(exchange.res, 200, { object: "list", data });
}

/**
 * `GET /ui/api/jobs/{id}/events`: the job as server-sent events (`status`, `progress`), each with an id. A client
 * that reconnects with `Last-Event-ID` gets what it missed, or, when that is no longer kept, a `snapshot` of the
 * whole job; the stream ends once the job has.
 */
async function streamJobEvents(exchange: Exchange, context: GatewayContext): Promise<void> {
  const job = context.jobs().get(exchange.params.id ?? "");
  const header = exchange.req.headers["last-event-id"];
  const lastId = Number(typeof header === "string" ? header : (exchange.query.get("last_event_id") ?? 0));
  const sse = new SseStream(exchange.res);
  // A browser that loses the stream asks again after half a second (EventSource's default is seconds).
  sse.retry(500);
  const missed = Number.isInteger(lastId) && lastId > 0 ? job.eventsAfter(lastId) : undefined;
  if (missed) for (const event of missed) void sse.event(event.type, event.data, event.id);
  else void sse.event("snapshot", job.snapshot(), job.lastEventId);
  if (job.finished) {
    sse.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const stop = job.listen((event) => {
      void sse.event(event.type, event.data, event.id);
      if (job.finished) {
        stop();
        sse.end();
        resolve();
      }
    });
    exchange.res.once("close", () => {
      stop();
      resolve();
    });
  });
}

/** `POST /ui/api/jobs/{id}/cancel`: stops a running job or takes a queued one off the queue. */
async function cancelJob(exchange: Exchange, context: GatewayContext): Promise<void> {
  sendJson(
    exchange.res,
    200,
    context
      .jobs()
      .cancel(exchange.params.id ?? "")
      .snapshot(),
  );
}

/** `GET /ui/api/jobs/{id}/events` and `POST /ui/api/jobs/{id}/cancel`. */
export async function handleJobAction(exchange: Exchange, context: GatewayContext): Promise<void> {
  context.ui.check(exchange.req.headers, exchange.query);
  const { action } = exchange.params;
  if (exchange.req.method === "GET" && action === "events") return streamJobEvents(exchange, context);
  if (exchange.req.method === "POST" && action === "cancel") return cancelJob(exchange, context);
  throw new RouteNotFoundError(exchange.req.method ?? "GET", exchange.req.url ?? "");
}

/** `/ui/api/jobs/{id}/{action}` → `{id, action}`. */
export function matchJobPath(path: string): Record<string, string> | undefined {
  const match = /^\/ui\/api\/jobs\/(job-[0-9a-f]{12})\/(events|cancel)$/.exec(path);
  return match ? { id: match[1] as string, action: match[2] as string } : undefined;
}
