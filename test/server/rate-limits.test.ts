import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type RunningGateway, startGateway } from "../server/gateway-harness.js";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";
import { type RedisServer, startRedis } from "../support/redis-server.js";

const ALICE = "sk-alice-0123456789";
const BOB = "sk-bob-0123456789";
const fingerprint = (key: string) => createHash("sha256").update(key).digest("hex").slice(0, 16);

/** Limits count in one-minute windows: a test that would straddle a minute's end waits for the next one. */
async function freshWindow(needMs: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await sleep(left + 50);
}

async function complete(gateway: RunningGateway, key: string) {
  const response = await fetch(`${gateway.url}/v1/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "up", prompt: "hi", max_tokens: 4 }),
  });
  const body = (await response.json()) as { error?: { code: string; type: string } };
  return { status: response.status, headers: response.headers, body };
}

describe("per-key rate limits: requests and tokens per minute, 429 with Retry-After and x-ratelimit-*", () => {
  let upstream: MockUpstream;
  let redis: RedisServer;
  before(async () => {
    upstream = await startMockUpstream({ pieces: ["Hello", "!"] });
    redis = await startRedis();
  });
  after(async () => {
    await upstream.close();
    await redis.stop();
  });

  const config = (rateLimits: Record<string, unknown>) => ({
    models: [{ id: "up", task: "generate", engine: "openai", base_url: upstream.url, upstream_model: "m" }],
    rate_limits: rateLimits,
  });

  test("one gateway: the key's own limit, then 429 naming it; another key keeps the default", async (t) => {
    await freshWindow(10_000);
    const gateway = await startGateway({
      raw: config({
        default: { requests_per_min: 100 },
        keys: { [fingerprint(ALICE)]: { requests_per_min: 3 } },
      }),
      keys: `${ALICE},${BOB}`,
    });
    t.after(() => gateway.close());
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await complete(gateway, ALICE));
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 200, 200, 429],
    );
    assert.deepEqual(
      answers.slice(0, 3).map((answer) => answer.headers.get("x-ratelimit-remaining-requests")),
      ["2", "1", "0"],
    );
    const refused = answers[3];
    assert.equal(refused?.headers.get("x-ratelimit-limit-requests"), "3");
    assert.match(String(refused?.headers.get("x-ratelimit-reset-requests")), /^\d+s$/);
    const retryAfter = Number(refused?.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.deepEqual(
      [refused?.body.error?.type, refused?.body.error?.code],
      ["rate_limit_error", "rate_limit_exceeded"],
    );
    const bob = await complete(gateway, BOB);
    assert.equal(bob.status, 200);
    assert.equal(bob.headers.get("x-ratelimit-remaining-requests"), "99");
  });

  test("tokens per minute: counted from each answer's usage; past the limit the next request is refused", async (t) => {
    await freshWindow(10_000);
    const gateway = await startGateway({
      raw: config({ default: { tokens_per_min: 5 } }),
      keys: ALICE,
    });
    t.after(() => gateway.close());
    const first = await complete(gateway, ALICE);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("x-ratelimit-limit-tokens"), "5");
    // The mock answers with usage: prompt and completion tokens together pass 5.
    let refused: Awaited<ReturnType<typeof complete>> | undefined;
    for (let i = 0; i < 5 && !refused; i++) {
      const answer = await complete(gateway, ALICE);
      if (answer.status === 429) refused = answer;
    }
    assert.ok(refused, "a request past the token limit is refused");
    assert.equal(refused.headers.get("x-ratelimit-remaining-tokens"), "0");
  });

  test("two gateways sharing Redis: one limit for the fleet; Redis gone, each counts alone; back, shared again", async (t) => {
    await freshWindow(20_000);
    const shared = {
      ...config({ keys: { [fingerprint(ALICE)]: { requests_per_min: 6 } } }),
      shared_state: { redis_url: redis.url, redis_prefix: `infergate:test:${Date.now()}:` },
    };
    const a = await startGateway({ raw: shared, keys: ALICE });
    const b = await startGateway({ raw: shared, keys: ALICE });
    t.after(async () => {
      await a.close();
      await b.close();
    });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await complete(i % 2 ? b : a, ALICE)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);

    await redis.stop();
    // Each replica now counts on its own, from zero: requests keep flowing, and the limit still holds per replica.
    const local: number[] = [];
    for (let i = 0; i < 8; i++) local.push((await complete(a, ALICE)).status);
    assert.deepEqual(local, [200, 200, 200, 200, 200, 200, 429, 429]);
    const metrics = await (
      await fetch(`${a.url}/metrics`, { headers: { authorization: `Bearer ${ALICE}` } })
    ).text();
    assert.match(metrics, /infergate_shared_state_fallbacks_total\{state="rate_limits"\} [1-9]/);

    await redis.start();
    // Redis is back, empty (it kept nothing): once A's count reaches it again, A and B share one window again.
    let back: Awaited<ReturnType<typeof complete>> | undefined;
    for (let i = 0; i < 50 && back?.status !== 200; i++) {
      await sleep(100);
      back = await complete(a, ALICE);
    }
    assert.equal(back?.headers.get("x-ratelimit-remaining-requests"), "5");
    const again: number[] = [];
    for (let i = 0; i < 7; i++) again.push((await complete(i % 2 ? a : b, ALICE)).status);
    assert.deepEqual(again, [200, 200, 200, 200, 200, 429, 429]);
  });
});
