import type { Redis } from "ioredis";
import { failFastRedis, redisReady } from "../cache/redis-client.js";
import { redisUrlOf } from "../config/redis-url.js";
import type { SharedStateConfig } from "../config/schema.js";

/**
 * The Redis replicas share their state in (`shared_state`): rate-limit windows and circuit breakers, each under
 * its own key prefix. Commands fail at once while Redis is down, and each user falls back to state of its own.
 */
export class SharedState {
  readonly redis: Redis;

  constructor(
    config: SharedStateConfig,
    env: NodeJS.ProcessEnv,
    readonly prefix = config.redis_prefix,
  ) {
    this.redis = failFastRedis(redisUrlOf(config, env, "shared_state") as string, 500);
  }

  /** Waits up to `timeoutMs` for Redis at start; a gateway starts without it, on local state. */
  async connect(timeoutMs: number): Promise<void> {
    // Not answering in time is fine: every user of the state falls back to local state until Redis does.
    await redisReady(this.redis, timeoutMs).catch(() => undefined);
  }

  close(): void {
    this.redis.disconnect();
  }
}
