import { LRUCache } from "lru-cache";
import { topics } from "../telemetry/events.js";
import type { CacheStore } from "./cache-store.js";

/** An in-process LRU bounded by bytes (keys and values); the least recently used entries go first. */
export class MemoryStore implements CacheStore {
  readonly kind = "memory";
  readonly #entries: LRUCache<string, Buffer>;

  constructor(maxBytes: number) {
    this.#entries = new LRUCache<string, Buffer>({
      maxSize: maxBytes,
      sizeCalculation: (value, key) => value.length + key.length,
      // Expired entries are never returned; the wipe job frees their memory.
      ttlAutopurge: false,
      dispose: (_value, _key, reason) => {
        if (reason === "evict") topics.cacheStore.publish({ event: "eviction", count: 1 });
      },
    });
  }

  async get(key: string): Promise<Buffer | undefined> {
    return this.#entries.get(key);
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    this.#entries.set(key, value, { ttl: ttlMs });
  }

  async wipeExpired(): Promise<number> {
    const before = this.#entries.size;
    this.#entries.purgeStale();
    return before - this.#entries.size;
  }

  async wipeAll(): Promise<number> {
    const count = this.#entries.size;
    this.#entries.clear();
    return count;
  }

  bytes(): number {
    return this.#entries.calculatedSize;
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }
}
