import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { type BreakerState, type CacheStoreEvent, topics } from "./events.js";
import { observeGcPauses } from "./gc-pauses.js";
import { HotCounter, HotHistogram } from "./hot-metrics.js";

const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
];
const PER_TOKEN_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const GC_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface ModelLoadState {
  model: string;
  inFlight: number;
  queued: number;
}

export interface ModelMemory {
  model: string;
  weightsBytes: number;
  stateBytes: number;
  /** Resident bytes of the process of its own the model is decoded in (llama-server), where it has one. */
  processBytes?: number;
}

/** The process of its own a model is decoded in (a supervised llama-server). */
export interface ModelProcess {
  model: string;
  up: boolean;
  restarts: number;
}

export interface BreakerReading {
  route: string;
  target: string;
  state: BreakerState;
}

export interface MetricsSources {
  load(): Iterable<ModelLoadState>;
  memory(): Promise<Iterable<ModelMemory>>;
  /** Models decoded in a process of their own. */
  processes(): Iterable<ModelProcess>;
  /** Every route target's circuit breaker. */
  breakers(): Iterable<BreakerReading>;
  /** The precision each local model serves by default now (the precision policy may have lowered it). */
  precisions(): Iterable<{ model: string; precision: string }>;
  /** The cache's store, when a cache is configured. */
  cache(): { store: string; bytes: number | undefined; breaker: BreakerState } | undefined;
}

/** For gauges every cluster worker reports alike (a state, a shared store): shown once, not summed. */
const SAME_IN_EVERY_WORKER = { aggregator: "max" } as const;

const BREAKER_VALUES: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * The gateway's Prometheus metrics, in a registry of its own. Counters and histograms are fed by the telemetry
 * channels; gauges read their sources when scraped.
 *
 * @example
 * const metrics = new GatewayMetrics({ load, memory, breakers, precisions, cache });
 * response.end(await metrics.registry.metrics());
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #unsubscribes: (() => void)[];

  constructor(sources: MetricsSources) {
    modelGauges(this.registry, sources);
    this.#unsubscribes = [
      ...requestMetrics(this.registry),
      ...routingMetrics(this.registry, sources),
      ...cacheMetrics(this.registry, sources),
      gcMetrics(this.registry),
    ];
  }

  close(): void {
    for (const unsubscribe of this.#unsubscribes) unsubscribe();
  }
}

type Unsubscribe = () => void;

/** A gauge whose values are read from a source at scrape time (all its series replaced each time). */
function sampledGauge<L extends string>(
  registry: Registry,
  options: { name: string; help: string; labelNames: readonly L[]; sameInEveryWorker?: boolean },
  read: () =>
    | Iterable<[Partial<Record<L, string>>, number]>
    | Promise<Iterable<[Partial<Record<L, string>>, number]>>,
): void {
  new Gauge({
    name: options.name,
    help: options.help,
    labelNames: options.labelNames,
    registers: [registry],
    ...(options.sameInEveryWorker && SAME_IN_EVERY_WORKER),
    async collect() {
      const samples = await read();
      this.reset();
      for (const [labels, value] of samples) this.set(labels, value);
    },
  });
}

/** Garbage-collection pauses, so a latency tail can be told from a collector's pause. */
function gcMetrics(registry: Registry): Unsubscribe {
  const pauses = new Histogram({
    name: "infergate_gc_pause_seconds",
    help: "Garbage-collection pauses of the gateway process, by kind (minor, major, incremental, weakcb).",
    labelNames: ["kind"] as const,
    buckets: GC_BUCKETS,
    registers: [registry],
  });
  return observeGcPauses((kind, durationMs) => pauses.observe({ kind }, durationMs / 1000));
}

