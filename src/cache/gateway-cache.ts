import { redisUrlOf } from "../config/redis-url.js";
import type { CacheConfig } from "../config/schema.js";
import { topics } from "../telemetry/events.js";
import type { CacheStore } from "./cache-store.js";
import { GuardedStore } from "./guarded-store.js";
import { Keyring } from "./keyring.js";
import { MemoryStore } from "./memory-store.js";
import { ModelCache } from "./model-cache.js";
import { RedisStore } from "./redis-store.js";
import { SemanticIndex } from "./semantic-index.js";
import { SqliteStore } from "./sqlite-store.js";

const STARTUP_WAIT_MS = 3000;

/** The configured store, bare: what `infergate cache wipe` needs (no keys: wiping reads nothing). */
export function openCacheStore(config: CacheConfig, env: NodeJS.ProcessEnv): CacheStore {
  switch (config.store) {
    case "memory":
      return new MemoryStore(config.max_bytes);
    case "sqlite":
      return new SqliteStore(config.path);
    case "redis":
      return new RedisStore(redisUrlOf(config, env, "cache") ?? config.redis_url, config.redis_prefix);
    default:
      return config.store satisfies never;
  }
}

/**
 * The gateway's cache: the store (sealed unless it is this process's memory), guarded by a breaker, the
 * per-model caching in front of models, the semantic index, and the job that wipes expired entries.
 *
 * @example
 * const cache = new GatewayCache(config.cache, process.env, embedPrompt);
 * await cache.connect();
 * cache.start(logError);
 * const cached = cache.models.wrap(model, "lm-base:q8_0", "lm-base", (outcome) => setHeader(outcome));
 */
export class GatewayCache {
  readonly models: ModelCache;
  readonly #guarded: GuardedStore;
  readonly #semantic: SemanticIndex | undefined;
  #wipeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: CacheConfig,
    env: NodeJS.ProcessEnv,
    embedPrompt: (modelId: string, text: string) => Promise<Float32Array>,
  ) {
    const keyring = config.store === "memory" ? undefined : Keyring.load(config, env);
    this.#guarded = new GuardedStore(openCacheStore(config, env), keyring, config);
    const semantic = config.semantic;
    this.#semantic = semantic && new SemanticIndex(semantic.max_entries);
    this.models = new ModelCache(
      this.#guarded,
      config,
      semantic &&
        this.#semantic && {
          index: this.#semantic,
          embed: (text) => embedPrompt(semantic.embedding_model, text),
          models: new Set(semantic.models),
          minSimilarity: semantic.min_similarity,
        },
    );
  }

  get kind(): CacheStore["kind"] {
    return this.#guarded.store.kind;
  }

  get breakerState() {
    return this.#guarded.breakerState;
  }

  bytes(): number | undefined {
    return this.#guarded.store.bytes();
  }

  /**
   * Waits (a little) for a networked store to connect, so a new replica does not begin by bypassing its cache;
   * a store that is down does not hold the gateway back: it starts without it and reconnects in the background.
   */
  async connect(): Promise<void> {
    const store = this.#guarded.store;
    if (!(store instanceof RedisStore)) return;
    await store
      .ready(STARTUP_WAIT_MS)
      .catch(() => topics.cacheStore.publish({ event: "store_error", count: 1 }));
  }

  /** Starts removing expired entries every `wipe_interval_s`. */
  start(onError: (error: unknown) => void): void {
    this.#wipeTimer = setInterval(
      () => void this.wipeExpired().catch(onError),
      this.config.wipe_interval_s * 1000,
    );
    this.#wipeTimer.unref();
  }

  async wipeExpired(): Promise<number> {
    const removed = await this.#guarded.store.wipeExpired();
    topics.cacheStore.publish({ event: "wipe_run", count: 1 });
    topics.cacheStore.publish({ event: "wiped_entries", count: removed });
    return removed;
  }

  /** Removes every entry now (and forgets every semantic prompt). */
  async wipeAll(): Promise<number> {
    this.#semantic?.clear();
    const removed = await this.#guarded.store.wipeAll();
    topics.cacheStore.publish({ event: "wipe_run", count: 1 });
    topics.cacheStore.publish({ event: "wiped_entries", count: removed });
    return removed;
  }

  async close(): Promise<void> {
    clearInterval(this.#wipeTimer);
    await this.#guarded.store.close();
  }
}
