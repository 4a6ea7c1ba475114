import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { redisUrlOf } from "../../src/config/redis-url.js";
import type { CacheConfig } from "../../src/config/schema.js";
import { repoRoot } from "../helpers.js";
import { authorized, type RunningGateway, startGateway } from "../server/gateway-harness.js";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";
import { type RedisServer, startRedis } from "../support/redis-server.js";

const SECRET_ANSWER = "SECRET-REDIS-ANSWER-5150";
const SECRET_PROMPT = "SECRET-REDIS-PROMPT-8086 bob@example.org";

describe("the Redis store: sealed, never a point of failure, shared by gateway replicas", () => {
  let redis: RedisServer;
  let upstream: MockUpstream;
  let gateway: RunningGateway;
  let raw: Record<string, unknown>;
  const keys = `k1:${randomBytes(32).toString("base64")}`;

  before(async () => {
    redis = await startRedis();
    upstream = await startMockUpstream({ pieces: [SECRET_ANSWER, "!"] });
    raw = {
      models: [
        { id: "up", task: "generate", engine: "openai", base_url: upstream.url, upstream_model: "m" },
        { id: "up-embed", task: "embed", engine: "openai", base_url: upstream.url, upstream_model: "e" },
      ],
      cache: {
        store: "redis",
        // From the environment, as the Helm chart passes a URL held in a Secret.
        redis_url_env: "TEST_REDIS_URL",
        keys_env: "TEST_REDIS_CACHE_KEYS",
        timeout_ms: 200,
        breaker_failures: 3,
        breaker_half_open_after_ms: 500,
      },
    };
    gateway = await startGateway({ raw, env: { TEST_REDIS_CACHE_KEYS: keys, TEST_REDIS_URL: redis.url } });
    await waitForCache(gateway);
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
    await redis.stop();
  });

  const ask = async (target: string, prompt: string) => {
    const response = await fetch(`${target}/v1/completions`, {
      method: "POST",
      headers: authorized(),
      body: JSON.stringify({ model: "up", prompt, max_tokens: 8, temperature: 0 }),
    });
    const body = (await response.json()) as { choices: { text: string }[] };
    return {
      status: response.status,
      cache: response.headers.get("x-infergate-cache"),
      text: body.choices[0]?.text,
    };
  };
  const metrics = async () => (await fetch(`${gateway.url}/metrics`, { headers: authorized() })).text();
  const redisCli = (...args: string[]) =>
    execFileSync("redis-cli", ["-p", String(redis.port), ...args], { encoding: "latin1" });

  test("nothing that passed through is in Redis in plaintext: redis-cli --scan, GET and DUMP of every key", async () => {
    assert.equal((await ask(gateway.url, SECRET_PROMPT)).text, `${SECRET_ANSWER}!`);
    await fetch(`${gateway.url}/v1/embeddings`, {
      method: "POST",
      headers: authorized(),
      body: JSON.stringify({ model: "up-embed", input: SECRET_PROMPT }),
    });
    await sleep(50);
    const stored = redisCli("--scan").split("\n").filter(Boolean);
    assert.ok(stored.length >= 2, "the answer and the embedding are stored");
    for (const key of stored) {
      assert.match(key, /^infergate:cache:[0-9a-f]{64}$/);
      const contents = redisCli("GET", key) + redisCli("--no-raw", "DUMP", key);
      for (const secret of [SECRET_ANSWER, SECRET_PROMPT, "SECRET", "example.org"]) {
        assert.ok(!contents.includes(secret), `'${secret}' is in Redis under ${key}`);
      }
    }
    assert.equal((await ask(gateway.url, SECRET_PROMPT)).cache, "hit");
  });

  test("one flipped byte in a stored value makes a miss and a counted failure, never a garbled answer", async () => {
    const prompt = "tamper with me";
    await ask(gateway.url, prompt);
    const client = new Redis(redis.url);
    const before = new Set(redisCli("--scan").split("\n").filter(Boolean));
    // Flip one byte in every stored value: whichever holds this answer is corrupted.
    for (const stored of before) {
      const value = (await client.getBuffer(stored)) as Buffer;
      value[value.length - 3] = (value[value.length - 3] as number) ^ 0x04;
      await client.set(stored, value, "KEEPTTL");
    }
    client.disconnect();
    const answer = await ask(gateway.url, prompt);
    assert.deepEqual(answer, { status: 200, cache: "miss", text: `${SECRET_ANSWER}!` });
    assert.match(await metrics(), /infergate_cache_decrypt_failures_total [1-9]/);
  });

  test("Redis stopped mid-run: requests keep succeeding (bypass), the breaker opens; Redis back: hits resume", async () => {
    await redis.stop();
    for (let i = 0; i < 6; i++) {
      const answer = await ask(gateway.url, `while redis is down ${i % 2}`);
      assert.equal(answer.status, 200);
      assert.equal(answer.text, `${SECRET_ANSWER}!`);
      assert.equal(answer.cache, "bypass");
    }
    assert.match(await metrics(), /infergate_cache_breaker_state\{store="redis"\} 2/);
    assert.match(await metrics(), /infergate_cache_lookups_total\{cache="response",result="bypass"\} [1-9]/);

    await redis.start();
    const deadline = performance.now() + 10_000;
    let cache: string | null = null;
    while (cache !== "hit" && performance.now() < deadline) {
      cache = (await ask(gateway.url, "after redis is back")).cache;
      if (cache !== "hit") await sleep(100);
    }
    assert.equal(cache, "hit");
    assert.match(await metrics(), /infergate_cache_breaker_state\{store="redis"\} 0/);
  });

  test("cache.redis_url_env: the URL from the environment; unset, the start fails naming the variable", () => {
    const config = { ...(raw.cache as CacheConfig), redis_url: "redis://127.0.0.1:1" };
    assert.equal(redisUrlOf(config, { TEST_REDIS_URL: redis.url }, "cache"), redis.url);
    assert.throws(
      () => redisUrlOf(config, {}, "cache"),
      /cache\.redis_url_env names TEST_REDIS_URL, which is not set/,
    );
    assert.throws(
      () => redisUrlOf(config, { TEST_REDIS_URL: "http://x" }, "cache"),
      /does not hold a redis:\/\//,
    );
  });

  test("two gateway processes share one Redis: an answer first served by A is a hit on B", async (t) => {
    const config = join(mkdtempSync(join(tmpdir(), "infergate-replica-")), "config.yaml");
    writeFileSync(config, JSON.stringify({ ...raw, server: { port: 0 } }));
    const replica = spawn(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "src/cli/infergate.ts"), "--config", config, "serve"],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          INFERGATE_API_KEYS: "",
          TEST_REDIS_CACHE_KEYS: keys,
          TEST_REDIS_URL: redis.url,
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    t.after(() => {
      if (replica.exitCode === null) replica.kill("SIGKILL");
    });
    let replicaUrl = "";
    for await (const line of createInterface({ input: replica.stdout })) {
      const entry = JSON.parse(line) as { msg: string; port?: number };
      if (entry.msg === "listening") {
        replicaUrl = `http://127.0.0.1:${entry.port}`;
        break;
      }
    }
    replica.stdout.resume();
    const prompt = "shared between replicas";
    assert.equal((await ask(gateway.url, prompt)).cache, "miss");
    const requestsBefore = upstream.requests;
    const onB = await ask(replicaUrl, prompt);
    assert.deepEqual(onB, { status: 200, cache: "hit", text: `${SECRET_ANSWER}!` });
    assert.equal(upstream.requests, requestsBefore, "B did not ask the upstream");
  });
});

/** The Redis client connects in the background; until then requests bypass the cache. */
async function waitForCache(gateway: RunningGateway): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const response = await fetch(`${gateway.url}/v1/embeddings`, {
      method: "POST",
      headers: authorized(),
      body: JSON.stringify({ model: "up-embed", input: "warm-up" }),
    });
    if (response.headers.get("x-infergate-cache") !== "bypass") return;
    await sleep(20);
  }
  throw new Error("the cache never connected to Redis");
}
