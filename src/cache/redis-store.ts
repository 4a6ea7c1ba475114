import { Redis } from "ioredis";
import type { CacheStore } from "./cache-store.js";

/**
 * Redis, shared by every gateway replica. Entries expire by Redis' own TTL. Commands fail at once while the
 * connection is down (no offline queue) so the gateway bypasses the cache instead of waiting; the client keeps
 * reconnecting in the background.
 */
export class RedisStore implements CacheStore {
  readonly kind = "redis";
  readonly #redis: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    this.#redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    });
    // Connection failures surface as failed commands, which the store's breaker counts; the event itself
    // needs a listener only so it does not crash the process.
    this.#redis.on("error", () => {});
  }

  /** Resolves once connected (commands fail until then), or fails after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<void> {
    if (this.#redis.status === "ready") return;
    const ready = new Promise<void>((resolve) => this.#redis.once("ready", () => resolve()));
    const timer = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no answer from Redis within ${timeoutMs} ms`)), timeoutMs).unref(),
    );
    await Promise.race([ready, timer]);
  }

  async get(key: string): Promise<Buffer | undefined> {
    return (await this.#redis.getBuffer(this.prefix + key)) ?? undefined;
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    await this.#redis.set(this.prefix + key, value, "PX", ttlMs);
  }

  /** Redis removes expired keys itself (and never returns them). */
  async wipeExpired(): Promise<number> {
    return 0;
  }

  async wipeAll(): Promise<number> {
    let removed = 0;
    for await (const keys of this.#redis.scanStream({ match: `${this.prefix}*`, count: 500 })) {
      const batch = keys as string[];
      if (batch.length > 0) removed += await this.#redis.unlink(...batch);
    }
    return removed;
  }

  bytes(): undefined {
    return undefined;
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
