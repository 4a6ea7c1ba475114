import { BrokenCircuitError, BulkheadRejectedError, TaskCancelledError } from "cockatiel";
import { CircuitOpenError, InfergateError, RequestTimeoutError, TargetBusyError } from "../core/errors.js";

/**
 * A failure that is the target's fault — it erred, timed out, was overloaded or rate-limited (5xx, 429, or an
 * error we did not expect) — and so counts against its breaker, is retried, and moves a route to its next
 * target. A client's own mistake (4xx), a client leaving and the request's total deadline are none of these:
 * another target would fail the same way.
 */
export function isTargetFailure(error: unknown): boolean {
  // cockatiel's own refusals (an open breaker, a full bulkhead, a cancelled wait) are not the target failing
  // again: retrying them would only add backoff before the fallback.
  if (
    error instanceof BrokenCircuitError ||
    error instanceof BulkheadRejectedError ||
    error instanceof TaskCancelledError
  )
    return false;
  if (!(error instanceof InfergateError)) return true;
  if (
    error instanceof RequestTimeoutError ||
    error instanceof CircuitOpenError ||
    error instanceof TargetBusyError
  )
    return false;
  return error.status === 429 || error.status >= 500;
}

/** Whether a route tries its next target after `error`: a target failure, an open breaker, a full bulkhead. */
export function canFallBack(error: unknown): boolean {
  return isTargetFailure(error) || error instanceof CircuitOpenError || error instanceof TargetBusyError;
}

/** The stable code metrics and logs name a failure by. */
export function failureCode(error: unknown): string {
  return error instanceof InfergateError ? error.code : "IG_INTERNAL";
}
