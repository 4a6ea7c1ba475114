import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { freePort } from "../support/free-port.js";
import { type Haproxy, startHaproxy } from "../support/haproxy.js";
import { chartDir, renderChart } from "../support/helm.js";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";
import { type Prometheus, startPrometheus } from "../support/prometheus.js";
import { type RedisServer, startRedis } from "../support/redis-server.js";
import { type Replica, replica } from "../support/replica.js";

const KEY = `sk-fleet-${randomBytes(8).toString("hex")}`;
const LIMITED = `sk-limited-${randomBytes(8).toString("hex")}`;
const LIMIT_PER_MIN = 60;
const PIECES = ["Hello", ",", " fleet", "!"];
const BREAKER_FAILURES = 6;

interface Answer {
  status: number;
  /** For a stream: its text, and whether it ended with [DONE]. */
  text: string;
  complete: boolean;
  cache: string | null;
}

/** A chat completion, streamed or not, read to the end; a connection that fails is status 0. */
async function chat(
  url: string,
  options: { key?: string; prompt?: string; stream?: boolean; model?: string } = {},
) {
  try {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${options.key ?? KEY}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: options.model ?? "up",
        messages: [{ role: "user", content: options.prompt ?? `hi ${randomBytes(6).toString("hex")}` }],
        max_tokens: 8,
        temperature: 0,
        stream: options.stream ?? false,
      }),
    });
    const body = await response.text();
    const cache = response.headers.get("x-infergate-cache");
    if (!options.stream) {
      const text = response.ok ? (JSON.parse(body).choices[0].message.content as string) : "";
      return { status: response.status, text, complete: response.ok, cache } satisfies Answer;
    }
    const events = body.split("\n\n").filter((event) => event.startsWith("data: "));
    const text = events
      .filter((event) => event !== "data: [DONE]")
      .map((event) => (JSON.parse(event.slice(6)).choices[0]?.delta?.content as string | undefined) ?? "")
      .join("");
    return {
      status: response.status,
      text,
      complete: events.at(-1) === "data: [DONE]",
      cache,
    } satisfies Answer;
  } catch {
    // The connection itself failed (a replica killed mid-request): that is what these tests count.
    return { status: 0, text: "", complete: false, cache: null } satisfies Answer;
  }
}

/** Limits count in one-minute windows: a check that would straddle a minute's end waits for the next one. */
async function freshWindow(needMs: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await sleep(left + 50);
}

