import { CircuitOpenError } from "../core/errors.js";
import { type BreakerState, topics } from "../telemetry/events.js";
import type { SharedState } from "./shared-state.js";

/** What a try may do: go (`probe`: as the one half-open probe), or nothing (the breaker is open). */
type Admission = { state: BreakerState; probe: boolean };

/**
 * One breaker's record — consecutive failures, open since when, who holds the half-open probe — and the three
 * steps every replica takes on it. Open and closed are stored; half-open is an open breaker past its wait.
 */
interface BreakerRecords {
  admit(now: number): Promise<Admission>;
  failure(now: number, probe: boolean): Promise<BreakerState>;
  success(probe: boolean): Promise<BreakerState>;
  /** A probe that ended saying nothing of the target (the client left): the next try may probe. */
  abandon(): Promise<void>;
}

/** The record in this process: the whole truth without shared state, the fallback while Redis is away. */
class LocalRecords implements BreakerRecords {
  #failures = 0;
  #openedAt: number | undefined;
  #probeUntil = 0;

  constructor(
    private readonly threshold: number,
    private readonly halfOpenAfterMs: number,
    private readonly probeTtlMs: number,
  ) {}

  async admit(now: number): Promise<Admission> {
    if (this.#openedAt === undefined) return { state: "closed", probe: false };
    if (now - this.#openedAt < this.halfOpenAfterMs) return { state: "open", probe: false };
    if (now < this.#probeUntil) return { state: "half_open", probe: false };
    this.#probeUntil = now + this.probeTtlMs;
    return { state: "half_open", probe: true };
  }

  async failure(now: number, probe: boolean): Promise<BreakerState> {
    this.#failures++;
    if (probe || (this.#openedAt === undefined && this.#failures >= this.threshold)) {
      this.#openedAt = now;
      this.#probeUntil = 0;
    }
    return this.#openedAt === undefined ? "closed" : "open";
  }

  async success(probe: boolean): Promise<BreakerState> {
    if (probe) {
      this.#openedAt = undefined;
      this.#probeUntil = 0;
    }
    if (this.#openedAt === undefined) this.#failures = 0;
    return this.#openedAt === undefined ? "closed" : "open";
  }

  async abandon(): Promise<void> {
    this.#probeUntil = 0;
  }
}

/** KEYS: the record, the probe. ARGV: now, half-open wait, probe lifetime. Returns {state, probe (0/1)}. */
const ADMIT = `
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return {'closed', 0} end
if tonumber(ARGV[1]) - tonumber(redis.call('HGET', KEYS[1], 'opened_at')) < tonumber(ARGV[2]) then return {'open', 0} end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then return {'half_open', 1} end
return {'half_open', 0}
`;
/** KEYS: the record, the probe. ARGV: now, threshold, probe (0/1). A failed probe opens it again, from now. */
const FAILURE = `
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local open = redis.call('HGET', KEYS[1], 'state') == 'open'
if ARGV[3] == '1' or (not open and failures >= tonumber(ARGV[2])) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', ARGV[1])
  redis.call('DEL', KEYS[2])
  return 'open'
end
if open then return 'open' end
return 'closed'
`;
/** KEYS: the record, the probe. ARGV: probe (0/1). A probe's success closes it; any success ends a failure run. */
const SUCCESS = `
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0)
  redis.call('DEL', KEYS[2])
  return 'closed'
end
if redis.call('HGET', KEYS[1], 'state') == 'open' then return 'open' end
redis.call('HSET', KEYS[1], 'failures', 0)
return 'closed'
`;

/** The record in Redis, for every replica: one replica's failures count for all, one replica holds the probe. */
class RedisRecords implements BreakerRecords {
  readonly #keys: [string, string];

  constructor(
    private readonly shared: SharedState,
    name: string,
    private readonly threshold: number,
    private readonly halfOpenAfterMs: number,
    private readonly probeTtlMs: number,
  ) {
    const record = `${shared.prefix}breaker:${name}`;
    this.#keys = [record, `${record}:probe`];
  }

  async admit(now: number): Promise<Admission> {
    const [state, probe] = (await this.shared.redis.eval(
      ADMIT,
      2,
      ...this.#keys,
      String(now),
      String(this.halfOpenAfterMs),
      String(this.probeTtlMs),
    )) as [BreakerState, number];
    return { state, probe: probe === 1 };
  }

  async failure(now: number, probe: boolean): Promise<BreakerState> {
    const args = [String(now), String(this.threshold), probe ? "1" : "0"];
    return (await this.shared.redis.eval(FAILURE, 2, ...this.#keys, ...args)) as BreakerState;
  }

  async success(probe: boolean): Promise<BreakerState> {
    return (await this.shared.redis.eval(SUCCESS, 2, ...this.#keys, probe ? "1" : "0")) as BreakerState;
  }

  async abandon(): Promise<void> {
    await this.shared.redis.del(this.#keys[1]);
  }
}

/**
 * A route target's circuit breaker over consecutive failures, shared by every replica through `shared_state`:
 * `failures` in a row across the fleet open it everywhere; after `half_open_after_ms` one replica's request is
 * the probe (the others still refuse) and its outcome closes or reopens it for all. While Redis does not
 * answer, this replica keeps a record of its own and decides alone; once Redis answers, the shared record
 * decides again.
 */
export class SharedBreaker {
  readonly #shared: RedisRecords;
  readonly #local: LocalRecords;
  #state: BreakerState = "closed";

  constructor(
    shared: SharedState,
    private readonly route: string,
    private readonly target: string,
    settings: { failures: number; halfOpenAfterMs: number; probeTtlMs: number },
    private readonly now: () => number = Date.now,
  ) {
    const { failures, halfOpenAfterMs, probeTtlMs } = settings;
    this.#shared = new RedisRecords(shared, `${route}:${target}`, failures, halfOpenAfterMs, probeTtlMs);
    this.#local = new LocalRecords(failures, halfOpenAfterMs, probeTtlMs);
  }

  /** The state this replica saw last. */
  get state(): BreakerState {
    return this.#state;
  }

  /** Lets a try go, as the probe or not; an open breaker (or another replica's probe under way) refuses it. */
  async admit(): Promise<{ probe: boolean }> {
    const { state, probe } = await this.#step((records) => records.admit(this.now()));
    if (state === "half_open" && !probe) throw new CircuitOpenError(this.target);
    this.#see(state);
    if (state === "open") throw new CircuitOpenError(this.target);
    return { probe };
  }

  async failure(probe: boolean): Promise<void> {
    this.#see(await this.#step((records) => records.failure(this.now(), probe)));
  }

  async success(probe: boolean): Promise<void> {
    this.#see(await this.#step((records) => records.success(probe)));
  }

  async abandon(probe: boolean): Promise<void> {
    if (probe) await this.#step((records) => records.abandon());
  }

  /** A step on the shared record, or on this replica's own while Redis does not answer. */
  async #step<T>(step: (records: BreakerRecords) => Promise<T>): Promise<T> {
    try {
      return await step(this.#shared);
    } catch {
      // Redis is down or slow: this replica decides alone until it answers again (class comment).
      topics.sharedStateFallback.publish({ state: "breaker" });
      return step(this.#local);
    }
  }

  #see(state: BreakerState): void {
    if (state === this.#state) return;
    this.#state = state;
    topics.breaker.publish({ route: this.route, target: this.target, state });
  }
}
