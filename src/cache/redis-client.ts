import { Redis } from "ioredis";

/**
 * A Redis client for state the gateway can do without for a while (the cache, rate-limit windows): commands
 * fail at once while the connection is down (no offline queue, no retries) so callers fall back instead of
 * waiting, and the client keeps reconnecting in the background.
 */
export function failFastRedis(url: string, commandTimeoutMs?: number): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    ...(commandTimeoutMs !== undefined && { commandTimeout: commandTimeoutMs }),
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  });
  // Connection failures surface as failed commands, which callers handle; the event itself needs a listener
  // only so that it does not crash the process.
  redis.on("error", () => {});
  return redis;
}

/** Resolves once `redis` is connected, or rejects after `timeoutMs`. */
export async function redisReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === "ready") return;
  const ready = new Promise<void>((resolve) => redis.once("ready", () => resolve()));
  const timer = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`no answer from Redis within ${timeoutMs} ms`)), timeoutMs).unref(),
  );
  await Promise.race([ready, timer]);
}
