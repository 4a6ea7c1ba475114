/**
 * Where cache entries live. Keys are hex digests; values opaque bytes (sealed before they reach a store that
 * writes them anywhere but this process's memory). Every method may fail: the caller guards the store.
 * Every store passes one conformance suite (test/cache/store-conformance.test.ts).
 *
 * @example
 * const store: CacheStore = new SqliteStore("/var/lib/infergate/cache.db");
 * await store.set(key, sealed, 3_600_000);
 * const value = await store.get(key); // undefined once the TTL has passed
 */
export interface CacheStore {
  readonly kind: "memory" | "sqlite" | "redis";
  get(key: string): Promise<Buffer | undefined>;
  set(key: string, value: Buffer, ttlMs: number): Promise<void>;
  /** Removes entries past their TTL; resolves with how many. */
  wipeExpired(): Promise<number>;
  /** Removes every entry (and, for a file, the space they took); resolves with how many. */
  wipeAll(): Promise<number>;
  /** Bytes the store holds, where it can tell cheaply. */
  bytes(): number | undefined;
  close(): Promise<void>;
}
