import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { CacheStore } from "../../src/cache/cache-store.js";
import { MemoryStore } from "../../src/cache/memory-store.js";
import { RedisStore } from "../../src/cache/redis-store.js";
import { SqliteStore } from "../../src/cache/sqlite-store.js";
import { type RedisServer, startRedis } from "../support/redis-server.js";

/** One suite, every store: what the gateway relies on holds for each of them. */
const stores: [string, () => Promise<CacheStore>][] = [
  ["memory", async () => new MemoryStore(1024 * 1024)],
  ["sqlite", async () => new SqliteStore(join(mkdtempSync(join(tmpdir(), "infergate-cache-")), "cache.db"))],
  ["redis", async () => new RedisStore(redis.url, `conformance:${Math.random()}:`)],
];
let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

for (const [kind, open] of stores) {
  describe(`${kind} store`, () => {
    let store: CacheStore;
    before(async () => {
      store = await open();
      // The Redis client connects in the background.
      for (
        let i = 0;
        i < 100 &&
        (await store.get("probe").then(
          () => false,
          () => true,
        ));
        i++
      )
        await sleep(20);
    });
    after(() => store.close());

    test("a missing key is undefined; binary values come back byte for byte; a set replaces", async () => {
      assert.equal(await store.get("absent"), undefined);
      const value = Buffer.from([0, 255, 1, 128, 0x0a, 0x0d]);
      await store.set("k1", value, 60_000);
      assert.deepEqual(await store.get("k1"), value);
      await store.set("k1", Buffer.from("second"), 60_000);
      assert.equal(String(await store.get("k1")), "second");
    });

    test("an entry past its TTL is never returned, and the wipe removes it", async () => {
      await store.set("short", Buffer.from("x"), 40);
      await store.set("long", Buffer.from("y"), 60_000);
      await store.set("read-late", Buffer.from("z"), 40);
      await sleep(80);
      assert.equal(await store.get("read-late"), undefined);
      const removed = await store.wipeExpired();
      assert.ok(kind === "redis" ? removed === 0 : removed >= 1, "Redis expires keys itself");
      assert.equal(await store.get("short"), undefined);
      assert.equal(String(await store.get("long")), "y");
    });

    test("wipeAll removes every entry", async () => {
      await store.set("a", Buffer.from("1"), 60_000);
      await store.set("b", Buffer.from("2"), 60_000);
      assert.ok((await store.wipeAll()) >= 2);
      assert.equal(await store.get("a"), undefined);
      assert.equal(await store.get("b"), undefined);
      if (kind !== "redis") assert.equal(typeof store.bytes(), "number");
    });
  });
}

test("the memory store evicts least recently used entries to stay within its bytes", async () => {
  const store = new MemoryStore(1000);
  for (let i = 0; i < 20; i++) await store.set(`key-${i}`, Buffer.alloc(100), 60_000);
  assert.ok(store.bytes() <= 1000);
  assert.equal(await store.get("key-0"), undefined);
  assert.ok(await store.get("key-19"));
});
