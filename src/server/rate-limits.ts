import type { RateLimitsConfig } from "../config/schema.js";
import { RateLimitedError } from "../core/errors.js";
import type { SharedState } from "../routing/shared-state.js";
import { topics } from "../telemetry/events.js";

/** What one key may spend per minute; either bound may be absent. */
export interface KeyLimits {
  requests_per_min?: number | undefined;
  tokens_per_min?: number | undefined;
}

/** Where a key stands in the current minute, for the `x-ratelimit-*` headers. */
export interface Standing {
  limits: KeyLimits;
  requests: number;
  tokens: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

const WINDOW_MS = 60_000;

/**
 * Per-minute windows of requests and tokens per key owner (a SHA-256 of the key, never the key). In Redis, one
 * hash per owner and minute, shared by every replica; counted here while Redis cannot be reached, and in Redis
 * again once it answers.
 */
interface Windows {
  /** Counts one request in the current window; returns the window's request and token totals after it. */
  countRequest(owner: string, windowStart: number): Promise<{ requests: number; tokens: number }>;
  addTokens(owner: string, windowStart: number, tokens: number): Promise<void>;
}

/** This process's windows: the whole truth on one replica, the fallback of a fleet. */
class LocalWindows implements Windows {
  readonly #windows = new Map<string, { start: number; requests: number; tokens: number }>();

  #window(owner: string, windowStart: number) {
    let window = this.#windows.get(owner);
    if (!window || window.start !== windowStart) {
      window = { start: windowStart, requests: 0, tokens: 0 };
      this.#windows.set(owner, window);
    }
    return window;
  }

  async countRequest(owner: string, windowStart: number) {
    const window = this.#window(owner, windowStart);
    window.requests++;
    return { requests: window.requests, tokens: window.tokens };
  }

  async addTokens(owner: string, windowStart: number, tokens: number): Promise<void> {
    this.#window(owner, windowStart).tokens += tokens;
  }
}

/** Counts a request and reads the tokens spent, atomically; the hash lives two windows, then Redis drops it. */
const COUNT_REQUEST = `
local requests = redis.call('HINCRBY', KEYS[1], 'requests', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local tokens = redis.call('HGET', KEYS[1], 'tokens')
return {requests, tonumber(tokens) or 0}
`;

/**
 * Windows in Redis, shared by every replica. Commands fail at once while the connection is down (no offline
 * queue); each failure is counted in the local windows instead, so limits keep holding per replica.
 */
class SharedWindows implements Windows {
  readonly #local = new LocalWindows();

  constructor(private readonly state: SharedState) {}

  #key(owner: string, windowStart: number): string {
    return `${this.state.prefix}ratelimit:${owner}:${windowStart}`;
  }

  async countRequest(owner: string, windowStart: number) {
    try {
      const [requests, tokens] = (await this.state.redis.eval(
        COUNT_REQUEST,
        1,
        this.#key(owner, windowStart),
        String(2 * WINDOW_MS),
      )) as [number, number];
      return { requests, tokens };
    } catch {
      // Redis is down or slow: this replica counts on its own until it answers again (class comment).
      topics.sharedStateFallback.publish({ state: "rate_limits" });
      return this.#local.countRequest(owner, windowStart);
    }
  }

  async addTokens(owner: string, windowStart: number, tokens: number): Promise<void> {
    try {
      await this.state.redis.hincrby(this.#key(owner, windowStart), "tokens", tokens);
    } catch {
      topics.sharedStateFallback.publish({ state: "rate_limits" });
      await this.#local.addTokens(owner, windowStart, tokens);
    }
  }
}

/**
 * Per-key rate limits: requests per minute, and tokens (prompt + completion) per minute, in fixed one-minute
 * windows. A request is refused (429, `Retry-After`) when its key has used its requests, or its tokens, in the
 * current window; tokens are counted when a request ends, so the request that crosses the limit finishes and
 * the next one is refused. With `shared_state` the windows are in its Redis, shared by every replica, so a key's limit holds
 * across the fleet; while Redis is unreachable each replica counts on its own (a key may then get up to its
 * limit per replica), and shares again once Redis is back.
 */
export class RateLimiter {
  readonly #windows: Windows;
  readonly #byOwner: ReadonlyMap<string, KeyLimits>;

  constructor(
    private readonly config: RateLimitsConfig,
    shared: SharedState | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.#windows = shared ? new SharedWindows(shared) : new LocalWindows();
    this.#byOwner = new Map(
      Object.entries(config.keys).map(([fingerprint, limits]) => [fingerprint.toLowerCase(), limits]),
    );
  }

  /** The limits of the key whose SHA-256 (hex) is `owner`: its own (by fingerprint, a prefix), else the default. */
  limitsOf(owner: string): KeyLimits | undefined {
    for (const [fingerprint, limits] of this.#byOwner) if (owner.startsWith(fingerprint)) return limits;
    return this.config.default;
  }

  /** Counts the request against its key's window; throws `RateLimitedError` past a limit. */
  async admit(owner: string): Promise<Standing | undefined> {
    const limits = this.limitsOf(owner);
    if (!limits) return undefined;
    const now = this.now();
    const windowStart = now - (now % WINDOW_MS);
    const resetMs = windowStart + WINDOW_MS - now;
    const { requests, tokens } = await this.#windows.countRequest(owner, windowStart);
    const standing = { limits, requests, tokens, resetMs };
    const over =
      limits.requests_per_min !== undefined && requests > limits.requests_per_min
        ? "requests"
        : limits.tokens_per_min !== undefined && tokens >= limits.tokens_per_min
          ? "tokens"
          : undefined;
    if (over) {
      topics.rateLimited.publish({ limit: over });
      throw new RateLimitedError(over, Math.max(1, Math.ceil(resetMs / 1000)), rateLimitHeaders(standing));
    }
    return standing;
  }

  /** The tokens a finished request used, against its key's current window. */
  async spend(owner: string, tokens: number): Promise<void> {
    if (tokens <= 0 || this.limitsOf(owner)?.tokens_per_min === undefined) return;
    const now = this.now();
    await this.#windows.addTokens(owner, now - (now % WINDOW_MS), tokens);
  }
}

/** OpenAI's `x-ratelimit-*` headers: each limit, what is left of it, and when it resets (e.g. `12s`). */
export function rateLimitHeaders(standing: Standing): Record<string, string> {
  const headers: Record<string, string> = {};
  const reset = `${Math.max(1, Math.ceil(standing.resetMs / 1000))}s`;
  const { requests_per_min: requests, tokens_per_min: tokens } = standing.limits;
  if (requests !== undefined) {
    headers["x-ratelimit-limit-requests"] = String(requests);
    headers["x-ratelimit-remaining-requests"] = String(Math.max(0, requests - standing.requests));
    headers["x-ratelimit-reset-requests"] = reset;
  }
  if (tokens !== undefined) {
    headers["x-ratelimit-limit-tokens"] = String(tokens);
    headers["x-ratelimit-remaining-tokens"] = String(Math.max(0, tokens - standing.tokens));
    headers["x-ratelimit-reset-tokens"] = reset;
  }
  return headers;
}
