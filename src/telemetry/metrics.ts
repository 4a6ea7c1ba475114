import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { type BreakerState, topics } from "./events.js";

const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
];
const PER_TOKEN_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface ModelLoadState {
  model: string;
  inFlight: number;
  queued: number;
}

export interface ModelMemory {
  model: string;
  weightsBytes: number;
  stateBytes: number;
}

export interface BreakerReading {
  route: string;
  target: string;
  state: BreakerState;
}

export interface MetricsSources {
  load(): Iterable<ModelLoadState>;
  memory(): Promise<Iterable<ModelMemory>>;
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
 * The gateway's Prometheus metrics, in a registry of its own. Request metrics come from the
 * `infergate:request:end` channel; load and memory gauges are read when scraped.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #unsubscribes: (() => void)[];

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    const requests = new Counter({
      name: "infergate_requests_total",
      help: "Requests by HTTP route, model served, public model (route alias), A/B arm and HTTP status.",
      labelNames: ["route", "model", "public_model", "arm", "status"] as const,
      registers,
    });
    const duration = new Histogram({
      name: "infergate_request_duration_seconds",
      help: "Time from request received to response finished.",
      labelNames: ["route", "model", "public_model", "arm"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const ttft = new Histogram({
      name: "infergate_time_to_first_token_seconds",
      help: "Time from request received to the first generated text.",
      labelNames: ["model", "public_model", "arm"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const tpot = new Histogram({
      name: "infergate_time_per_output_token_seconds",
      help: "Mean time between output tokens after the first, per request.",
      labelNames: ["model", "public_model", "arm"] as const,
      buckets: PER_TOKEN_BUCKETS,
      registers,
    });
    const tokens = new Counter({
      name: "infergate_tokens_total",
      help: "Tokens processed: prompt tokens in, completion tokens out.",
      labelNames: ["model", "public_model", "arm", "direction"] as const,
      registers,
    });
    new Gauge({
      name: "infergate_in_flight_requests",
      help: "Requests a model is serving or holding in its queue.",
      labelNames: ["model"] as const,
      registers,
      collect() {
        this.reset();
        for (const state of sources.load()) this.set({ model: state.model }, state.inFlight);
      },
    });
    new Gauge({
      name: "infergate_queue_depth",
      help: "Requests waiting for a free slot of a model.",
      labelNames: ["model"] as const,
      registers,
      collect() {
        this.reset();
        for (const state of sources.load()) this.set({ model: state.model }, state.queued);
      },
    });
    new Gauge({
      name: "infergate_model_memory_bytes",
      help: "Memory held by a loaded model: weights, and per-request state (KV cache).",
      labelNames: ["model", "kind"] as const,
      registers,
      async collect() {
        this.reset();
        for (const memory of await sources.memory()) {
          this.set({ model: memory.model, kind: "weights" }, memory.weightsBytes);
          this.set({ model: memory.model, kind: "state" }, memory.stateBytes);
        }
      },
    });

    new Gauge({
      name: "infergate_breaker_state",
      ...SAME_IN_EVERY_WORKER,
      help: "Circuit breaker of each route target: 0 closed, 1 half-open, 2 open.",
      labelNames: ["route", "target"] as const,
      registers,
      collect() {
        this.reset();
        for (const { route, target, state } of sources.breakers())
          this.set({ route, target }, BREAKER_VALUES[state]);
      },
    });
    new Gauge({
      name: "infergate_serving_precision",
      ...SAME_IN_EVERY_WORKER,
      help: "1 for the precision each local model serves by default now.",
      labelNames: ["model", "precision"] as const,
      registers,
      collect() {
        this.reset();
        for (const { model, precision } of sources.precisions()) this.set({ model, precision }, 1);
      },
    });
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
    const precisionSwitches = new Counter({
      name: "infergate_precision_switches_total",
      help: "Times the precision policy moved a model to a smaller variant.",
      labelNames: ["model", "from", "to", "reason"] as const,
      registers,
    });

    new Gauge({
      name: "infergate_cache_bytes",
      ...SAME_IN_EVERY_WORKER,
      help: "Bytes the cache store holds (memory and SQLite stores).",
      labelNames: ["store"] as const,
      registers,
      collect() {
        this.reset();
        const cache = sources.cache();
        if (cache?.bytes !== undefined) this.set({ store: cache.store }, cache.bytes);
      },
    });
    new Gauge({
      name: "infergate_cache_breaker_state",
      ...SAME_IN_EVERY_WORKER,
      help: "The cache store's circuit breaker: 0 closed, 1 half-open, 2 open (requests bypass the cache).",
      labelNames: ["store"] as const,
      registers,
      collect() {
        this.reset();
        const cache = sources.cache();
        if (cache) this.set({ store: cache.store }, BREAKER_VALUES[cache.breaker]);
      },
    });
    const cacheLookups = new Counter({
      name: "infergate_cache_lookups_total",
      help: "Cache lookups by cache (response, embedding) and result (hit, semantic_hit, miss, bypass).",
      labelNames: ["cache", "result"] as const,
      registers,
    });
    const storeCounters = {
      eviction: [
        "infergate_cache_evictions_total",
        "Entries the memory store evicted to stay within max_bytes.",
      ],
      decrypt_failure: [
        "infergate_cache_decrypt_failures_total",
        "Stored values that failed authentication or had an unknown key (served as misses).",
      ],
      store_error: ["infergate_cache_store_errors_total", "Cache store calls that failed or timed out."],
      wipe_run: ["infergate_cache_wipe_runs_total", "Wipes run (scheduled and on demand)."],
      wiped_entries: ["infergate_cache_wiped_entries_total", "Entries removed by wipes."],
      bytes_written: ["infergate_cache_written_bytes_total", "Bytes written to the store (sealed size)."],
    } as const;
    const storeEvents = Object.fromEntries(
      Object.entries(storeCounters).map(([event, [name, help]]) => [
        event,
        new Counter({ name, help, registers }),
      ]),
    ) as Record<keyof typeof storeCounters, Counter>;

    this.#unsubscribes = [
      topics.requestEnd.subscribe((event) => {
        const model = event.model;
        const public_model = event.publicModel ?? "";
        const arm = event.arm ?? "";
        requests.inc({ route: event.route, model, public_model, arm, status: String(event.status) });
        duration.observe({ route: event.route, model, public_model, arm }, event.durationMs / 1000);
        if (event.ttftMs !== undefined) ttft.observe({ model, public_model, arm }, event.ttftMs / 1000);
        if (event.timePerOutputTokenMs !== undefined)
          tpot.observe({ model, public_model, arm }, event.timePerOutputTokenMs / 1000);
        if (event.promptTokens)
          tokens.inc({ model, public_model, arm, direction: "prompt" }, event.promptTokens);
        if (event.completionTokens)
          tokens.inc({ model, public_model, arm, direction: "completion" }, event.completionTokens);
      }),
      topics.routeDecision.subscribe((event) => routed.inc({ ...event })),
      topics.fallback.subscribe((event) => fallbacks.inc({ ...event })),
      topics.retry.subscribe(({ route, target, reason }) => retries.inc({ route, target, reason })),
      topics.breaker.subscribe((event) => breakerTransitions.inc({ ...event })),
      topics.precisionSwitch.subscribe(({ model, from, to, reason }) =>
        precisionSwitches.inc({ model, from, to, reason }),
      ),
      topics.cacheLookup.subscribe(({ cache, result, count }) => {
        if (count > 0) cacheLookups.inc({ cache, result }, count);
      }),
      topics.cacheStore.subscribe(({ event, count }) => storeEvents[event].inc(count)),
    ];
  }

  close(): void {
    for (const unsubscribe of this.#unsubscribes) unsubscribe();
  }
}
