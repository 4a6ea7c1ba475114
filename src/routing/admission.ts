import { OverloadedError } from "../core/errors.js";

/**
 * Bounds the requests one model holds: `slots` run at once, up to `maxQueue` more wait; past that a request is
 * refused at once (429) instead of piling up behind the others.
 */
export class Admission {
  #inFlight = 0;

  constructor(
    readonly model: string,
    readonly slots: number,
    readonly maxQueue: number,
  ) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return Math.max(0, this.#inFlight - this.slots);
  }

  /** Takes a place or throws `OverloadedError`; call the returned function exactly once when done. */
  enter(): () => void {
    if (this.#inFlight >= this.slots + this.maxQueue)
      throw new OverloadedError(this.model, this.#retryAfter());
    this.#inFlight++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#inFlight--;
    };
  }

  /** A rough wait: one second per full round of slots queued ahead. */
  #retryAfter(): number {
    return Math.max(1, Math.ceil(this.queued / Math.max(1, this.slots)));
  }
}
