import type { RequestRecord, TargetResult } from "./request-record.js";

/**
 * How requests are released. Plain objects over a generic `send`; the scheduler knows nothing about models.
 * - `concurrent`: a closed loop of `concurrency` workers, each sending its next request when the last ends.
 * - `constant` / `poisson`: an open loop at `rate` requests per second, evenly spaced or with exponential gaps,
 *   sent on schedule whatever the target is doing (up to `maxInFlight` outstanding).
 */
export type Strategy =
  | { kind: "concurrent"; concurrency: number }
  | { kind: "constant"; rate: number; maxInFlight?: number }
  | { kind: "poisson"; rate: number; seed?: number; maxInFlight?: number };

export interface Constraints {
  /** Requests to send, warm-up excluded. */
  requests?: number;
  /** Seconds to keep sending, warm-up excluded. */
  durationS?: number;
  /** Requests at the start whose figures are discarded. */
  warmupRequests?: number;
}

export type Send<I> = (item: I, signal?: AbortSignal) => Promise<TargetResult>;

export interface RunOptions<I> {
  items: readonly I[];
  send: Send<I>;
  strategy: Strategy;
  constraints: Constraints;
  signal?: AbortSignal;
  /** Called after each request completes, for progress display. */
  onRecord?: (record: RequestRecord) => void;
  /** The clock, replaceable in tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Runs a workload against `send` under a strategy; items are reused in order when more requests than items are wanted. */
export async function runSchedule<I>(options: RunOptions<I>): Promise<RequestRecord[]> {
  const { items, send, strategy, constraints } = options;
  if (items.length === 0) throw new Error("the workload has no items");
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? defaultSleep;
  const warmup = constraints.warmupRequests ?? 0;
  const total = constraints.requests === undefined ? Number.POSITIVE_INFINITY : constraints.requests + warmup;
  if (!Number.isFinite(total) && constraints.durationS === undefined)
    throw new Error("give a request count or a duration");
  const records: RequestRecord[] = [];
  const started = now();
  let measuredFrom: number | undefined = warmup === 0 ? started : undefined;
  let issued = 0;

  const expired = () =>
    options.signal?.aborted === true ||
    (constraints.durationS !== undefined &&
      measuredFrom !== undefined &&
      now() - measuredFrom >= constraints.durationS * 1000);
  const more = () => issued < total && !expired();

  /** A closed loop plans nothing: its requests are planned the moment they are sent. */
  const fire = async (index: number, plannedAt?: number): Promise<void> => {
    const item = items[index % items.length] as I;
    const sentAt = now();
    const record: RequestRecord = {
      index,
      plannedAt: plannedAt ?? sentAt,
      sentAt,
      endAt: 0,
      chunkTimes: [],
      outputTokens: 0,
      warmup: index < warmup,
    };
    try {
      const result = await send(item, options.signal);
      Object.assign(record, result);
    } catch (error) {
      record.error = (error as Error).message || String(error);
    }
    record.endAt = now();
    if (index === warmup - 1) measuredFrom = now();
    records.push(record);
    options.onRecord?.(record);
  };

  if (strategy.kind === "concurrent") {
    const worker = async () => {
      while (more()) {
        const index = issued++;
        await fire(index);
      }
    };
    await Promise.all(Array.from({ length: strategy.concurrency }, worker));
  } else {
    const gap =
      strategy.kind === "constant"
        ? () => 1000 / strategy.rate
        : exponentialGaps(strategy.rate, strategy.seed ?? 1);
    const slots = new Slots(strategy.maxInFlight ?? Number.POSITIVE_INFINITY);
    let planned = started;
    while (more()) {
      // Planned times advance on the schedule alone; a late send does not move the ones after it.
      // Timers round to whole milliseconds and may wake early: never send before the planned time.
      while (now() < planned) await sleep(Math.ceil(planned - now()));
      await slots.acquire();
      if (!more()) break;
      slots.run(fire(issued++, planned));
      planned += gap();
    }
    await slots.drained();
  }
  return records.sort((a, b) => a.index - b.index);
}

/**
 * The open loop's bound on requests in flight. Waiting for a free slot is one promise, woken by the request that
 * frees it: a `Promise.race` over every request in flight, once per send, cost O(in flight) each time and left a
 * reaction on every pending request, so at the bound (a target fallen behind) the load generator's own CPU per
 * request grew several-fold and the run could not catch up again.
 */
class Slots {
  readonly #running = new Set<Promise<void>>();
  #wake: (() => void) | undefined;

  constructor(private readonly limit: number) {}

  /** Resolves once fewer than `limit` requests are running. */
  async acquire(): Promise<void> {
    while (this.#running.size >= this.limit) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  run(request: Promise<void>): void {
    this.#running.add(request);
    void request.finally(() => {
      this.#running.delete(request);
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    });
  }

  /** Resolves once every request has ended. */
  async drained(): Promise<void> {
    await Promise.all(this.#running);
  }
}

/** Seeded exponential inter-arrival gaps (ms) for a Poisson process, so runs repeat. */
function exponentialGaps(rate: number, seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    // xorshift32: small, fast, and reproducible across platforms.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const uniform = ((state >>> 0) + 1) / 4_294_967_297;
    return (-Math.log(uniform) / rate) * 1000;
  };
}
