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
import {
  CircuitOpenError,
  RequestAbortedError,
  TargetBusyError,
  TargetTimeoutError,
} from "../core/errors.js";
import { type BreakerState, topics } from "../telemetry/events.js";
import { failureCode, isTargetFailure } from "./failures.js";
import { LinkedAbort } from "./linked-abort.js";

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
  #state: BreakerState = "closed";

  constructor(
    readonly route: string,
    readonly target: string,
    config: RouteConfig,
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
    if (!breaker) {
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
    return this.#state;
  }

  /**
   * Takes a place in the bulkhead (waiting in its queue if need be) and keeps it until the returned function
   * is called — a stream outlives any one policy call, and the place must last as long as the stream.
   */
  hold(signal: AbortSignal): Promise<() => void> {
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
        }, signal)
        .catch((error: unknown) => reject(this.#translate(error, signal)));
    });
  }

  /** Opens (under the first-token timeout) and settles one try at the target, with retries and the breaker. */
  async run<O, T>(
    open: (signal: AbortSignal) => Promise<O>,
    settle: (opened: O) => Promise<T>,
    signal: AbortSignal,
  ): Promise<T> {
    try {
      // The policies' own signals stop following `signal` once they return, and a stream lives on after
      // that: every try gets the request's signal itself.
      return await this.#policy.execute(async () => settle(await this.#open(open, signal)), signal);
    } catch (error) {
      throw this.#translate(error, signal);
    }
  }

  /**
   * One try at opening, aborted if no first token comes in time. The try's signal keeps following the
   * request's after it opened: the stream it started lives on it.
   */
  async #open<O>(open: (signal: AbortSignal) => Promise<O>, signal: AbortSignal): Promise<O> {
    const ms = this.#firstTokenMs;
    if (ms === undefined) return open(signal);
    const attempt = new LinkedAbort(signal);
    const timer = setTimeout(() => attempt.abort(new TargetTimeoutError(this.target, ms)), ms);
    try {
      return await open(attempt.signal);
    } catch (error) {
      attempt.unlink();
      throw attempt.signal.aborted && !signal.aborted ? attempt.signal.reason : error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** cockatiel's refusals, as the errors clients and fallbacks understand. */
  #translate(error: unknown, signal: AbortSignal): unknown {
    if (error instanceof BrokenCircuitError) return new CircuitOpenError(this.target);
    if (error instanceof BulkheadRejectedError) return new TargetBusyError(this.target);
    if (signal.aborted && !(error instanceof RequestAbortedError)) return new RequestAbortedError();
    return error;
  }
}

function noop(): void {}