function requestMetrics(registry: Registry): Unsubscribe[] {
  const requests = new HotCounter(
    registry,
    "infergate_requests_total",
    "Requests by HTTP route, model served, public model (route alias), A/B arm and HTTP status.",
    ["route", "model", "public_model", "arm", "status"],
  );
  const duration = new HotHistogram(
    registry,
    "infergate_request_duration_seconds",
    "Time from request received to response finished.",
    ["route", "model", "public_model", "arm"],
    LATENCY_BUCKETS,
  );
  const ttft = new HotHistogram(
    registry,
    "infergate_time_to_first_token_seconds",
    "Time from request received to the first generated text.",
    ["model", "public_model", "arm"],
    LATENCY_BUCKETS,
  );
  const tpot = new HotHistogram(
    registry,
    "infergate_time_per_output_token_seconds",
    "Mean time between output tokens after the first, per request.",
    ["model", "public_model", "arm"],
    PER_TOKEN_BUCKETS,
  );
  const tokens = new HotCounter(
    registry,
    "infergate_tokens_total",
    "Tokens processed: prompt tokens in, completion tokens out.",
    ["model", "public_model", "arm", "direction"],
  );
  return [
    topics.requestEnd.subscribe((event) => {
      const model = event.model;
      const public_model = event.publicModel ?? "";
      const arm = event.arm ?? "";
      const who = `${model}\0${public_model}\0${arm}`;
      const where = `${event.route}\0${who}`;
      requests.inc(`${where}\0${event.status}`, () => ({
        route: event.route,
        model,
        public_model,
        arm,
        status: String(event.status),
      }));
      duration.observe(
        where,
        () => ({ route: event.route, model, public_model, arm }),
        event.durationMs / 1000,
      );
      if (event.ttftMs !== undefined)
        ttft.observe(who, () => ({ model, public_model, arm }), event.ttftMs / 1000);
      if (event.timePerOutputTokenMs !== undefined)
        tpot.observe(who, () => ({ model, public_model, arm }), event.timePerOutputTokenMs / 1000);
      if (event.promptTokens)
        tokens.inc(
          `${who}\0prompt`,
          () => ({ model, public_model, arm, direction: "prompt" }),
          event.promptTokens,
        );
      if (event.completionTokens)
        tokens.inc(
          `${who}\0completion`,
          () => ({ model, public_model, arm, direction: "completion" }),
          event.completionTokens,
        );
    }),
  ];
}

function modelGauges(registry: Registry, sources: MetricsSources): void {
  sampledGauge(
    registry,
    {
      name: "infergate_in_flight_requests",
      help: "Requests a model is serving or holding in its queue.",
      labelNames: ["model"],
    },
    () => [...sources.load()].map((state) => [{ model: state.model }, state.inFlight]),
  );
  sampledGauge(
    registry,
    {
      name: "infergate_queue_depth",
      help: "Requests waiting for a free slot of a model.",
      labelNames: ["model"],
    },
    () => [...sources.load()].map((state) => [{ model: state.model }, state.queued]),
  );
  sampledGauge(
    registry,
    {
      name: "infergate_model_memory_bytes",
      help: "Memory held by a loaded model: weights, per-request state (KV cache), and the resident memory of the process of its own it is decoded in (llama-server), where it has one.",
      labelNames: ["model", "kind"],
    },
    async () =>
      [...(await sources.memory())].flatMap((memory): [Record<"model" | "kind", string>, number][] => [
        [{ model: memory.model, kind: "weights" }, memory.weightsBytes],
        [{ model: memory.model, kind: "state" }, memory.stateBytes],
        ...(memory.processBytes === undefined
          ? []
          : [
              [{ model: memory.model, kind: "process" }, memory.processBytes] as [
                Record<"model" | "kind", string>,
                number,
              ],
            ]),
      ]),
  );
  sampledGauge(
    registry,
    {
      name: "infergate_model_process_up",
      help: "1 while the process of its own a model is decoded in (llama-server) runs and answers, 0 while it restarts.",
      labelNames: ["model"],
    },
    () => [...sources.processes()].map((process) => [{ model: process.model }, process.up ? 1 : 0]),
  );
  sampledGauge(
    registry,
    {
      name: "infergate_model_process_restarts",
      help: "Restarts of the process of its own a model is decoded in (llama-server) after unexpected exits, since the model loaded.",
      labelNames: ["model"],
    },
    () => [...sources.processes()].map((process) => [{ model: process.model }, process.restarts]),
  );
}

