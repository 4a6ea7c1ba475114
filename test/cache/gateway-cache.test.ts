import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { eventually, repoRoot } from "../helpers.js";
import { API_KEY, authorized, type RunningGateway, startGateway } from "../server/gateway-harness.js";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";

const SECRET_ANSWER = "SECRET-ANSWER-7731";
const SECRET_PROMPT = "SECRET-PROMPT-9902 for alice@example.com";
const cacheKeys = `k1:${randomBytes(32).toString("base64")}`;
const ADMIN_KEY = "admin-0123456789";

const models = (upstream: MockUpstream) => [
  { id: "up", task: "generate", engine: "openai", base_url: upstream.url, upstream_model: "m" },
  { id: "up-embed", task: "embed", engine: "openai", base_url: upstream.url, upstream_model: "e" },
  { id: "lm-base", task: "generate", engine: "llamacpp", variants: { q8_0: "models/lm-base-q8_0.gguf" } },
  { id: "spam-encoder", task: "classify", engine: "onnx", variants: { int8: "models/spam-encoder" } },
];

async function post(
  gateway: RunningGateway,
  path: string,
  body: unknown,
): Promise<{ status: number; cache: string | null; similarity: string | null; body: string; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${gateway.url}${path}`, {
    method: "POST",
    headers: authorized(),
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    cache: response.headers.get("x-infergate-cache"),
    similarity: response.headers.get("x-infergate-cache-similarity"),
    body: text,
    ms: performance.now() - started,
  };
}

const contentOf = (body: string) => (JSON.parse(body) as { choices: { text: string }[] }).choices[0]?.text;

describe("the response and embedding cache (memory store), semantic cache included", () => {
  let upstream: MockUpstream;
  let gateway: RunningGateway;
  before(async () => {
    upstream = await startMockUpstream({ pieces: ["Paris", " is", " the", " capital."] });
    gateway = await startGateway({
      raw: {
        models: models(upstream),
        cache: {
          store: "memory",
          semantic: { embedding_model: "spam-encoder", min_similarity: 0.95, models: ["up"] },
        },
      },
    });
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  test("a repeated greedy request is answered from the cache: the identical answer, measurably faster", async () => {
    const request = { model: "lm-base", prompt: "Whale, n.", max_tokens: 64, temperature: 0 };
    const miss = await post(gateway, "/v1/completions", request);
    const hits = [];
    for (let i = 0; i < 5; i++) hits.push(await post(gateway, "/v1/completions", request));
    assert.equal(miss.cache, "miss");
    for (const hit of hits) {
      assert.equal(hit.cache, "hit");
      assert.equal(contentOf(hit.body), contentOf(miss.body));
    }
    const fastestHit = Math.min(...hits.map((hit) => hit.ms));
    assert.ok(fastestHit * 3 < miss.ms, `hit ${fastestHit.toFixed(1)} ms vs miss ${miss.ms.toFixed(1)} ms`);
  });

  test("a cached answer to a streaming request still streams, piece by piece", async () => {
    const request = { model: "up", prompt: "stream me", max_tokens: 8, temperature: 0, stream: true };
    const miss = await post(gateway, "/v1/completions", request);
    const hit = await post(gateway, "/v1/completions", request);
    assert.deepEqual([miss.cache, hit.cache], ["miss", "hit"]);
    const pieces = (body: string) =>
      body
        .split("\n\n")
        .filter((event) => event.startsWith("data: {"))
        .map((event) => (JSON.parse(event.slice(6)) as { choices: { text: string }[] }).choices[0]?.text)
        .filter(Boolean);
    assert.deepEqual(pieces(hit.body), ["Paris", " is", " the", " capital."]);
    assert.deepEqual(pieces(hit.body), pieces(miss.body));
    assert.match(hit.body, /data: \[DONE\]/);
  });

  test("only repeatable requests are cached: temperature > 0 without a seed is not, with a seed it is", async () => {
    const before = upstream.requests;
    const random = { model: "up", prompt: "roll", max_tokens: 8, temperature: 0.8 };
    assert.equal((await post(gateway, "/v1/completions", random)).cache, null);
    assert.equal((await post(gateway, "/v1/completions", random)).cache, null);
    assert.equal(upstream.requests - before, 2);
    const seeded = { ...random, seed: 7 };
    assert.equal((await post(gateway, "/v1/completions", seeded)).cache, "miss");
    assert.equal((await post(gateway, "/v1/completions", seeded)).cache, "hit");
  });

  test("embeddings are cached per text: a hit returns the same vectors and costs no tokens", async () => {
    const request = { model: "spam-encoder", input: ["Subject: WIN a FREE cruise", "Meeting at 10"] };
    const miss = await post(gateway, "/v1/embeddings", request);
    const hit = await post(gateway, "/v1/embeddings", request);
    assert.deepEqual([miss.cache, hit.cache], ["miss", "hit"]);
    type Body = { data: { embedding: number[] }[]; usage: { prompt_tokens: number } };
    const [a, b] = [JSON.parse(miss.body) as Body, JSON.parse(hit.body) as Body];
    assert.deepEqual(
      b.data.map((item) => item.embedding),
      a.data.map((item) => item.embedding),
    );
    assert.ok(a.usage.prompt_tokens > 0);
    assert.equal(b.usage.prompt_tokens, 0);
  });

  test("semantic cache: a close enough prompt gets the cached answer with its similarity; a distant one does not", async () => {
    const ask = (prompt: string) =>
      post(gateway, "/v1/completions", { model: "up", prompt, max_tokens: 8, temperature: 0 });
    const before = upstream.requests;
    assert.equal((await ask("What is the capital of France?")).cache, "miss");
    const near = await ask("What is the capital of France");
    assert.equal(near.cache, "semantic_hit");
    assert.ok(
      Number(near.similarity) >= 0.95 && Number(near.similarity) < 1,
      `similarity ${near.similarity}`,
    );
    assert.equal(contentOf(near.body), "Paris is the capital.");
    assert.equal((await ask("Whale, n.")).cache, "miss");
    assert.equal(upstream.requests - before, 2);
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: authorized() })).text();
    assert.match(metrics, /infergate_cache_lookups_total\{cache="response",result="semantic_hit"\} 1/);
    assert.match(metrics, /infergate_cache_lookups_total\{cache="response",result="hit"\} [1-9]/);
    assert.match(metrics, /infergate_cache_bytes\{store="memory"\} [1-9]/);
  });
});

describe("the SQLite store: sealed at rest, wiped on schedule and on demand", () => {
  let upstream: MockUpstream;
  /** Entries live 1 s and are wiped every second. */
  let expiring: RunningGateway;
  /** Entries outlive the test: what a wipe removes, only the wipe removed. */
  let lasting: RunningGateway;
  let expiringPath: string;
  let lastingPath: string;
  before(async () => {
    upstream = await startMockUpstream({ pieces: [SECRET_ANSWER, " and more"] });
    const dir = mkdtempSync(join(tmpdir(), "infergate-sqlite-"));
    [expiringPath, lastingPath] = [join(dir, "expiring.db"), join(dir, "lasting.db")];
    process.env.TEST_CACHE_KEYS = cacheKeys;
    const cache = { store: "sqlite", keys_env: "TEST_CACHE_KEYS" };
    expiring = await startGateway({
      raw: {
        models: models(upstream),
        cache: { ...cache, path: expiringPath, ttl_s: 1, wipe_interval_s: 1 },
      },
    });
    lasting = await startGateway({
      raw: { models: models(upstream).slice(0, 2), cache: { ...cache, path: lastingPath } },
      env: { INFERGATE_ADMIN_KEYS: ADMIN_KEY },
    });
  });
  after(async () => {
    await expiring.close();
    await lasting.close();
    await upstream.close();
  });
  const rows = (path: string) => {
    const db = new Database(path, { readonly: true });
    try {
      return (db.prepare("SELECT count(*) AS n FROM cache_entries").get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const fileBytes = (path: string) =>
    Buffer.concat([
      readFileSync(path),
      ...[`${path}-wal`].flatMap((wal) =>
        statSync(wal, { throwIfNoEntry: false }) ? [readFileSync(wal)] : [],
      ),
    ]);

  test("secrets that passed through are nowhere in the file; expired entries are gone after the interval", async () => {
    const answer = await post(expiring, "/v1/completions", {
      model: "up",
      prompt: SECRET_PROMPT,
      max_tokens: 8,
      temperature: 0,
    });
    assert.equal(contentOf(answer.body), `${SECRET_ANSWER} and more`);
    await post(expiring, "/v1/embeddings", { model: "spam-encoder", input: SECRET_PROMPT });
    await sleep(50);
    assert.equal(rows(expiringPath), 2);
    const bytes = fileBytes(expiringPath);
    for (const secret of [SECRET_ANSWER, SECRET_PROMPT, "SECRET", "alice@example.com"]) {
      assert.ok(!bytes.includes(secret), `'${secret}' is in the SQLite file`);
    }
    // ttl 1 s, wipe every 1 s: gone within about 2 s.
    assert.ok(
      await eventually(() => rows(expiringPath) === 0, 6000),
      "expired entries are still in the file",
    );
    const metrics = await (await fetch(`${expiring.url}/metrics`, { headers: authorized() })).text();
    assert.match(metrics, /infergate_cache_wipe_runs_total [1-9]/);
    assert.match(metrics, /infergate_cache_wiped_entries_total [1-9]/);
  });

  test("wipe-all through the admin endpoint (admin key only) empties the store and shrinks the file", async () => {
    const texts = Array.from({ length: 300 }, (_, i) => `text number ${i}`);
    assert.equal((await post(lasting, "/v1/embeddings", { model: "up-embed", input: texts })).status, 200);
    await sleep(50);
    assert.equal(rows(lastingPath), 300);
    const wipe = (key?: string) =>
      fetch(`${lasting.url}/admin/cache/wipe`, {
        method: "POST",
        headers: key ? { authorization: `Bearer ${key}` } : {},
      });
    assert.equal((await wipe(API_KEY)).status, 401, "a client key is not an admin key");
    assert.equal((await wipe()).status, 401);
    const onDisk = () => fileBytes(lastingPath).length;
    const sizeBefore = onDisk();
    const response = await wipe(ADMIN_KEY);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { wiped: number; store: string };
    assert.equal(body.store, "sqlite");
    assert.equal(body.wiped, 300);
    assert.equal(rows(lastingPath), 0);
    assert.ok(onDisk() < sizeBefore / 2, `file and log ${sizeBefore} → ${onDisk()} bytes`);
  });

  test("infergate cache wipe empties the configured store from the command line", async () => {
    await post(lasting, "/v1/embeddings", { model: "up-embed", input: "one more" });
    await sleep(50);
    assert.equal(rows(lastingPath), 1);
    const config = join(mkdtempSync(join(tmpdir(), "infergate-cli-")), "config.yaml");
    writeFileSync(
      config,
      JSON.stringify({
        models: [
          { id: "up", task: "generate", engine: "openai", base_url: upstream.url, upstream_model: "m" },
        ],
        cache: { store: "sqlite", path: lastingPath },
      }),
    );
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "src/cli/infergate.ts"), "--config", config, "cache", "wipe"],
      { cwd: repoRoot },
    );
    assert.match(stdout, /wiped 1 entr(y|ies) from the sqlite cache/);
    assert.equal(rows(lastingPath), 0);
  });
});

test("without admin keys the admin API is off", async () => {
  const upstream = await startMockUpstream();
  const gateway = await startGateway({
    raw: { models: models(upstream).slice(0, 1), cache: { store: "memory" } },
  });
  try {
    const response = await fetch(`${gateway.url}/admin/cache/wipe`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    assert.equal(response.status, 403);
    assert.match(await response.text(), /admin API is off: set admin keys in INFERGATE_ADMIN_KEYS/);
  } finally {
    await gateway.close();
    await upstream.close();
  }
});
