import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { InfergateConfig } from "../config/load-config.js";
import { Aborter } from "../core/abort.js";
import {
  ConfigError,
  ForbiddenError,
  InfergateError,
  InvalidRequestError,
  RequestAbortedError,
  RequestTimeoutError,
  RouteNotFoundError,
  UnauthorizedError,
  UnavailableError,
} from "../core/errors.js";
import type { Engines } from "../engines/engines.js";
import type { ModelRegistry } from "../models/model-registry.js";
import { ServedModels } from "../routing/served-models.js";
import { SharedState } from "../routing/shared-state.js";
import { openRunStore } from "../store/data-dir.js";
import type { RunStore } from "../store/run-store.js";
import { roundMs, topics } from "../telemetry/events.js";
import { type LiveData, liveView } from "../telemetry/live-view.js";
import { LiveWindow } from "../telemetry/live-window.js";
import { GatewayMetrics } from "../telemetry/metrics.js";
import { ApiKeys, keyOwner, presentedKey } from "./api-keys.js";
import { type ErrorFormat, errorResponse } from "./error-body.js";
import { causeOf, type Exchange } from "./exchange.js";
import type { GatewayContext } from "./gateway-context.js";
import { sendJson, sendText } from "./http-io.js";
import { type ResponseStorage, responseStoreFor } from "./openai/response-store.js";
import { RateLimiter, rateLimitHeaders } from "./rate-limits.js";
import { API_ROUTES, type Route } from "./routes.js";
import { RunJobs } from "./ui/run-jobs.js";
import { UiAccess } from "./ui/ui-access.js";

export interface GatewayOptions {
  config: InfergateConfig;
  registry: ModelRegistry;
  engines: Engines;
  env?: NodeJS.ProcessEnv;
  /** Called with errors no handler expected (bugs), for the log. */
  onUnexpectedError?: (error: unknown) => void;
  /** The `/metrics` text; by default this process's own registry (a cluster worker asks the primary instead). */
  metricsText?: () => Promise<string>;
  /** Where Responses API responses are stored; by default this process's memory (a cluster worker's is the primary's). */
  responses?: ResponseStorage;
  /** The process's resident memory in bytes, for the precision policy; tests simulate pressure with it. */
  rss?: () => number;
  /** The live view's data; by default this process's own (a cluster worker's is every worker's, summed). */
  live?: () => Promise<LiveData>;
}

/**
 * `infergate serve`: the OpenAI-compatible HTTP API over the configured models, plus `/healthz`, `/readyz`
 * and `/metrics`. Every failure becomes a shaped error response; nothing a client sends can crash it.
 *
 * @example
 * const gateway = createGateway({ config, registry, engines });
 * await gateway.start();                 // loads the models, then listens
 * process.once("SIGTERM", () => gateway.drain());
 */
