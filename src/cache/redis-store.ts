import type { Redis } from "ioredis";
import type { CacheStore } from "./cache-store.js";
import { failFastRedis, redisReady } from "./redis-client.js";

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
    this.#redis = failFastRedis(url);
  }

  /** Resolves once connected (commands fail until then), or fails after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    return redisReady(this.#redis, timeoutMs);
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