function routingMetrics(registry: Registry, sources: MetricsSources): Unsubscribe[] {
  const registers = [registry];
  sampledGauge(
    registry,
    {
      name: "infergate_breaker_state",
      help: "Circuit breaker of each route target: 0 closed, 1 half-open, 2 open.",
      labelNames: ["route", "target"],
      sameInEveryWorker: true,
    },
    () =>
      [...sources.breakers()].map(({ route, target, state }) => [{ route, target }, BREAKER_VALUES[state]]),
  );
  sampledGauge(
    registry,
    {
      name: "infergate_serving_precision",
      help: "1 for the precision each local model serves by default now.",
      labelNames: ["model", "precision"],
      sameInEveryWorker: true,
    },
    () => [...sources.precisions()].map(({ model, precision }) => [{ model, precision }, 1]),
  );
  const routed = new Counter({
    name: "infergate_routed_requests_total",
    help: "Requests a route committed to a target, by A/B arm and how the target was reached.",
    labelNames: ["route", "target", "arm", "via"] as const,
    registers,
  });
  const fallbacks = new Counter({
    name: "infergate_fallbacks_total",
    help: "Times a route moved on from a failed target to the next, by the failure's code.",
    labelNames: ["route", "from", "to", "reason"] as const,
    registers,
  });
  const retries = new Counter({
    name: "infergate_retries_total",
    help: "Retries of a route target after a retryable failure.",
    labelNames: ["route", "target", "reason"] as const,
    registers,
  });
  const breakerTransitions = new Counter({
    name: "infergate_breaker_transitions_total",
    help: "Circuit breaker state changes of each route target.",
    labelNames: ["route", "target", "state"] as const,
    registers,
  });
  const rateLimited = new Counter({
    name: "infergate_rate_limited_requests_total",
    help: "Requests refused by their API key's rate limit, by the limit they hit (requests or tokens per minute).",
    labelNames: ["limit"] as const,
    registers,
  });
  const sharedFallbacks = new Counter({
    name: "infergate_shared_state_fallbacks_total",
    help: "Steps on state replicas share (rate_limits windows, a breaker) taken on this replica's own state because the shared Redis did not answer.",
    labelNames: ["state"] as const,
    registers,
  });
  const precisionSwitches = new Counter({
    name: "infergate_precision_switches_total",
    help: "Times the precision policy moved a model to a smaller variant.",
    labelNames: ["model", "from", "to", "reason"] as const,
    registers,
  });
  return [
    topics.routeDecision.subscribe((event) => routed.inc({ ...event })),
    topics.fallback.subscribe((event) => fallbacks.inc({ ...event })),
    topics.retry.subscribe(({ route, target, reason }) => retries.inc({ route, target, reason })),
    topics.breaker.subscribe((event) => breakerTransitions.inc({ ...event })),
    topics.rateLimited.subscribe(({ limit }) => rateLimited.inc({ limit })),
    topics.sharedStateFallback.subscribe(({ state }) => sharedFallbacks.inc({ state })),
    topics.precisionSwitch.subscribe(({ model, from, to, reason }) =>
      precisionSwitches.inc({ model, from, to, reason }),
    ),
  ];
}

/** Counters of cache store events, by the event they count. */
const STORE_COUNTERS: Record<CacheStoreEvent["event"], [name: string, help: string]> = {
  eviction: ["infergate_cache_evictions_total", "Entries the memory store evicted to stay within max_bytes."],
  decrypt_failure: [
    "infergate_cache_decrypt_failures_total",
    "Stored values that failed authentication or had an unknown key (served as misses).",
  ],
  store_error: ["infergate_cache_store_errors_total", "Cache store calls that failed or timed out."],
  wipe_run: ["infergate_cache_wipe_runs_total", "Wipes run (scheduled and on demand)."],
  wiped_entries: ["infergate_cache_wiped_entries_total", "Entries removed by wipes."],
  bytes_written: ["infergate_cache_written_bytes_total", "Bytes written to the store (sealed size)."],
};

function cacheMetrics(registry: Registry, sources: MetricsSources): Unsubscribe[] {
  const registers = [registry];
  sampledGauge(
    registry,
    {
      name: "infergate_cache_bytes",
      help: "Bytes the cache store holds (memory and SQLite stores).",
      labelNames: ["store"],
      sameInEveryWorker: true,
    },
    () => {
      const cache = sources.cache();
      return cache?.bytes === undefined ? [] : [[{ store: cache.store }, cache.bytes]];
    },
  );
  sampledGauge(
    registry,
    {
      name: "infergate_cache_breaker_state",
      help: "The cache store's circuit breaker: 0 closed, 1 half-open, 2 open (requests bypass the cache).",
      labelNames: ["store"],
      sameInEveryWorker: true,
    },
    () => {
      const cache = sources.cache();
      return cache ? [[{ store: cache.store }, BREAKER_VALUES[cache.breaker]]] : [];
    },
  );
  const lookups = new Counter({
    name: "infergate_cache_lookups_total",
    help: "Cache lookups by cache (response, embedding) and result (hit, semantic_hit, miss, bypass).",
    labelNames: ["cache", "result"] as const,
    registers,
  });
  const storeEvents = Object.fromEntries(
    Object.entries(STORE_COUNTERS).map(([event, [name, help]]) => [
      event,
      new Counter({ name, help, registers }),
    ]),
  ) as Record<CacheStoreEvent["event"], Counter>;
  return [
    topics.cacheLookup.subscribe(({ cache, result, count }) => {
      if (count > 0) lookups.inc({ cache, result }, count);
    }),
    topics.cacheStore.subscribe(({ event, count }) => storeEvents[event].inc(count)),
  ];
}
