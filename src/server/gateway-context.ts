import type { CacheOutcome } from "../cache/model-cache.js";
import type { ServerConfig } from "../config/schema.js";
import type { Task } from "../core/types.js";
import type { ServedModels } from "../routing/served-models.js";
import type { Admitted } from "../routing/serving.js";
import type { RunStore } from "../store/run-store.js";
import type { LiveView } from "../telemetry/live-view.js";
import type { Exchange } from "./exchange.js";
import type { ResponseStorage } from "./openai/response-store.js";
import type { RunJobs } from "./ui/run-jobs.js";
import type { UiAccess } from "./ui/ui-access.js";

/** What route handlers share: the served models and the request bounds. */
export interface GatewayContext {
  models: ServedModels;
  limits: ServerConfig;
  /** Responses kept for `previous_response_id` and `GET /v1/responses/{id}`. */
  responses: ResponseStorage;
  /** Who may use the dashboard's API. */
  ui: UiAccess;
  /** The run store the dashboard reads, opened on first use. */
  runs(): RunStore;
  /** The dashboard's live view of the gateway (every worker's). */
  live(): Promise<LiveView>;
  /** Runs started from the dashboard, one at a time, each in a child process. */
  jobs(): RunJobs;
}

/** Admits an exchange's request for `modelField` (a model or a route), recording who serves it. */
export async function admitFor(
  exchange: Exchange,
  context: GatewayContext,
  modelField: string,
  task: Task,
  user?: string | null,
): Promise<Admitted> {
  const admitted = await context.models.admit(modelField, task, {
    headers: exchange.req.headers,
    user,
    record: exchange.record,
    onServed: (model) => reportServed(exchange, model),
    ...(context.models.cache && { onCache: (outcome: CacheOutcome) => reportCache(exchange, outcome) }),
  });
  exchange.record.model = admitted.name;
  // A route's name stands until one of its targets serves; a model serves itself.
  reportServed(exchange, admitted.name);
  return admitted;
}

/**
 * `x-infergate-model: ID:PRECISION`: the model that served, through routes and fallbacks, while the headers can
 * still carry it, so a client sees which model and precision answered.
 */
function reportServed(exchange: Exchange, model: string): void {
  if (!exchange.res.headersSent) exchange.res.setHeader("x-infergate-model", model);
}

/** `x-infergate-cache: hit | semantic_hit | miss | bypass` (and the similarity of a semantic hit). */
function reportCache(exchange: Exchange, outcome: CacheOutcome): void {
  exchange.record.cache = outcome.result;
  if (exchange.res.headersSent) return;
  exchange.res.setHeader("x-infergate-cache", outcome.result);
  if (outcome.similarity !== undefined)
    exchange.res.setHeader("x-infergate-cache-similarity", outcome.similarity.toFixed(4));
}
