import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { open, seal } from "../../src/cache/envelope.js";
import { GuardedStore } from "../../src/cache/guarded-store.js";
import { Keyring } from "../../src/cache/keyring.js";
import { SqliteStore } from "../../src/cache/sqlite-store.js";
import { ConfigError } from "../../src/core/errors.js";
import { topics } from "../../src/telemetry/events.js";

const key1 = `k1:${randomBytes(32).toString("base64")}`;
const key2 = `k2:${randomBytes(32).toString("base64")}`;
const guard = { timeout_ms: 1000, breaker_failures: 3, breaker_half_open_after_ms: 1000 };

test("keyrings: 'ID:BASE64KEY' entries of 32 bytes, unique ids; the newest seals", () => {
  assert.equal(Keyring.parse(`${key1},${key2}`, "env").newest.id, "k2");
  const bad = (text: string, pattern: RegExp) =>
    assert.throws(
      () => Keyring.parse(text, "INFERGATE_CACHE_KEYS"),
      (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
    );
  bad(`k1:${randomBytes(16).toString("base64")}`, /key 'k1' is 16 bytes; AES-256 needs 32/);
  bad(`k 1:${randomBytes(32).toString("base64")}`, /ID:BASE64KEY/);
  bad(`${key1},${key1}`, /unique/);
  bad("", /at least one sealing key/);
  assert.throws(() => Keyring.load({ keys_env: "NOPE" }, {}), /set sealing keys in NOPE/);
});

test("envelopes: a fresh nonce per value; any flipped byte, or a value moved to another key, fails", () => {
  const keyring = Keyring.parse(key1, "env");
  const plaintext = Buffer.from("the answer is 42");
  const a = seal(keyring, "cache-key", plaintext);
  const b = seal(keyring, "cache-key", plaintext);
  assert.notDeepEqual(a, b);
  assert.deepEqual(open(keyring, "cache-key", a), { plaintext });
  for (let i = 0; i < a.length; i++) {
    const flipped = Buffer.from(a);
    flipped[i] = (flipped[i] as number) ^ 0x01;
    assert.ok(!("plaintext" in open(keyring, "cache-key", flipped)), `byte ${i} flipped still opened`);
  }
  assert.deepEqual(open(keyring, "another-key", a), { failure: "unauthentic" });
  assert.deepEqual(open(Keyring.parse(key2, "env"), "cache-key", a), { failure: "unknown_key" });
});

test("SQLite at rest: no plaintext in the file; a tampered value is a counted miss; rotation keeps old values readable until their key goes", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "infergate-seal-")), "cache.db");
  const secret = "SECRET-4471-do-not-store";
  const failures: number[] = [];
  const stop = topics.cacheStore.subscribe((event) => {
    if (event.event === "decrypt_failure") failures.push(event.count);
  });
  try {
    const first = new GuardedStore(new SqliteStore(path), Keyring.parse(key1, "env"), guard);
    assert.ok(await first.set("old", Buffer.from(secret), 60_000));
    assert.ok(await first.set("victim", Buffer.from(secret), 60_000));
    const bytes = Buffer.concat([readFileSync(path), readFileSync(`${path}-wal`)]);
    assert.ok(bytes.length > 0 && !bytes.includes(secret), "the secret is in the file in plaintext");

    const raw = new Database(path);
    const row = raw.prepare("SELECT value FROM cache_entries WHERE key = 'victim'").get() as {
      value: Buffer;
    };
    row.value[row.value.length - 1] = (row.value[row.value.length - 1] as number) ^ 0x80;
    raw.prepare("UPDATE cache_entries SET value = ? WHERE key = 'victim'").run(row.value);
    raw.close();
    assert.deepEqual(await first.get("victim"), { miss: true });
    assert.deepEqual(failures, [1]);
    await first.store.close();

    const rotated = new GuardedStore(new SqliteStore(path), Keyring.parse(`${key1},${key2}`, "env"), guard);
    assert.equal(
      String((await rotated.get("old")) && ((await rotated.get("old")) as { value: Buffer }).value),
      secret,
    );
    await rotated.set("new", Buffer.from("written under k2"), 60_000);
    await rotated.store.close();

    const retired = new GuardedStore(new SqliteStore(path), Keyring.parse(key2, "env"), guard);
    assert.deepEqual(await retired.get("old"), { miss: true });
    assert.equal(String(((await retired.get("new")) as { value: Buffer }).value), "written under k2");
    assert.deepEqual(failures, [1, 1]);
    await retired.store.close();
  } finally {
    stop();
  }
});

test("keys can come from a key file instead of the environment", () => {
  const file = join(mkdtempSync(join(tmpdir(), "infergate-keys-")), "keys");
  writeFileSync(file, `${key1}\n${key2}\n`);
  assert.equal(Keyring.load({ keys_env: "UNSET_VARIABLE", keys_file: file }, {}).newest.id, "k2");
});
