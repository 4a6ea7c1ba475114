import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { API_KEY, authorized, type RunningGateway, startGateway } from "./gateway-harness.js";

const SECRET_PROMPT = "my secret plan, mail alice.smith@example.com or call +1 415 555 0134";

async function post(url: string, body: unknown, headers = authorized()) {
  const response = await fetch(url, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as { error?: Record<string, unknown> },
  };
}

describe("gateway input safety, errors, metrics and logs", () => {
  let running: RunningGateway;
  let completions: string;
  before(async () => {
    running = await startGateway();
    completions = `${running.url}/v1/completions`;
  });
  after(() => running.close());

  const valid = { model: "lm-small", prompt: "Whale, n.", max_tokens: 4, temperature: 0 };

  for (const [name, body, status, param, code] of [
    ["malformed JSON", "{not json", 400, null, "IG_INVALID_REQUEST"],
    ["an empty body", "", 400, null, "IG_INVALID_REQUEST"],
    ["a wrong type", { ...valid, max_tokens: "four" }, 400, "max_tokens", "IG_INVALID_REQUEST"],
    ["a missing field", { model: "lm-small" }, 400, "prompt", "IG_INVALID_REQUEST"],
    ["temperature out of range", { ...valid, temperature: 9 }, 400, "temperature", "IG_INVALID_REQUEST"],
    ["n beyond the parallel sequences", { ...valid, n: 100 }, 400, "n", "IG_INVALID_REQUEST"],
    ["an unknown model", { ...valid, model: "lm-huge" }, 404, "model", "model_not_found"],
    ["an unknown precision", { ...valid, model: "lm-small:q4_0" }, 400, "model", "IG_UNKNOWN_PRECISION"],
    [
      "a classifier asked to generate",
      { ...valid, model: "spam-encoder" },
      400,
      "model",
      "IG_UNSUPPORTED_TASK",
    ],
    ["max_tokens past the limit", { ...valid, max_tokens: 100_000 }, 400, "max_tokens", "IG_INVALID_REQUEST"],
    [
      "a prompt past the context",
      { ...valid, prompt: "word ".repeat(3000), max_tokens: 16 },
      400,
      "prompt",
      "context_length_exceeded",
    ],
    [
      "a prompt past the character limit",
      { ...valid, prompt: "x".repeat(100_001) },
      400,
      "prompt",
      "IG_INVALID_REQUEST",
    ],
  ] as const) {
    test(`${name} → ${status}, OpenAI-shaped`, async () => {
      const { status: got, json } = await post(completions, body);
      assert.equal(got, status);
      assert.equal(typeof json.error?.message, "string");
      assert.equal(
        json.error?.type,
        status === 404 || status === 400 ? "invalid_request_error" : json.error?.type,
      );
      assert.equal(json.error?.param, param);
      assert.equal(json.error?.code, code);
    });
  }

  test("an oversize body → 413; a bad or missing key → 401; an unknown route → 404", async () => {
    const big = await post(completions, { ...valid, prompt: "x".repeat(2 * 1024 * 1024) });
    assert.equal(big.status, 413);
    assert.equal(big.json.error?.code, "IG_PAYLOAD_TOO_LARGE");
    const wrongKey = await post(
      completions,
      valid,
      authorized({ authorization: "Bearer sk-nope-0000000000" }),
    );
    assert.equal(wrongKey.status, 401);
    assert.equal(wrongKey.json.error?.type, "authentication_error");
    const noKey = await post(completions, valid, { "content-type": "application/json" });
    assert.equal(noKey.status, 401);
    const nowhere = await fetch(`${running.url}/v2/nothing`, { headers: authorized() });
    assert.equal(nowhere.status, 404);
    assert.equal(((await nowhere.json()) as { error: { code: string } }).error.code, "IG_ROUTE_NOT_FOUND");
  });

  test("an oversize body sent chunked, with no length declared, → 413 before it is all read", async () => {
    const piece = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // 64 MiB offered: far past the 1 MiB limit, and more than the gateway may read before refusing.
        if (sent++ < 1024) controller.enqueue(piece);
        else controller.close();
      },
    });
    const response = await fetch(completions, {
      method: "POST",
      headers: authorized(),
      body,
      duplex: "half",
    } as RequestInit);
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, "IG_PAYLOAD_TOO_LARGE");
    assert.ok(sent < 1024, `the whole body was read (${sent} pieces)`);
    assert.equal((await post(completions, valid)).status, 200);
  });

  test("1,000 random malformed requests leave the server up and answering correctly", async () => {
    const paths = ["/v1/completions", "/v1/chat/completions", "/v1/embeddings", "/v1/classify", "/v1/models"];
    const mutations: (() => string)[] = [
      () => randomBytes(1 + Math.floor(Math.random() * 200)).toString("latin1"),
      () =>
        JSON.stringify({
          ...valid,
          [pick(["model", "prompt", "max_tokens", "temperature", "stop", "messages"])]: randomValue(),
        }),
      () => JSON.stringify(randomValue()),
      () =>
        JSON.stringify({ model: randomValue(), messages: [{ role: randomValue(), content: randomValue() }] }),
      () =>
        JSON.stringify({ model: "spam-encoder", input: randomValue() }).slice(
          0,
          Math.floor(Math.random() * 60),
        ),
    ];
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 50; batch++) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const method = pick(["POST", "POST", "POST", "GET", "PUT"]);
          const response = await fetch(`${running.url}${pick(paths)}`, {
            method,
            headers: authorized(),
            body: method === "GET" ? undefined : pick(mutations)(),
          });
          const text = await response.text();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          assert.ok(response.status < 500, `status ${response.status}: ${text.slice(0, 200)}`);
          if (response.status >= 400) assert.ok(JSON.parse(text).error.message, text);
        }),
      );
    }
    assert.equal(
      [...statuses.values()].reduce((a, b) => a + b, 0),
      1000,
      JSON.stringify([...statuses]),
    );
    const { status, json } = await post(completions, valid);
    assert.equal(status, 200, JSON.stringify(json));
  });

  test("/metrics exposes requests, latency, TTFT, time per token, tokens, queue, in-flight, memory and GC pauses", async () => {
    await post(completions, { ...valid, prompt: SECRET_PROMPT, max_tokens: 8 });
    const unauthenticated = await fetch(`${running.url}/metrics`);
    assert.equal(unauthenticated.status, 401);
    const text = await (
      await fetch(`${running.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } })
    ).text();
    for (const series of [
      /infergate_requests_total\{route="\/v1\/completions",model="lm-small:q8_0",public_model="",arm="",status="200"\} \d+/,
      /infergate_requests_total\{route="\/v1\/completions",model="",public_model="",arm="",status="400"\} \d+/,
      /infergate_request_duration_seconds_bucket\{le="[\d.]+",route="\/v1\/completions",model="lm-small:q8_0",public_model="",arm=""\}/,
      /infergate_time_to_first_token_seconds_count\{model="lm-small:q8_0",public_model="",arm=""\} \d+/,
      /infergate_time_per_output_token_seconds_count\{model="lm-small:q8_0",public_model="",arm=""\} \d+/,
      /infergate_tokens_total\{model="lm-small:q8_0",public_model="",arm="",direction="completion"\} \d+/,
      /infergate_tokens_total\{model="lm-small:q8_0",public_model="",arm="",direction="prompt"\} \d+/,
      /infergate_serving_precision\{model="lm-base",precision="q8_0"\} 1/,
      /infergate_queue_depth\{model="lm-small:q8_0"\} 0/,
      /infergate_in_flight_requests\{model="lm-small:q8_0"\} 0/,
      /infergate_model_memory_bytes\{model="lm-base:q8_0",kind="weights"\} \d{7,}/,
      // Loading models and serving allocate: the collector has paused by now.
      /infergate_gc_pause_seconds_count\{kind="(minor|major|incremental)"\} [1-9]\d*/,
    ]) {
      assert.match(text, series);
    }
  });

  test("the log holds no prompt text, no API key, no email address or phone number", async () => {
    await post(completions, { ...valid, prompt: SECRET_PROMPT });
    await post(completions, { ...valid, model: `lm-huge-${"a".repeat(3)}@example.com` });
    await post(completions, valid, authorized({ authorization: "Bearer sk-leaked-key-99999999" }));
    const log = running.logs.join("");
    assert.match(log, /"route":"\/v1\/completions"/);
    for (const secret of ["secret plan", "alice.smith", "example.com", "415 555", API_KEY, "sk-leaked-key"]) {
      assert.ok(!log.includes(secret), `log contains '${secret}'`);
    }
  });
});

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

function randomValue(): unknown {
  return pick<() => unknown>([
    () => null,
    () => -1,
    () => 1e308,
    () => "",
    () => "x".repeat(Math.floor(Math.random() * 5000)),
    () => [],
    () => [1, "a", null],
    () => ({ nested: { deep: [{}] } }),
    () => true,
    () => Math.random() * 10 - 5,
  ])();
}
