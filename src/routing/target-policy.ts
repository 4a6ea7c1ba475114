import {
  BrokenCircuitError,
  type BulkheadPolicy,
  BulkheadRejectedError,
  bulkhead,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  type IPolicy,
  retry,
  SamplingBreaker,
  wrap,
} from "cockatiel";
import type { RouteConfig } from "../config/schema.js";
import { abortSignalOf, type RequestSignal } from "../core/abort.js";
import {
  CircuitOpenError,
  RequestAbortedError,
  TargetBusyError,
  TargetTimeoutError,
} from "../core/errors.js";
import { type BreakerState, topics } from "../telemetry/events.js";
import { failureCode, isTargetFailure } from "./failures.js";
import { LinkedAbort } from "./linked-abort.js";
import { SharedBreaker } from "./shared-breaker.js";
import type { SharedState } from "./shared-state.js";

const BREAKER_STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Open]: "open",
  [CircuitState.Isolated]: "open",
};

/**
 * The resilience one route applies to one of its targets: cockatiel's bulkhead (`max_concurrent` +
 * `max_queue`), retries with exponential backoff and decorrelated jitter, and circuit breaker (consecutive
 * failures or a failure rate; half-open probes), and a first-token timeout of our own — cockatiel's derives an
 * AbortController per call and cannot hand a stream a signal that outlives the call.
 *
 * A generation is "open" once its first token arrived: only opening runs under the timeout, while the
 * retries and the breaker also cover `settle` (reading the rest of an answer that is not streamed), because
 * until the client has seen a byte a failure can still be retried or handed to the next target.
 */
export class TargetPolicy {
  readonly #bulkhead: BulkheadPolicy | undefined;
  readonly #firstTokenMs: number | undefined;
  readonly #policy: IPolicy;
  /** With `shared_state`, a breaker over consecutive failures is shared by every replica instead. */
  readonly #shared: SharedBreaker | undefined;
  #state: BreakerState = "closed";

  constructor(
    readonly route: string,
    readonly target: string,
    config: RouteConfig,
    shared?: SharedState,
  ) {
    this.#bulkhead =
      config.max_concurrent === undefined ? undefined : bulkhead(config.max_concurrent, config.max_queue);
    this.#firstTokenMs = config.timeout_ms.first_token;
    const { attempts, base_delay_ms, max_delay_ms } = config.retry;
    const retries = retry(handleWhen(isTargetFailure), {
      maxAttempts: attempts - 1,
      backoff: new ExponentialBackoff({ initialDelay: base_delay_ms, maxDelay: max_delay_ms }),
    });
    retries.onRetry(({ delay, attempt, ...reason }) =>
      topics.retry.publish({
        route,
        target,
        attempt,
        delayMs: delay,
        reason: "error" in reason ? failureCode(reason.error) : "IG_INTERNAL",
      }),
    );
    const breaker = config.breaker;
    if (breaker?.failures !== undefined && shared) {
      this.#shared = new SharedBreaker(shared, route, target, {
        failures: breaker.failures,
        halfOpenAfterMs: breaker.half_open_after_ms,
        // A probe's replica that dies with it frees the probe after this long.
        probeTtlMs: config.timeout_ms.total ?? 30_000,
      });
    }
    if (!breaker || this.#shared) {
      this.#policy = retries;
      return;
    }
    const windowS = breaker.window_ms / 1000;
    const policy = circuitBreaker(handleWhen(isTargetFailure), {
      halfOpenAfter: breaker.half_open_after_ms,
      breaker:
        breaker.failures !== undefined
          ? new ConsecutiveBreaker(breaker.failures)
          : new SamplingBreaker({
              threshold: breaker.failure_rate ?? 0.5,
              duration: breaker.window_ms,
              minimumRps: breaker.min_requests / windowS,
            }),
    });
    policy.onStateChange((state) => {
      this.#state = BREAKER_STATES[state];
      topics.breaker.publish({ route, target, state: this.#state });
    });
    this.#policy = wrap(retries, policy);
  }

  get breakerState(): BreakerState {
    return this.#shared?.state ?? this.#state;
  }

  /**
   * Takes a place in the bulkhead (waiting in its queue if need be) and keeps it until the returned function
   * is called — a stream outlives any one policy call, and the place must last as long as the stream.
   */
  hold(signal: RequestSignal): Promise<() => void> {
    const slots = this.#bulkhead;
    if (!slots) return Promise.resolve(noop);
    return new Promise((resolve, reject) => {
      let release = noop;
      const held = new Promise<void>((done) => {
        release = done;
      });
      slots
        .execute(() => {
          resolve(release);
          return held;
        }, abortSignalOf(signal))
        .catch((error: unknown) => reject(this.#translate(error, signal)));
    });
  }

  /** Opens (under the first-token timeout) and settles one try at the target, with retries and the breaker. */
  async run<O, T>(
    open: (signal: RequestSignal) => Promise<O>,
    settle: (opened: O) => Promise<T>,
    signal: RequestSignal,
  ): Promise<T> {
    try {
      // The policies' own signals stop following `signal` once they return, and a stream lives on after
      // that: every try gets the request's signal itself.
      return await this.#policy.execute(() => this.#try(open, settle, signal), abortSignalOf(signal));
    } catch (error) {
      throw this.#translate(error, signal);
    }
  }

  /** One try, through the shared breaker when there is one: it may refuse the try, and hears how it went. */
  async #try<O, T>(
    open: (signal: RequestSignal) => Promise<O>,
    settle: (opened: O) => Promise<T>,
    signal: RequestSignal,
  ): Promise<T> {
    const breaker = this.#shared;
    if (!breaker) return settle(await this.#open(open, signal));
    const { probe } = await breaker.admit();
    let result: T;
    try {
      result = await settle(await this.#open(open, signal));
    } catch (error) {
      // Only the target's own failures count; a client's mistake or its leaving says nothing of the target.
      if (isTargetFailure(error)) await breaker.failure(probe);
      else await breaker.abandon(probe);
      throw error;
    }
    await breaker.success(probe);
    return result;
  }

  /**
   * One try at opening, aborted if no first token comes in time. The try's signal keeps following the
   * request's after it opened: the stream it started lives on it.
   */
  async #open<O>(open: (signal: RequestSignal) => Promise<O>, signal: RequestSignal): Promise<O> {
    const ms = this.#firstTokenMs;
    if (ms === undefined) return open(signal);
    const attempt = new LinkedAbort(signal);
    const timer = setTimeout(() => attempt.abort(new TargetTimeoutError(this.target, ms)), ms);
    try {
      return await open(attempt);
    } catch (error) {
      attempt.unlink();
      throw attempt.aborted && !signal.aborted ? attempt.reason : error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** cockatiel's refusals, as the errors clients and fallbacks understand. */
  #translate(error: unknown, signal: RequestSignal): unknown {
    if (error instanceof BrokenCircuitError) return new CircuitOpenError(this.target);
    if (error instanceof BulkheadRejectedError) return new TargetBusyError(this.target);
    if (signal.aborted && !(error instanceof RequestAbortedError)) return new RequestAbortedError();
    return error;
  }
}

function noop(): void {}
