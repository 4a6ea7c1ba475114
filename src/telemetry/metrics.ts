import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { type RequestEndEvent, requestEnd } from "./events.js";

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

export interface MetricsSources {
  load(): Iterable<ModelLoadState>;
  memory(): Promise<Iterable<ModelMemory>>;
}

/**
 * The gateway's Prometheus metrics, in a registry of its own. Request metrics come from the
 * `infergate:request:end` channel; load and memory gauges are read when scraped.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #unsubscribe: () => void;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    const requests = new Counter({
      name: "infergate_requests_total",
      help: "Requests by route, model and HTTP status.",
      labelNames: ["route", "model", "status"] as const,
      registers,
    });
    const duration = new Histogram({
      name: "infergate_request_duration_seconds",
      help: "Time from request received to response finished.",
      labelNames: ["route", "model"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const ttft = new Histogram({
      name: "infergate_time_to_first_token_seconds",
      help: "Time from request received to the first generated text.",
      labelNames: ["model"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const tpot = new Histogram({
      name: "infergate_time_per_output_token_seconds",
      help: "Mean time between output tokens after the first, per request.",
      labelNames: ["model"] as const,
      buckets: PER_TOKEN_BUCKETS,
      registers,
    });
    const tokens = new Counter({
      name: "infergate_tokens_total",
      help: "Tokens processed: prompt tokens in, completion tokens out.",
      labelNames: ["model", "direction"] as const,
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

    const onRequest = (message: unknown) => {
      const event = message as RequestEndEvent;
      requests.inc({ route: event.route, model: event.model, status: String(event.status) });
      duration.observe({ route: event.route, model: event.model }, event.durationMs / 1000);
      if (event.ttftMs !== undefined) ttft.observe({ model: event.model }, event.ttftMs / 1000);
      if (event.timePerOutputTokenMs !== undefined)
        tpot.observe({ model: event.model }, event.timePerOutputTokenMs / 1000);
      if (event.promptTokens) tokens.inc({ model: event.model, direction: "prompt" }, event.promptTokens);
      if (event.completionTokens)
        tokens.inc({ model: event.model, direction: "completion" }, event.completionTokens);
    };
    requestEnd.subscribe(onRequest);
    this.#unsubscribe = () => requestEnd.unsubscribe(onRequest);
  }

  close(): void {
    this.#unsubscribe();
  }
}
