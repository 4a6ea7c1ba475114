import { offAbort, onAbort, type RequestSignal } from "../../core/abort.js";
import { RequestAbortedError } from "../../core/errors.js";

interface Waiter<T> {
  resolve(item: T): void;
  reject(error: unknown): void;
}

/**
 * A fixed set of interchangeable resources (here: context sequences) handed out to waiters first come, first
 * served, each time the free one that comes first in the pool's list. Handing out the first keeps the sequences in
 * use packed at the low ids: llama.cpp splits a batch for a per-sequence KV cache at every gap in the ids it holds,
 * and each part costs one more pass over the weights. A waiter whose signal aborts leaves the queue with
 * `RequestAbortedError`.
 */
export class ResourcePool<T> {
  readonly #items: readonly T[];
  readonly #free: boolean[];
  readonly #waiters: Waiter<T>[] = [];

  constructor(items: readonly T[]) {
    this.#items = [...items];
    this.#free = this.#items.map(() => true);
  }

  get available(): number {
    return this.#free.filter(Boolean).length;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  acquire(signal?: RequestSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(new RequestAbortedError());
    const index = this.#free.indexOf(true);
    if (index !== -1) {
      this.#free[index] = false;
      return Promise.resolve(this.#items[index] as T);
    }
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
    const index = this.#items.indexOf(item);
    if (index === -1 || this.#free[index]) throw new Error("released an item this pool did not hand out");
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(item);
    else this.#free[index] = true;
  }
}
