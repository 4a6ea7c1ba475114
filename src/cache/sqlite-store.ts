import { chmodSync } from "node:fs";
import Database from "better-sqlite3";
import type { CacheStore } from "./cache-store.js";

/**
 * One SQLite file (better-sqlite3) for a single machine. `secure_delete` overwrites deleted rows with zeros,
 * and every wipe that removed something vacuums the file and truncates the write-ahead log, so wiped values
 * leave the disk rather than lingering in free pages. The file is readable by its owner only.
 */
export class SqliteStore implements CacheStore {
  readonly kind = "sqlite";
  readonly #db: Database.Database;
  readonly #get: Database.Statement<[string, number], { value: Buffer }>;
  readonly #set: Database.Statement<[string, Buffer, number]>;
  readonly #deleteExpired: Database.Statement<[number]>;
  readonly #deleteAll: Database.Statement<[]>;
  readonly #pages: Database.Statement<[], { bytes: number }>;

  constructor(readonly path: string) {
    this.#db = new Database(path);
    chmodSync(path, 0o600);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = NORMAL");
    this.#db.pragma("secure_delete = ON");
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS cache_entries (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS cache_entries_expiry ON cache_entries (expires_at);
    `);
    this.#get = this.#db.prepare("SELECT value FROM cache_entries WHERE key = ? AND expires_at > ?");
    this.#set = this.#db.prepare(
      "INSERT OR REPLACE INTO cache_entries (key, value, expires_at) VALUES (?, ?, ?)",
    );
    this.#deleteExpired = this.#db.prepare("DELETE FROM cache_entries WHERE expires_at <= ?");
    this.#deleteAll = this.#db.prepare("DELETE FROM cache_entries");
    this.#pages = this.#db.prepare(
      "SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()",
    );
  }

  async get(key: string): Promise<Buffer | undefined> {
    return this.#get.get(key, Date.now())?.value;
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    this.#set.run(key, value, Date.now() + ttlMs);
  }

  async wipeExpired(): Promise<number> {
    return this.#wipe(this.#deleteExpired.run(Date.now()).changes);
  }

  async wipeAll(): Promise<number> {
    return this.#wipe(this.#deleteAll.run().changes);
  }

  bytes(): number {
    return this.#pages.get()?.bytes ?? 0;
  }

  async close(): Promise<void> {
    this.#db.close();
  }

  #wipe(removed: number): number {
    if (removed > 0) {
      this.#db.exec("VACUUM");
      this.#db.pragma("wal_checkpoint(TRUNCATE)");
    }
    return removed;
  }
}
