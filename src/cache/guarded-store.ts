import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
} from "cockatiel";
import type { CacheConfig } from "../config/schema.js";
import { type BreakerState, topics } from "../telemetry/events.js";
import type { CacheStore } from "./cache-store.js";
import { open, seal } from "./envelope.js";
import type { Keyring } from "./keyring.js";

/** A lookup's outcome: the value, a miss, or "the store is not usable now, go without it". */
export type Lookup = { value: Buffer } | { miss: true } | { bypass: true };

/**
 * The store as the gateway uses it: values sealed on the way in and opened on the way out (when a keyring is
 * given), every call bounded by a timeout, and a circuit breaker that stops calling a failing store until a
 * probe succeeds. Nothing a store does can fail a request: a failure is a bypass, a value that does not
 * authenticate is a miss, and both are counted.
 */
export class GuardedStore {
  readonly #breaker: CircuitBreakerPolicy;
  #state: BreakerState = "closed";

  constructor(
    readonly store: CacheStore,
    private readonly keyring: Keyring | undefined,
    private readonly settings: Pick<
      CacheConfig,
      "timeout_ms" | "breaker_failures" | "breaker_half_open_after_ms"
    >,
  ) {
    this.#breaker = circuitBreaker(handleAll, {
      halfOpenAfter: settings.breaker_half_open_after_ms,
      breaker: new ConsecutiveBreaker(settings.breaker_failures),
    });
    this.#breaker.onStateChange((state) => {
      this.#state =
        state === CircuitState.Closed ? "closed" : state === CircuitState.HalfOpen ? "half_open" : "open";
      topics.cacheBreaker.publish({ state: this.#state });
    });
  }

  get breakerState(): BreakerState {
    return this.#state;
  }

  async get(key: string): Promise<Lookup> {
    let stored: Buffer | undefined;
    try {
      stored = await this.#call(() => this.store.get(key));
    } catch (error) {
      return this.#bypass(error);
    }
    if (stored === undefined) return { miss: true };
    if (!this.keyring) return { value: stored };
    const opened = open(this.keyring, key, stored);
    if ("plaintext" in opened) return { value: opened.plaintext };
    topics.cacheStore.publish({ event: "decrypt_failure", count: 1 });
    return { miss: true };
  }

  /** Stores a value; false when the store was bypassed. */
  async set(key: string, value: Buffer, ttlMs: number): Promise<boolean> {
    const stored = this.keyring ? seal(this.keyring, key, value) : value;
    try {
      await this.#call(() => this.store.set(key, stored, ttlMs));
      topics.cacheStore.publish({ event: "bytes_written", count: stored.length });
      return true;
    } catch (error) {
      this.#bypass(error);
      return false;
    }
  }

  #call<T>(operation: () => Promise<T>): Promise<T> {
    return this.#breaker.execute(
      () =>
        new Promise<T>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`cache store took longer than ${this.settings.timeout_ms} ms`)),
            this.settings.timeout_ms,
          );
          operation()
            .then(resolve, reject)
            .finally(() => clearTimeout(timer));
        }),
    );
  }

  #bypass(error: unknown): { bypass: true } {
    // An open breaker is the bypass itself; anything else is a store failure worth counting.
    if (!(error instanceof BrokenCircuitError)) topics.cacheStore.publish({ event: "store_error", count: 1 });
    return { bypass: true };
  }
}
