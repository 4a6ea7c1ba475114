import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { repoRoot } from "../helpers.js";
import { authorized, type RunningGateway, startGateway } from "./gateway-harness.js";

/** One lm-small model with a single sequence, so a leaked sequence would block the next request. */
const ONE_SLOT = {
  models: [
    {
      id: "small",
      task: "generate",
      engine: "llamacpp",
      variants: { q8_0: "models/lm-small-q8_0.gguf" },
      parallel: 1,
    },
    {
      id: "base",
      task: "generate",
      engine: "llamacpp",
      variants: { q8_0: "models/lm-base-q8_0.gguf" },
      parallel: 1,
    },
  ],
  server: { max_queue_per_model: 1 },
};
/** The same models with a request timeout that 1,900 tokens of lm-base cannot meet at any speed seen here. */
const SHORT_TIMEOUT = { ...ONE_SLOT, server: { max_queue_per_model: 1, request_timeout_ms: 300 } };

function completion(url: string, body: Record<string, unknown>, signal?: AbortSignal) {
  return fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: authorized(),
    body: JSON.stringify({ prompt: "Whale, n.", temperature: 0, ...body }),
    signal,
  });
}

describe("serving: queue bound, disconnects", () => {
  let running: RunningGateway;
  before(async () => {
    running = await startGateway({ raw: ONE_SLOT });
  });
  after(() => running.close());

  test("a full queue answers 429 with Retry-After at once; the admitted requests complete", async () => {
    const answered = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const response = await completion(running.url, { model: "small", max_tokens: 150 });
        return { response, at: performance.now() };
      }),
    );
    const responses = answered.map(({ response }) => response);
    const statuses = responses.map((response) => response.status).sort();
    assert.deepEqual(statuses, [200, 200, 429, 429]);
    const refused = responses.find((response) => response.status === 429);
    assert.ok(Number(refused?.headers.get("retry-after")) >= 1);
    const body = (await refused?.json()) as { error: { type: string; code: string } };
    assert.deepEqual([body.error.type, body.error.code], ["rate_limit_error", "rate_limit_exceeded"]);
    for (const response of responses.filter((r) => r.status === 200)) {
      assert.equal(
        ((await response.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens,
        150,
      );
    }
    // "At once": both refusals arrive before the first admitted answer has finished, at whatever speed.
    const last429 = Math.max(
      ...answered.filter(({ response }) => response.status === 429).map(({ at }) => at),
    );
    const first200 = Math.min(
      ...answered.filter(({ response }) => response.status === 200).map(({ at }) => at),
    );
    assert.ok(last429 < first200, "the refusals waited for a generation");
  });

  test("a client that disconnects mid-stream frees its sequence: the next request runs at full speed", async () => {
    const timed = async () => {
      const started = performance.now();
      const response = await completion(running.url, { model: "small", max_tokens: 64 });
      assert.equal(response.status, 200);
      await response.json();
      return performance.now() - started;
    };
    const baseline = Math.min(await timed(), await timed());
    const controller = new AbortController();
    const response = await completion(
      running.url,
      { model: "small", max_tokens: 1900, stream: true },
      controller.signal,
    );
    const reader = response.body?.getReader();
    assert.ok(reader);
    await reader.read(); // the stream has started
    controller.abort();
    // 1,900 tokens take ~0.6 s: had the sequence not been freed, this request would wait for them.
    const next = await timed();
    assert.ok(
      next < baseline * 3 + 100,
      `next request took ${next.toFixed(0)} ms (baseline ${baseline.toFixed(0)} ms)`,
    );
  });
});

describe("serving: timeouts", () => {
  let running: RunningGateway;
  before(async () => {
    running = await startGateway({ raw: SHORT_TIMEOUT });
  });
  after(() => running.close());

  test("a request past its timeout → 504; a stream past it ends with an error event and no [DONE]", async () => {
    const plain = await completion(running.url, { model: "base", max_tokens: 1900 });
    assert.equal(plain.status, 504);
    assert.equal(((await plain.json()) as { error: { code: string } }).error.code, "IG_TIMEOUT");

    const streamed = await completion(running.url, { model: "base", max_tokens: 1900, stream: true });
    assert.equal(streamed.status, 200);
    const text = await streamed.text();
    const events = text.trim().split("\n\n");
    assert.ok(events.length > 3, "some tokens arrived before the timeout");
    assert.match(
      events.at(-1) ?? "",
      /^data: \{"error":\{"message":"request did not finish within 300 ms".*"code":"IG_TIMEOUT"/,
    );
    assert.ok(!text.includes("[DONE]"));
  });
});

test("SIGTERM drains: an in-flight stream completes, then the process exits 0", async (t) => {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(repoRoot, "src/cli/infergate.ts"),
      "serve",
      "--port",
      "0",
      "--log-level",
      "info",
    ],
    { cwd: repoRoot, env: { ...process.env, INFERGATE_API_KEYS: "" }, stdio: ["ignore", "pipe", "inherit"] },
  );
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  let port = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    const entry = JSON.parse(line) as { msg: string; port?: number };
    if (entry.msg === "listening") {
      port = entry.port ?? 0;
      break;
    }
  }
  assert.ok(port > 0);
  const response = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
    method: "POST",
    body: JSON.stringify({
      model: "lm-base",
      prompt: "Whale, n.",
      max_tokens: 1500,
      temperature: 0,
      stream: true,
    }),
  });
  const reader = response.body?.getReader();
  assert.ok(reader);
  let text = new TextDecoder().decode((await reader.read()).value);
  child.kill("SIGTERM");
  const exited = once(child, "exit");
  for (let part = await reader.read(); !part.done; part = await reader.read())
    text += new TextDecoder().decode(part.value);
  assert.match(text, /"finish_reason":"length"/);
  assert.ok(text.trimEnd().endsWith("data: [DONE]"));
  const [code] = await exited;
  assert.equal(code, 0);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
});
