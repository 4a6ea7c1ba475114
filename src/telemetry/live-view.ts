import {
  type LiveSecond,
  mergeSeconds,
  quantileOf,
  sumTallies,
  type Tally,
  WINDOW_S,
} from "./live-window.js";
import type { BreakerReading, ModelLoadState } from "./metrics.js";

/** What the gateway is serving now, read from its models (summed over workers by the caller). */
export interface LiveState {
  load: ModelLoadState[];
  breakers: BreakerReading[];
  precisions: { model: string; precision: string }[];
}

/** One process's window and state: what a cluster worker hands the primary to sum. */
export interface LiveData {
  seconds: LiveSecond[];
  state: LiveState;
}

const SEVERITY = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * Several workers' data as one: seconds and load summed; a breaker each worker keeps on its own shows its worst
 * state; a precision, the first worker's.
 */
export function mergeLiveData(parts: readonly LiveData[]): LiveData {
  const load = new Map<string, ModelLoadState>();
  const breakers = new Map<string, BreakerReading>();
  const precisions = new Map<string, { model: string; precision: string }>();
  for (const { state } of parts) {
    for (const entry of state.load) {
      const sum = load.get(entry.model) ?? { model: entry.model, inFlight: 0, queued: 0 };
      load.set(entry.model, {
        model: entry.model,
        inFlight: sum.inFlight + entry.inFlight,
        queued: sum.queued + entry.queued,
      });
    }
    for (const breaker of state.breakers) {
      const key = `${breaker.route}\0${breaker.target}`;
      const seen = breakers.get(key);
      if (!seen || SEVERITY[breaker.state] > SEVERITY[seen.state]) breakers.set(key, breaker);
    }
    for (const entry of state.precisions)
      if (!precisions.has(entry.model)) precisions.set(entry.model, entry);
  }
  return {
    seconds: mergeSeconds(parts.map((part) => part.seconds)),
    state: {
      load: [...load.values()],
      breakers: [...breakers.values()],
      precisions: [...precisions.values()],
    },
  };
}

/** One second of the time series; latency quantiles are null in a second without requests. */
export interface SeriesPoint {
  at: number;
  requests_per_s: number;
  tokens_per_s: number;
  error_ratio: number;
  ttft_p95_ms: number | null;
  e2e_p95_ms: number | null;
}

/** The dashboard's live view: tiles (last 10 s), 15 minutes of per-second series, and tables (last minute). */
export interface LiveView {
  now: number;
  window_s: number;
  tiles: Omit<SeriesPoint, "at"> & { in_flight: number; queue_depth: number; cache_hit_ratio: number | null };
  series: SeriesPoint[];
  models: {
    model: string;
    requests_per_s: number;
    tokens_per_s: number;
    error_ratio: number;
    e2e_p95_ms: number | null;
    in_flight: number;
    queued: number;
    precision?: string;
  }[];
  arms: {
    route: string;
    arm: string;
    share: number;
    requests_per_s: number;
    error_ratio: number;
    e2e_p95_ms: number | null;
  }[];
  breakers: BreakerReading[];
}

const TILE_S = 10;
const TABLE_S = 60;

const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : 0);

/** The live view at `now` (Unix seconds) from a window's seconds and the gateway's state. */
export function liveView(seconds: readonly LiveSecond[], state: LiveState, now: number): LiveView {
  const byTime = new Map(seconds.map((second) => [second.at, second]));
  const series: SeriesPoint[] = [];
  for (let at = now - WINDOW_S + 1; at <= now; at++) series.push(pointOf(at, byTime.get(at), 1));
  const recent = (span: number) => seconds.filter((second) => second.at > now - span && second.at <= now);
  const tileSeconds = recent(TILE_S);
  const tiles = pointOf(now, undefined, TILE_S, tileSeconds);
  const lookups = tileSeconds.reduce((sum, second) => sum + second.cacheLookups, 0);
  const hits = tileSeconds.reduce((sum, second) => sum + second.cacheHits, 0);
  const tableSeconds = recent(TABLE_S);
  const modelNames = new Set([
    ...tableSeconds.flatMap((second) => Object.keys(second.models)),
    ...state.load.map((load) => load.model),
  ]);
  const precision = new Map(state.precisions.map((entry) => [entry.model, entry.precision]));
  const models = [...modelNames].sort().map((model) => {
    const tally = sumTallies(tableSeconds.flatMap((second) => second.models[model] ?? []));
    const load = state.load.find((entry) => entry.model === model);
    const served = precision.get(model.split(":")[0] ?? model);
    return {
      model,
      ...ratesOf(tally, TABLE_S),
      in_flight: load?.inFlight ?? 0,
      queued: load?.queued ?? 0,
      ...(served !== undefined && { precision: served }),
    };
  });
  const armKeys = new Set(tableSeconds.flatMap((second) => Object.keys(second.arms)));
  const armTallies = [...armKeys].sort().map((key) => {
    const [route = "", arm = ""] = key.split("\0");
    return { route, arm, tally: sumTallies(tableSeconds.flatMap((second) => second.arms[key] ?? [])) };
  });
  const arms = armTallies.map(({ route, arm, tally }) => {
    const routeTotal = armTallies
      .filter((other) => other.route === route)
      .reduce((sum, other) => sum + other.tally.requests, 0);
    const { requests_per_s, error_ratio, e2e_p95_ms } = ratesOf(tally, TABLE_S);
    return { route, arm, share: ratio(tally.requests, routeTotal), requests_per_s, error_ratio, e2e_p95_ms };
  });
  const { at: _at, ...tileFigures } = tiles;
  return {
    now,
    window_s: WINDOW_S,
    tiles: {
      ...tileFigures,
      in_flight: state.load.reduce((sum, load) => sum + load.inFlight, 0),
      queue_depth: state.load.reduce((sum, load) => sum + load.queued, 0),
      cache_hit_ratio: lookups > 0 ? hits / lookups : null,
    },
    series,
    models,
    arms,
    breakers: state.breakers,
  };
}

/** Rates over `span` seconds: of one second, or of the seconds given. */
function pointOf(
  at: number,
  second: LiveSecond | undefined,
  span: number,
  over?: readonly LiveSecond[],
): SeriesPoint {
  const seconds = over ?? (second ? [second] : []);
  const tally = sumTallies(seconds);
  const ttft = sumTallies(seconds.map((entry) => ({ requests: 0, errors: 0, tokens: 0, e2e: entry.ttft })));
  return { at, ...ratesOf(tally, span), ttft_p95_ms: quantileOf(ttft.e2e, 0.95) ?? null };
}

/** A tally's rates over `span` seconds. */
function ratesOf(tally: Tally, span: number) {
  return {
    requests_per_s: tally.requests / span,
    tokens_per_s: tally.tokens / span,
    error_ratio: ratio(tally.errors, tally.requests),
    e2e_p95_ms: quantileOf(tally.e2e, 0.95) ?? null,
  };
}