/** The sum of a gauge over one replica's models, read from its /metrics. */
async function gauge(target: Replica, name: string): Promise<number> {
  const text = await (
    await fetch(`${target.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })
  ).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

describe("a fleet on loopback: three gateways behind haproxy, one Redis, one Prometheus", () => {
  let redis: RedisServer;
  let upstream: MockUpstream;
  let replicas: Replica[];
  let lb: Haproxy;
  let prometheus: Prometheus;

  before(async () => {
    redis = await startRedis();
    upstream = await startMockUpstream({ pieces: PIECES });
    const ports = [await freePort(), await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), "infergate-fleet-"));
    const configPath = join(dir, "config.yaml");
    writeFileSync(
      configPath,
      stringify({
        models: [
          { id: "up", task: "generate", engine: "openai", base_url: upstream.url, upstream_model: "m" },
        ],
        cache: { store: "redis", redis_url: redis.url, keys_env: "FLEET_CACHE_KEYS" },
        rate_limits: {
          keys: {
            [createHash("sha256").update(LIMITED).digest("hex").slice(0, 16)]: {
              requests_per_min: LIMIT_PER_MIN,
            },
          },
        },
        routes: [
          {
            name: "guarded",
            targets: [{ model: "up" }],
            retry: { attempts: 1 },
            breaker: { failures: BREAKER_FAILURES, half_open_after_ms: 60_000 },
          },
        ],
        shared_state: { redis_url: redis.url },
        server: { drain_timeout_ms: 10_000 },
      }),
    );
    const env = {
      INFERGATE_API_KEYS: `${KEY},${LIMITED}`,
      FLEET_CACHE_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    };
    replicas = ports.map((port) => replica(configPath, port, env));
    await Promise.all(replicas.map((member) => member.start()));
    lb = await startHaproxy(ports);
    prometheus = await startPrometheus({
      targets: ports,
      bearer: KEY,
      labels: { namespace: "inference", service: "ci-infergate" },
    });
  });
  after(async () => {
    await prometheus?.stop();
    await lb?.stop();
    await Promise.all((replicas ?? []).map((member) => member.stop("SIGKILL")));
    await upstream?.close();
    await redis?.stop();
  });

  test("a response cached by one replica is a hit on the others", async () => {
    const prompt = "shared by the fleet";
    const [first, second, third] = replicas as [Replica, Replica, Replica];
    assert.equal((await chat(first.url, { prompt })).cache, "miss");
    const asked = upstream.requests;
    for (const other of [second, third]) {
      const answer = await chat(other.url, { prompt });
      assert.deepEqual([answer.status, answer.cache, answer.text], [200, "hit", PIECES.join("")]);
    }
    assert.equal(upstream.requests, asked, "no replica asked the upstream again");
  });

  test(`a per-key limit of ${LIMIT_PER_MIN} requests/min holds across the fleet (within ±5%)`, async () => {
    await freshWindow(15_000);
    const statuses: number[] = [];
    const clients = Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 15; i++) statuses.push((await chat(lb.url, { key: LIMITED })).status);
    });
    await Promise.all(clients);
    const admitted = statuses.filter((status) => status === 200).length;
    const refused = statuses.filter((status) => status === 429).length;
    assert.equal(admitted + refused, 120, `only 200s and 429s: ${[...new Set(statuses)]}`);
    assert.ok(Math.abs(admitted - LIMIT_PER_MIN) <= LIMIT_PER_MIN * 0.05, `${admitted} admitted`);
  });

  test("the KEDA ScaledObject's queries, evaluated by Prometheus at two loads, ask for the replicas expected", async () => {
    const objects = await renderChart(join(chartDir, "ci/keda-values.yaml"));
    const scaled = objects.find((object) => object.kind === "ScaledObject");
    const spec = scaled?.spec as {
      minReplicaCount: number;
      maxReplicaCount: number;
      triggers: { metadata: { query: string; threshold: string } }[];
    };
    // KEDA with AverageValue: ceil(value / threshold) replicas per trigger, the largest wins, within the bounds.
    const desired = async () => {
      let wanted = spec.minReplicaCount;
      for (const { metadata } of spec.triggers) {
        const value = await prometheus.query(metadata.query);
        wanted = Math.max(wanted, Math.ceil(value / Number(metadata.threshold)));
      }
      return Math.min(spec.maxReplicaCount, wanted);
    };
    const settled = async (expected: number) => {
      for (let i = 0; i < 40; i++) {
        if ((await desired()) === expected) return expected;
        await sleep(250);
      }
      return desired();
    };
    assert.equal(await settled(2), 2, "idle: the minimum");
    upstream.behaviour.ttftMs = 4000;
    const held = Array.from({ length: 20 }, () => chat(lb.url, { stream: true }));
    try {
      // 20 in flight over 3 replicas, 8 per replica wanted: ceil(20 / 8) = 3.
      assert.equal(await settled(3), 3, "20 requests in flight");
    } finally {
      upstream.behaviour.ttftMs = 0;
    }
    const answers = await Promise.all(held);
    assert.ok(answers.every((answer) => answer.complete));
  });

  test("a rolling restart under steady load loses no request and cuts no stream", async () => {
    upstream.behaviour.itlMs = 25;
    let running = true;
    const answers: Answer[] = [];
    const clients = Array.from({ length: 6 }, async (_, i) => {
      while (running) answers.push(await chat(lb.url, { stream: i % 2 === 0 }));
    });
    try {
      for (const member of replicas) {
        await sleep(400);
        await member.stop("SIGTERM");
        await member.start();
      }
      await sleep(400);
    } finally {
      running = false;
      await Promise.all(clients);
      upstream.behaviour.itlMs = 0;
    }
    const failed = answers.filter((answer) => answer.status !== 200 || !answer.complete);
    assert.ok(answers.length > 30, `steady load: ${answers.length} requests`);
    assert.equal(failed.length, 0, `failed: ${JSON.stringify(failed.slice(0, 3))}`);
    assert.ok(
      answers.every((answer) => answer.text === PIECES.join("")),
      "every answer whole",
    );
  });

  test(`an upstream failing for all: ${BREAKER_FAILURES} failures in total open the breaker on every replica`, async () => {
    upstream.behaviour.failWith = 500;
    try {
      // Through the load balancer, round robin: 2 failures on each replica, 6 in all.
      for (let i = 0; i < BREAKER_FAILURES; i++)
        assert.equal((await chat(lb.url, { model: "guarded" })).status, 502);
      const asked = upstream.requests;
      for (const member of replicas) assert.equal((await chat(member.url, { model: "guarded" })).status, 503);
      assert.equal(upstream.requests, asked, "no replica asked the failing upstream again");
    } finally {
      delete upstream.behaviour.failWith;
    }
  });

  test("SIGKILL of one replica fails only the requests it had in flight", async () => {
    // Streams already under way: a request whose replica dies before answering anything haproxy sends to
    // another one (retry-on empty-response), so only streams the client has started reading can fail.
    upstream.behaviour.itlMs = 400;
    const victim = replicas[1] as Replica;
    try {
      const answers = Array.from({ length: 9 }, () => chat(lb.url, { stream: true }));
      let onVictim = 0;
      for (let i = 0; i < 40 && onVictim < 3; i++) {
        await sleep(50);
        onVictim = await gauge(victim, "infergate_in_flight_requests");
      }
      assert.equal(onVictim, 3, "round robin put 3 of the 9 on each replica");
      await victim.stop("SIGKILL");
      const settled = await Promise.all(answers);
      const failed = settled.filter((answer) => answer.status !== 200 || !answer.complete);
      assert.equal(failed.length, onVictim, "exactly the killed replica's requests failed");
    } finally {
      upstream.behaviour.itlMs = 0;
      await victim.start();
    }
  });
});
