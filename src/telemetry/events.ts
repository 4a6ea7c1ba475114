import { type Channel, channel } from "node:diagnostics_channel";

/**
 * What happened, published on named diagnostics channels. Metrics and logs subscribe; the request path only
 * publishes, so it knows about neither.
 */
export interface RequestEndEvent {
  route: string;
  /** `id:precision`, or "" when the request never got as far as a model. */
  model: string;
  /** The name the client asked for when it was a configured route (an alias), else "". */
  publicModel?: string;
  /** The A/B target a route assigned the request to ("" outside A/B routes). */
  arm?: string;
  /** How the cache took part, when one is configured. */
  cache?: string;
  status: number;
  durationMs: number;
  /** Set when the request failed: the error's stable code. */
  errorCode?: string;
  promptTokens?: number;
  completionTokens?: number;
  ttftMs?: number;
  /** (E2E − TTFT) / (completion tokens − 1), for streams of two or more tokens. */
  timePerOutputTokenMs?: number;
}

/** Milliseconds to the microsecond, as events carry them: finer digits are timer noise and cost log bytes. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export interface ModelLoadedEvent {
  model: string;
  loadMs: number;
}

/** A route committed a request to a target: its A/B arm, a specialist, or a fallback. */
export interface RouteDecisionEvent {
  route: string;
  target: string;
  arm: string;
  via: "arm" | "specialist" | "fallback";
}

export interface FallbackEvent {
  route: string;
  from: string;
  to: string;
  /** The failure's stable code, e.g. `IG_UPSTREAM_ERROR`, `IG_CIRCUIT_OPEN`, `IG_TARGET_TIMEOUT`. */
  reason: string;
}

export interface RetryEvent {
  route: string;
  target: string;
  attempt: number;
  delayMs: number;
  reason: string;
}

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerEvent {
  route: string;
  target: string;
  state: BreakerState;
}

export interface PrecisionSwitchEvent {
  model: string;
  from: string;
  to: string;
  reason: "memory_pressure" | "would_exceed_limit" | "load_failed";
  rssBytes: number;
}

export interface CacheLookupEvent {
  cache: "response" | "embedding";
  /** `bypass`: the store is failing or its breaker is open, so the request went without it. */
  result: "hit" | "semantic_hit" | "miss" | "bypass";
  count: number;
}

export interface CacheStoreEvent {
  event: "eviction" | "decrypt_failure" | "store_error" | "wipe_run" | "wiped_entries" | "bytes_written";
  count: number;
}

/** A channel with a typed publisher that costs nothing while no one listens. */
class Topic<T> {
  readonly channel: Channel;

  constructor(name: string) {
    this.channel = channel(name);
  }

  publish(event: T): void {
    if (this.channel.hasSubscribers) this.channel.publish(event);
  }

  /** Subscribes `listener`; returns the unsubscribe function. */
  subscribe(listener: (event: T) => void): () => void {
    const onMessage = (message: unknown) => listener(message as T);
    this.channel.subscribe(onMessage);
    return () => this.channel.unsubscribe(onMessage);
  }
}

export const topics = {
  requestEnd: new Topic<RequestEndEvent>("infergate:request:end"),
  modelLoaded: new Topic<ModelLoadedEvent>("infergate:model:loaded"),
  routeDecision: new Topic<RouteDecisionEvent>("infergate:route:decision"),
  fallback: new Topic<FallbackEvent>("infergate:route:fallback"),
  retry: new Topic<RetryEvent>("infergate:route:retry"),
  breaker: new Topic<BreakerEvent>("infergate:route:breaker"),
  precisionSwitch: new Topic<PrecisionSwitchEvent>("infergate:precision:switch"),
  cacheLookup: new Topic<CacheLookupEvent>("infergate:cache:lookup"),
  cacheStore: new Topic<CacheStoreEvent>("infergate:cache:store"),
  cacheBreaker: new Topic<{ state: BreakerState }>("infergate:cache:breaker"),
  /** A request refused by its key's rate limit. */
  rateLimited: new Topic<{ limit: "requests" | "tokens" }>("infergate:rate-limit:refused"),
  /** A step on state replicas share (rate-limit windows, a breaker) taken locally: Redis did not answer. */
  sharedStateFallback: new Topic<{ state: "rate_limits" | "breaker" }>("infergate:shared-state:fallback"),
} as const;
