import { Aborter, offAbort, onAbort, type RequestSignal } from "../core/abort.js";

/**
 * An Aborter that also aborts when `parent` does. This is AbortSignal.any for one parent, at a fraction of its
 * cost: on Node 20 `any` spends tens of µs per call on weak references and the garbage they leave, which on a
 * gateway's hot path is more than all the routing around it.
 */
export class LinkedAbort extends Aborter {
  readonly #onAbort = () => this.abort(this.parent.reason);

  constructor(private readonly parent: RequestSignal) {
    super();
    if (parent.aborted) this.abort(parent.reason);
    else onAbort(parent, this.#onAbort);
  }

  /** Stops following the parent. */
  unlink(): void {
    offAbort(this.parent, this.#onAbort);
  }
}
