import { type RequestEndEvent, topics } from "./events.js";

/** Seconds kept: the dashboard's live view shows the last 15 minutes. */
export const WINDOW_S = 900;
/** Latency buckets grow by this factor from `FIRST_BOUND_MS`: a quantile read off them is at most 25% high. */
const GROWTH = 1.25;
const FIRST_BOUND_MS = 0.1;
const BUCKETS = 72;

/** Counts of latencies per bucket: bucket i holds values up to FIRST_BOUND_MS × GROWTH^i (the last, anything). */
export type LatencyCounts = number[];

/** What one model, or one A/B arm of a route, did in one second. */
export interface Tally {
  requests: number;
  errors: number;
  tokens: number;
  e2e: LatencyCounts;
}

/** What the gateway did in one second; plain numbers, so windows from several workers sum. */
export interface LiveSecond extends Tally {
  /** Unix time, whole seconds. */
  at: number;
  ttft: LatencyCounts;
  cacheHits: number;
  cacheLookups: number;
  models: Record<string, Tally>;
  /** By `route\0arm`. */
  arms: Record<string, Tally>;
}

function bucketOf(ms: number): number {
  if (!(ms > FIRST_BOUND_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / FIRST_BOUND_MS) / Math.log(GROWTH)));
}

/** The upper bound of a bucket, in ms. */
function boundOf(bucket: number): number {
  return FIRST_BOUND_MS * GROWTH ** bucket;
}

const emptyCounts = (): LatencyCounts => new Array<number>(BUCKETS).fill(0);
const emptyTally = (): Tally => ({ requests: 0, errors: 0, tokens: 0, e2e: emptyCounts() });
const emptySecond = (at: number): LiveSecond => ({
  at,
  ...emptyTally(),
  ttft: emptyCounts(),
  cacheHits: 0,
  cacheLookups: 0,
  models: {},
  arms: {},
});

/**
 * The last 15 minutes of model API requests (`/v1…`), second by second, kept in this process (the page never parses Prometheus
 * text): counts, tokens, errors (5xx) and latency histograms, per model and per A/B arm. Fed by the
 * `requestEnd` channel; read as plain data that sums across `serve --workers`.
 */
export class LiveWindow {
  readonly #seconds = new Map<number, LiveSecond>();
  readonly #unsubscribe: () => void;

  constructor(private readonly now: () => number = Date.now) {
    this.#unsubscribe = topics.requestEnd.subscribe((event) => this.record(event));
  }

  record(event: RequestEndEvent): void {
    // The model APIs' traffic: not health probes, scrapes, or the dashboard's own polling.
    if (!event.route.startsWith("/v1")) return;
    const second = this.#second(Math.floor(this.now() / 1000));
    const failed = event.status >= 500;
    const tokens = (event.promptTokens ?? 0) + (event.completionTokens ?? 0);
    const bucket = bucketOf(event.durationMs);
    // Three calls, not a loop over a fresh array: this runs on every request.
    count(second, failed, tokens, bucket);
    if (event.model) count(tallyIn(second.models, event.model), failed, tokens, bucket);
    if (event.arm)
      count(tallyIn(second.arms, `${event.publicModel ?? ""}\0${event.arm}`), failed, tokens, bucket);
    if (event.ttftMs !== undefined) (second.ttft[bucketOf(event.ttftMs)] as number)++;
    if (event.cache !== undefined && event.cache !== "bypass") {
      second.cacheLookups++;
      if (event.cache === "hit" || event.cache === "semantic_hit") second.cacheHits++;
    }
  }

  /** The seconds of the window that saw requests, oldest first. */
  seconds(): LiveSecond[] {
    this.#prune(Math.floor(this.now() / 1000));
    return [...this.#seconds.values()].sort((a, b) => a.at - b.at);
  }

  close(): void {
    this.#unsubscribe();
  }

  #second(at: number): LiveSecond {
    let second = this.#seconds.get(at);
    if (!second) {
      this.#prune(at);
      second = emptySecond(at);
      this.#seconds.set(at, second);
    }
    return second;
  }

  #prune(now: number): void {
    for (const at of this.#seconds.keys()) if (at <= now - WINDOW_S) this.#seconds.delete(at);
  }
}

function tallyIn(tallies: Record<string, Tally>, key: string): Tally {
  let tally = tallies[key];
  if (!tally) {
    tally = emptyTally();
    tallies[key] = tally;
  }
  return tally;
}

function count(tally: Tally, failed: boolean, tokens: number, bucket: number): void {
  tally.requests++;
  if (failed) tally.errors++;
  tally.tokens += tokens;
  (tally.e2e[bucket] as number)++;
}

function addTally(into: Tally, from: Tally): void {
  into.requests += from.requests;
  into.errors += from.errors;
  into.tokens += from.tokens;
  from.e2e.forEach((count, bucket) => {
    into.e2e[bucket] = (into.e2e[bucket] ?? 0) + count;
  });
}

/** Several workers' windows as one: the seconds with the same time summed. */
export function mergeSeconds(windows: readonly (readonly LiveSecond[])[]): LiveSecond[] {
  const merged = new Map<number, LiveSecond>();
  for (const window of windows)
    for (const second of window) {
      let into = merged.get(second.at);
      if (!into) {
        into = emptySecond(second.at);
        merged.set(second.at, into);
      }
      addTally(into, second);
      second.ttft.forEach((count, bucket) => {
        into.ttft[bucket] = (into.ttft[bucket] ?? 0) + count;
      });
      into.cacheHits += second.cacheHits;
      into.cacheLookups += second.cacheLookups;
      for (const [model, tally] of Object.entries(second.models))
        addTally(tallyIn(into.models, model), tally);
      for (const [arm, tally] of Object.entries(second.arms)) addTally(tallyIn(into.arms, arm), tally);
    }
  return [...merged.values()].sort((a, b) => a.at - b.at);
}

/** The q-quantile of counted latencies, in ms (the upper bound of its bucket); undefined with none. */
export function quantileOf(counts: LatencyCounts, q: number): number | undefined {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return undefined;
  let seen = 0;
  for (const [bucket, count] of counts.entries()) {
    seen += count;
    if (seen >= q * total) return boundOf(bucket);
  }
  return boundOf(BUCKETS - 1);
}

/** Several tallies (a span of seconds) as one. */
export function sumTallies(tallies: readonly Tally[]): Tally {
  const sum = emptyTally();
  for (const tally of tallies) addTally(sum, tally);
  return sum;
}