export interface Gateway {
  readonly server: Server;
  readonly metrics: GatewayMetrics;
  /** Loads the models (so no request pays a cold start), then listens; resolves with the bound address. */
  start(): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish (up to the drain timeout), then closes. */
  drain(): Promise<void>;
  /** This process's live window and serving state (what a cluster worker shares). */
  liveData(): LiveData;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
/** Shared by every request without a query string (handlers only read it). */
const NO_QUERY = new URLSearchParams();
const OPERATIONAL_PATHS = new Set(["/healthz", "/readyz", "/metrics", "/admin/cache/wipe"]);

export function createGateway(options: GatewayOptions): Gateway {
  const { config, registry, engines } = options;
  const limits = config.server;
  const keys = ApiKeys.fromEnv(limits.api_keys_env, options.env);
  const adminKeys = ApiKeys.fromEnv(limits.admin_keys_env, options.env);
  if (!keys.enabled && !LOOPBACK.has(limits.host)) {
    throw new ConfigError(
      `server.host is ${limits.host}, which is reachable from other machines: set API keys in ${limits.api_keys_env} (comma-separated)`,
      "server.host",
    );
  }
  const shared = config.shared_state && new SharedState(config.shared_state, options.env ?? process.env);
  const limiter = config.rate_limits && new RateLimiter(config.rate_limits, shared);
  const models = new ServedModels(registry, engines, config, {
    ...(options.env && { env: options.env }),
    ...(shared && { shared }),
    ...(options.rss && { rss: options.rss }),
    ...(options.onUnexpectedError && { onError: options.onUnexpectedError }),
  });
  let runStore: RunStore | undefined;
  let runJobs: RunJobs | undefined;
  const liveWindow = new LiveWindow();
  const liveData = (): LiveData => ({
    seconds: liveWindow.seconds(),
    state: {
      load: [...models.loadStates()],
      breakers: [...models.breakers()],
      precisions: [...models.precisions()],
    },
  });
  const context: GatewayContext = {
    models,
    limits,
    responses: options.responses ?? responseStoreFor(limits),
    ui: new UiAccess(LOOPBACK.has(limits.host), keys, adminKeys, limits.admin_keys_env),
    runs: () => {
      runStore ??= openRunStore(config.ui, options.env);
      return runStore;
    },
    jobs: () => {
      // The children load the gateway's own config file (a config built in memory has none: the bundled one).
      runJobs ??= new RunJobs(existsSync(config.source) ? config.source : undefined, options.env);
      return runJobs;
    },
    live: async () => {
      const { seconds, state } = options.live ? await options.live() : liveData();
      return liveView(seconds, state, Math.floor(Date.now() / 1000));
    },
  };
  const metrics = new GatewayMetrics({
    load: () => models.loadStates(),
    memory: () => models.memory(),
    processes: () => models.processes(),
    breakers: () => models.breakers(),
    precisions: () => models.precisions(),
    cache: () =>
      models.cache && {
        store: models.cache.kind,
        bytes: models.cache.bytes(),
        breaker: models.cache.breakerState,
      },
  });
  const exactRoutes = new Map(
    API_ROUTES.filter((route) => !route.match).map((route) => [`${route.method} ${route.path}`, route]),
  );
  const patternRoutes = API_ROUTES.filter((route) => route.match);
  const findRoute = (method: string, path: string): { route?: Route; params: Record<string, string> } => {
    const exact = exactRoutes.get(`${method} ${path}`);
    if (exact) return { route: exact, params: {} };
    for (const route of patternRoutes) {
      const params = route.method === method ? route.match?.(path) : undefined;
      if (params) return { route, params };
    }
    return { params: {} };
  };
  let ready = false;
  let draining = false;
  let inFlight = 0;

  const server = createServer(
    { noDelay: true, keepAliveTimeout: 65_000 },
    (req, res) => void handle(req, res),
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = performance.now();
    const url = req.url ?? "/";
    const queryAt = url.indexOf("?");
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const { route, params } = findRoute(req.method ?? "GET", path);
    const controller = new Aborter();
    const timer = setTimeout(
      () => controller.abort(new RequestTimeoutError(limits.request_timeout_ms)),
      limits.request_timeout_ms,
    );
    inFlight++;
    res.once("close", () => {
      inFlight--;
      clearTimeout(timer);
      if (!res.writableFinished) controller.abort(new RequestAbortedError());
    });
    const exchange: Exchange = {
      req,
      res,
      startedAt,
      signal: controller,
      params,
      query: queryAt === -1 ? NO_QUERY : new URLSearchParams(url.slice(queryAt + 1)),
      record: { model: "" },
    };
    let status = 200;
    let errorCode: string | undefined;
    // The key (its digest) a rate-limited request spends its tokens against once it ends.
    let limitedOwner: string | undefined;
    try {
      if (route) {
        if (route.authenticated && keys.enabled && !keys.accepts(presentedKey(req.headers, exchange.query)))
          throw new UnauthorizedError();
        if (route.authenticated && limiter) {
          const owner = keyOwner(req.headers, exchange.query);
          const standing = await limiter.admit(owner);
          if (standing) {
            limitedOwner = owner;
            for (const [name, value] of Object.entries(rateLimitHeaders(standing)))
              res.setHeader(name, value);
          }
        }
        await route.handle(exchange, context);
      } else {
        await handleOperational(req.method ?? "GET", path, exchange);
      }
      status = res.statusCode;
    } catch (thrown) {
      const error = causeOf(exchange, thrown);
      if (!(error instanceof InfergateError)) options.onUnexpectedError?.(error);
      const shaped = errorResponse(error, route?.errorFormat ?? ("openai" satisfies ErrorFormat));
      status = shaped.status;
      errorCode = error instanceof InfergateError ? error.code : "IG_INTERNAL";
      if (!res.headersSent && !res.destroyed) {
        // A body we stopped reading midway cannot leave the connection reusable.
        if (!req.readableEnded) res.shouldKeepAlive = false;
        sendJson(res, shaped.status, shaped.body, shaped.headers);
      } else if (!res.writableEnded) {
        res.end();
      }
    } finally {
      clearTimeout(timer);
      if (limiter && limitedOwner !== undefined) {
        const { promptTokens = 0, completionTokens = 0 } = exchange.record;
        // Counting is best effort by design: a count Redis missed falls back to this process (rate-limits.ts).
        void limiter.spend(limitedOwner, promptTokens + completionTokens);
      }
      // The record becomes the event (assigned, not spread: a spread copy grown by more fields is slow on V8).
      topics.requestEnd.publish(
        Object.assign(exchange.record, {
          route: route
            ? route.path.replace("{action}", params.action ?? "")
            : OPERATIONAL_PATHS.has(path)
              ? path
              : "other",
          status,
          durationMs: roundMs(performance.now() - startedAt),
          ...(errorCode && { errorCode }),
        }),
      );
    }
  }

  async function handleOperational(method: string, path: string, exchange: Exchange): Promise<void> {
    const { res, req } = exchange;
    if (method === "GET" && path === "/healthz") return sendJson(res, 200, { status: "ok" });
    if (method === "GET" && path === "/readyz") {
      if (!ready || draining) throw new UnavailableError(draining ? "draining" : "loading models");
      return sendJson(res, 200, { status: "ready" });
    }
    if (method === "GET" && path === "/metrics") {
      if (keys.enabled && !keys.accepts(presentedKey(req.headers, exchange.query)))
        throw new UnauthorizedError();
      const text = await (options.metricsText ?? (() => metrics.registry.metrics()))();
      return sendText(res, 200, text, metrics.registry.contentType);
    }
    if (method === "POST" && path === "/admin/cache/wipe") {
      if (!adminKeys.enabled)
        throw new ForbiddenError(`the admin API is off: set admin keys in ${limits.admin_keys_env}`);
      if (!adminKeys.accepts(presentedKey(req.headers))) throw new UnauthorizedError();
      if (!models.cache) throw new InvalidRequestError("this gateway has no cache configured");
      const wiped = await models.cache.wipeAll();
      return sendJson(res, 200, { object: "cache.wipe", store: models.cache.kind, wiped });
    }
    throw new RouteNotFoundError(method, path);
  }

  return {
    server,
    metrics,
    liveData,
    async start() {
      await models.warmUp();
      await shared?.connect(3000);
      ready = true;
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(limits.port, limits.host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      return server.address() as AddressInfo;
    },
    async drain() {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = performance.now() + limits.drain_timeout_ms;
      while (inFlight > 0 && performance.now() < deadline) await sleep(25);
      server.closeAllConnections();
      await closed;
      await models.close();
      runJobs?.close();
      runStore?.close();
      liveWindow.close();
      shared?.close();
      metrics.close();
    },
  };
}
