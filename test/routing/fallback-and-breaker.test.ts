import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import OpenAI from "openai";
import { type BreakerEvent, topics } from "../../src/telemetry/events.js";
import { API_KEY, authorized, type RunningGateway, startGateway } from "../server/gateway-harness.js";
import { type Fault, type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";

/**
 * A route over a faulty primary (OpenAI or Gemini wire format) with a healthy backup as its fallback: every
 * fault the primary can produce ends in one complete answer from the backup, unless the client already saw
 * part of the primary's stream.
 */
describe("fallback chains and circuit breakers", () => {
  let openaiPrimary: MockUpstream;
  let geminiPrimary: MockUpstream;
  let backup: MockUpstream;
  let gateway: RunningGateway;
  let client: OpenAI;
  const BACKUP_TEXT = "Backup answer.";

  before(async () => {
    openaiPrimary = await startMockUpstream({ pieces: ["Primary", " answer."] });
    geminiPrimary = await startMockUpstream({ pieces: ["Gemini", " answer."] }, { wire: "gemini" });
    backup = await startMockUpstream({ pieces: ["Backup", " answer."] });
    process.env.MOCK_GEMINI_KEY = "gemini-test-key";
    const policies = {
      retry: { attempts: 1 },
      timeout_ms: { first_token: 300, total: 10_000 },
    };
    gateway = await startGateway({
      raw: {
        models: [
          {
            id: "up-a",
            task: "generate",
            engine: "openai",
            base_url: openaiPrimary.url,
            upstream_model: "m",
          },
          {
            id: "up-g",
            task: "generate",
            engine: "gemini",
            base_url: geminiPrimary.url,
            upstream_model: "gemini-2.5-flash",
            api_key_env: "MOCK_GEMINI_KEY",
          },
          { id: "up-b", task: "generate", engine: "openai", base_url: backup.url, upstream_model: "b" },
        ],
        routes: [
          { name: "via-openai", targets: [{ model: "up-a" }], fallback: ["up-b"], ...policies },
          { name: "via-gemini", targets: [{ model: "up-g" }], fallback: ["up-b"], ...policies },
          {
            name: "guarded",
            targets: [{ model: "up-a" }],
            fallback: ["up-b"],
            breaker: { failures: 3, half_open_after_ms: 400 },
          },
          {
            name: "retried",
            targets: [{ model: "up-a" }],
            fallback: ["up-b"],
            retry: { attempts: 3, base_delay_ms: 5, max_delay_ms: 20 },
          },
          { name: "no-fallback", targets: [{ model: "up-a" }], timeout_ms: { first_token: 200 } },
          {
            name: "retried-and-guarded",
            targets: [{ model: "up-a" }],
            fallback: ["up-b"],
            retry: { attempts: 3, base_delay_ms: 300, max_delay_ms: 300 },
            breaker: { failures: 1, half_open_after_ms: 60_000 },
          },
          {
            name: "rated",
            targets: [{ model: "up-a" }],
            fallback: ["up-b"],
            breaker: { failure_rate: 0.5, window_ms: 2000, min_requests: 4, half_open_after_ms: 60_000 },
          },
          { name: "deadline", targets: [{ model: "up-a" }], fallback: ["up-b"], timeout_ms: { total: 300 } },
          {
            name: "bounded",
            targets: [{ model: "up-a" }],
            fallback: ["up-b"],
            max_concurrent: 1,
            max_queue: 0,
          },
        ],
      },
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
  });
  after(async () => {
    await gateway.close();
    for (const upstream of [openaiPrimary, geminiPrimary, backup]) await upstream.close();
  });
  beforeEach(() => {
    for (const upstream of [openaiPrimary, geminiPrimary, backup]) {
      upstream.faults = [];
      upstream.behaviour.failWith = undefined;
    }
  });

  const ask = (model: string) =>
    client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 8 });
  const askStreamed = async (model: string) => {
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 8,
      stream: true,
    });
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    return { text, finish };
  };

  const faults: [string, Fault][] = [
    ["a 500", { failWith: 500 }],
    ["a 503", { failWith: 503 }],
    ["a 429", { failWith: 429 }],
    ["a hang (first-token timeout)", { hang: true }],
    ["a connection reset", { reset: true }],
    ["a stream cut before its first chunk", { cutAfter: 0 }],
  ];
  for (const [route, primary] of [
    ["via-openai", () => openaiPrimary],
    ["via-gemini", () => geminiPrimary],
  ] as const) {
    for (const [name, fault] of faults) {
      test(`${route}: ${name} falls back to the backup — whole and streamed answers complete`, async () => {
        primary().faults = [fault, fault];
        const whole = await ask(route);
        assert.equal(whole.choices[0]?.message.content, BACKUP_TEXT);
        assert.equal(whole.model, "up-b");
        const streamed = await askStreamed(route);
        assert.deepEqual(streamed, { text: BACKUP_TEXT, finish: "stop" });
        assert.equal(primary().faults.length, 0, "both requests reached the primary first");
      });
    }
  }

  test("x-infergate-model names the model that served, through the route and its fallback, whole and streamed", async () => {
    const served = async (stream: boolean) => {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: authorized(),
        body: JSON.stringify({ model: "via-openai", messages: [{ role: "user", content: "hi" }], stream }),
      });
      await response.text();
      return response.headers.get("x-infergate-model");
    };
    assert.equal(await served(false), "up-a");
    openaiPrimary.faults = [{ failWith: 500 }, { failWith: 500 }];
    assert.equal(await served(false), "up-b");
    assert.equal(await served(true), "up-b");
    assert.equal(await served(true), "up-a");
  });

  test("a non-streamed answer cut midway is retried elsewhere: the client gets one complete answer", async () => {
    openaiPrimary.faults = [{ cutAfter: 1 }];
    const whole = await ask("via-openai");
    assert.equal(whole.choices[0]?.message.content, BACKUP_TEXT);
  });

  test("a stream cut after the client saw its first chunk ends with an error event, never [DONE]", async () => {
    openaiPrimary.faults = [{ cutAfter: 1 }];
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: authorized(),
      body: JSON.stringify({
        model: "via-openai",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 8,
        stream: true,
      }),
    });
    const body = await response.text();
    assert.equal(response.status, 200);
    assert.match(body, /"content":"Primary"/);
    assert.match(body, /data: \{"error":\{"message":"upstream answer broke off/);
    assert.doesNotMatch(body, /\[DONE\]/);
    assert.doesNotMatch(body, /Backup/);
  });

  test("without a fallback the target's failure reaches the client, shaped; a hang ends at the first-token timeout", async () => {
    openaiPrimary.faults = [{ failWith: 503 }, { hang: true }];
    await assert.rejects(ask("no-fallback"), (error: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(error.status, 502);
      return true;
    });
    const started = performance.now();
    await assert.rejects(ask("no-fallback"), (error: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(error.status, 504);
      assert.match(error.message, /no first token within 200 ms/);
      return true;
    });
    assert.ok(performance.now() - started < 2000);
  });

  test("an open breaker is not retried: the request goes to the fallback without waiting out the backoff", async () => {
    const timedAsk = async (route: string) => {
      const started = performance.now();
      const { model } = await ask(route);
      return { model, ms: performance.now() - started };
    };
    openaiPrimary.faults = [{ failWith: 500 }];
    assert.equal((await timedAsk("retried-and-guarded")).model, "up-b");
    const before = openaiPrimary.requests;
    const fallenBack = await timedAsk("retried-and-guarded");
    assert.equal(fallenBack.model, "up-b");
    assert.equal(openaiPrimary.requests, before, "the open breaker let a request through");
    // Measured against a plain fallback in the same test, so it holds at any speed: a waited-out 300 ms backoff
    // would show as the difference.
    openaiPrimary.faults = [{ failWith: 500 }];
    const plainFallback = await timedAsk("via-openai");
    assert.equal(plainFallback.model, "up-b");
    assert.ok(
      fallenBack.ms < plainFallback.ms + 250,
      `took ${fallenBack.ms.toFixed(0)} ms; a plain fallback ${plainFallback.ms.toFixed(0)} ms`,
    );
  });

  test("a failure-rate breaker opens once half the requests in its window failed", async () => {
    openaiPrimary.faults = [
      {},
      { failWith: 500 },
      {},
      { failWith: 500 },
      { failWith: 500 },
      { failWith: 500 },
    ];
    const before = openaiPrimary.requests;
    const served: string[] = [];
    for (let i = 0; i < 10; i++) served.push((await ask("rated")).model);
    const reached = openaiPrimary.requests - before;
    assert.ok(reached >= 4 && reached < 10, `the primary saw ${reached} of 10 requests`);
    assert.deepEqual(served.slice(reached), Array(10 - reached).fill("up-b"));
    assert.match(await metricsText(), /infergate_breaker_state\{route="rated",target="up-a"\} 2/);
  });

  test("the total timeout ends the request across all targets: 504, no fallback after it", async () => {
    openaiPrimary.faults = [{ hang: true }];
    const before = backup.requests;
    const started = performance.now();
    await assert.rejects(ask("deadline"), (error: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(error.status, 504);
      assert.match(error.message, /request did not finish within 300 ms/);
      return true;
    });
    assert.ok(performance.now() - started < 2000);
    assert.equal(backup.requests, before);
  });

  test("a client error is not retried nor handed to the fallback", async () => {
    openaiPrimary.faults = [{ failWith: 400 }];
    const before = backup.requests;
    await assert.rejects(
      ask("retried"),
      (error: InstanceType<typeof OpenAI.APIError>) => error.status === 400,
    );
    assert.equal(backup.requests, before);
  });

  test("retries with backoff recover a flaky target without falling back; the retries are counted", async () => {
    openaiPrimary.faults = [{ failWith: 503 }, { reset: true }];
    const before = { primary: openaiPrimary.requests, backup: backup.requests };
    const whole = await ask("retried");
    assert.equal(whole.choices[0]?.message.content, "Primary answer.");
    assert.equal(openaiPrimary.requests - before.primary, 3);
    assert.equal(backup.requests, before.backup);
    const metrics = await metricsText();
    assert.match(
      metrics,
      /infergate_retries_total\{route="retried",target="up-a",reason="IG_UPSTREAM_ERROR"\} 1/,
    );
    assert.match(
      metrics,
      /infergate_retries_total\{route="retried",target="up-a",reason="IG_UPSTREAM_UNAVAILABLE"\} 1/,
    );
  });

  test("a full bulkhead hands requests to the fallback; a client leaving frees its place", async () => {
    openaiPrimary.faults = [{ hang: true }];
    const leaving = new AbortController();
    const before = openaiPrimary.requests;
    const hanging = fetch(`${gateway.url}/v1/completions`, {
      method: "POST",
      headers: authorized(),
      body: JSON.stringify({ model: "bounded", prompt: "hi", max_tokens: 4 }),
      signal: leaving.signal,
    }).catch((error: unknown) => error);
    while (openaiPrimary.requests === before) await sleep(5);
    assert.equal((await ask("bounded")).model, "up-b");
    assert.match(
      await metricsText(),
      /infergate_fallbacks_total\{route="bounded",from="up-a",to="up-b",reason="IG_TARGET_BUSY"\} 1/,
    );
    leaving.abort();
    await hanging;
    await sleep(50);
    assert.equal((await ask("bounded")).model, "up-a");
  });

  test("the breaker opens after 3 failures, sends nothing while open, probes, and closes on recovery", async () => {
    const timeline: (BreakerEvent & { at: number })[] = [];
    const stop = topics.breaker.subscribe((event) => {
      if (event.route === "guarded") timeline.push({ ...event, at: performance.now() });
    });
    try {
      openaiPrimary.behaviour.failWith = 500;
      const start = performance.now();
      const primaryBefore = openaiPrimary.requests;
      for (let i = 0; i < 3; i++) assert.equal((await ask("guarded")).model, "up-b");
      assert.equal(openaiPrimary.requests - primaryBefore, 3);
      assert.deepEqual(
        timeline.map((event) => event.state),
        ["open"],
      );
      assert.match(await metricsText(), /infergate_breaker_state\{route="guarded",target="up-a"\} 2/);

      // Open: the primary gets no traffic at all, and the backup answers at once.
      for (let i = 0; i < 5; i++) assert.equal((await ask("guarded")).model, "up-b");
      assert.equal(openaiPrimary.requests - primaryBefore, 3);
      assert.match(
        await metricsText(),
        /infergate_fallbacks_total\{route="guarded",from="up-a",to="up-b",reason="IG_CIRCUIT_OPEN"\} 5/,
      );

      // Half-open after 400 ms: one probe goes through; it fails, so the breaker opens again.
      await sleep(450);
      assert.equal((await ask("guarded")).model, "up-b");
      assert.equal(openaiPrimary.requests - primaryBefore, 4);

      // The upstream recovers; the next probe closes the breaker and traffic returns to the primary.
      openaiPrimary.behaviour.failWith = undefined;
      await sleep(450);
      assert.equal((await ask("guarded")).model, "up-a");
      assert.equal((await ask("guarded")).model, "up-a");
      assert.equal(openaiPrimary.requests - primaryBefore, 6);

      assert.deepEqual(
        timeline.map((event) => event.state),
        ["open", "half_open", "open", "half_open", "closed"],
      );
      const [opened, , reopened, probing] = timeline.map((event) => event.at - start) as number[];
      assert.ok((reopened as number) - (opened as number) >= 400, "stayed open for half_open_after_ms");
      assert.ok((probing as number) - (reopened as number) >= 400);
      assert.match(await metricsText(), /infergate_breaker_state\{route="guarded",target="up-a"\} 0/);
    } finally {
      stop();
    }
  });

  const metricsText = async () => (await fetch(`${gateway.url}/metrics`, { headers: authorized() })).text();
});
