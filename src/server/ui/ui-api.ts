import { InvalidRequestError } from "../../core/errors.js";
import { diffRuns } from "../../store/run-diff.js";
import type { Exchange } from "../exchange.js";
import type { GatewayContext } from "../gateway-context.js";
import { sendJson } from "../http-io.js";

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
