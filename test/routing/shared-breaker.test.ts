import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { authorized, type RunningGateway, startGateway } from "../server/gateway-harness.js";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";
import { type RedisServer, startRedis } from "../support/redis-server.js";

async function ask(gateway: RunningGateway): Promise<{ status: number; code: string | undefined }> {
  const response = await fetch(`${gateway.url}/v1/completions`, {
    method: "POST",
    headers: authorized(),
    body: JSON.stringify({ model: "assistant", prompt: "hi", max_tokens: 4 }),
  });
  const body = (await response.json()) as { error?: { code: string } };
  return { status: response.status, code: body.error?.code };
}

describe("circuit breakers shared by replicas (shared_state): one fleet-wide record per route target", () => {
  let redis: RedisServer;
  let upstream: MockUpstream;
  let a: RunningGateway;
  let b: RunningGateway;

  before(async () => {
    redis = await startRedis();
    upstream = await startMockUpstream({ pieces: ["ok"] });
    const raw = {
      models: [{ id: "up", task: "generate", engine: "openai", base_url: upstream.url, upstream_model: "m" }],
      routes: [
        {
          name: "assistant",
          targets: [{ model: "up" }],
          retry: { attempts: 1 },
          breaker: { failures: 4, half_open_after_ms: 800 },
        },
      ],
      shared_state: { redis_url: redis.url, redis_prefix: `infergate:breaker-test:${Date.now()}:` },
    };
    a = await startGateway({ raw });
    b = await startGateway({ raw });
  });
  after(async () => {
    await a.close();
    await b.close();
    await upstream.close();
    await redis.stop();
  });

  test("4 failures in total, 2 on each replica, open it on both; after the wait one replica probes for all", async () => {
    upstream.behaviour.failWith = 500;
    for (const gateway of [a, b, a, b]) assert.equal((await ask(gateway)).status, 502);
    const asked = upstream.requests;
    for (const gateway of [a, b])
      assert.deepEqual(await ask(gateway), { status: 503, code: "IG_CIRCUIT_OPEN" });
    assert.equal(upstream.requests, asked, "an open breaker does not reach the upstream");

    delete upstream.behaviour.failWith;
    upstream.behaviour.ttftMs = 300;
    await sleep(900);
    // Six at once on the two replicas, half-open: exactly one goes to the upstream, the rest are refused.
    const answers = await Promise.all([a, b, a, b, a, b].map(ask));
    upstream.behaviour.ttftMs = 0;
    assert.equal(upstream.requests, asked + 1, "one probe for the whole fleet");
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 503, 503, 503, 503, 503]);
    // The probe succeeded: closed for both.
    for (const gateway of [a, b]) assert.equal((await ask(gateway)).status, 200);
  });

  test("Redis gone: each replica decides alone and requests keep flowing; back, the shared record decides again", async () => {
    await redis.stop();
    for (const gateway of [a, b, a]) assert.equal((await ask(gateway)).status, 200);
    const metrics = await (await fetch(`${a.url}/metrics`, { headers: authorized() })).text();
    assert.match(metrics, /infergate_shared_state_fallbacks_total\{state="breaker"\} [1-9]/);
    // On its own record, a replica opens after its own 4 failures, whatever the other does.
    upstream.behaviour.failWith = 500;
    for (let i = 0; i < 4; i++) assert.equal((await ask(a)).status, 502);
    assert.equal((await ask(a)).code, "IG_CIRCUIT_OPEN");
    assert.equal((await ask(b)).status, 502, "b has seen no failure of its own");

    await redis.start();
    // Redis is back, empty: the shared record (closed) decides again, on both.
    let shared = false;
    for (let i = 0; i < 50 && !shared; i++) {
      await sleep(100);
      shared = (await ask(a)).status === 502;
    }
    assert.ok(shared, "a follows the shared record again");
    delete upstream.behaviour.failWith;
  });
});
