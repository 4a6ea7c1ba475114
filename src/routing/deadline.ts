import type { RequestSignal } from "../core/abort.js";
import { RequestTimeoutError } from "../core/errors.js";
import { LinkedAbort } from "./linked-abort.js";

/**
 * A request's total time budget on top of its own signal (the client leaving, the gateway's timeout): `signal`
 * aborts at whichever comes first, and `explain` turns the resulting abort into a timeout.
 */
export class Deadline {
  readonly signal: RequestSignal;
  readonly #budget: LinkedAbort | undefined;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly parent: RequestSignal,
    totalMs: number | undefined,
  ) {
    if (totalMs === undefined) {
      this.signal = parent;
      return;
    }
    const budget = new LinkedAbort(parent);
    this.#budget = budget;
    this.#timer = setTimeout(() => budget.abort(new RequestTimeoutError(totalMs)), totalMs);
    this.signal = budget;
  }

  /** The timeout itself when the budget ran out first (whatever it broke on the way), else `error`. */
  explain(error: unknown): unknown {
    return this.#budget?.aborted && !this.parent.aborted ? this.#budget.reason : error;
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#budget?.unlink();
  }
}
