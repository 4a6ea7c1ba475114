import { offAbort, onAbort, type RequestSignal } from "../../core/abort.js";
import { RequestAbortedError } from "../../core/errors.js";

interface Waiter<T> {
  resolve(item: T): void;
  reject(error: unknown): void;
}

/**
 * A fixed set of interchangeable resources (here: context sequences) handed out first come, first served.
 * A waiter whose signal aborts leaves the queue with `RequestAbortedError`.
 */
export class ResourcePool<T> {
  readonly #free: T[];
  readonly #waiters: Waiter<T>[] = [];

  constructor(items: readonly T[]) {
    this.#free = [...items];
  }

  get available(): number {
    return this.#free.length;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  acquire(signal?: RequestSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(new RequestAbortedError());
    const item = this.#free.pop();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve, reject) => {
      const abort = () => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new RequestAbortedError());
      };
      const waiter: Waiter<T> = {
        resolve: (item) => {
          if (signal) offAbort(signal, abort);
          resolve(item);
        },
        reject,
      };
      if (signal) onAbort(signal, abort);
      this.#waiters.push(waiter);
    });
  }

  release(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(item);
    else this.#free.push(item);
  }
}
