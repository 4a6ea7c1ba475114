import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";
import { Pool } from "undici";
import type { LiveAbReport } from "../../src/bench/live-ab.js";
import { collect, readSpamDev, repoRoot } from "../helpers.js";
import { API_KEY, authorized, type RunningGateway, startGateway } from "../server/gateway-harness.js";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";

describe("A/B splits, domain routing and wire translation through routes", () => {
  let armA: MockUpstream;
  let armG: MockUpstream;
  let gateway: RunningGateway;
  before(async () => {
    armA = await startMockUpstream({ pieces: ["From", " OpenAI", "-format."] }, { record: false });
    armG = await startMockUpstream(
      { pieces: ["From", " Gemini", "-format."] },
      { record: false, wire: "gemini" },
    );
    process.env.MOCK_GEMINI_KEY = "gemini-test-key";
    gateway = await startGateway({
      raw: {
        models: [
          { id: "up-a", task: "generate", engine: "openai", base_url: armA.url, upstream_model: "m" },
          {
            id: "up-g",
            task: "generate",
            engine: "gemini",
            base_url: armG.url,
            upstream_model: "gemini-2.5-flash",
            api_key_env: "MOCK_GEMINI_KEY",
          },
          {
            id: "lm-base",
            task: "generate",
            engine: "llamacpp",
            variants: { q8_0: "models/lm-base-q8_0.gguf" },
          },
          {
            id: "lm-small",
            task: "generate",
            engine: "llamacpp",
            variants: { q8_0: "models/lm-small-q8_0.gguf" },
          },
          { id: "spam-encoder", task: "classify", engine: "onnx", variants: { int8: "models/spam-encoder" } },
        ],
        routes: [
          {
            name: "chat",
            targets: [
              { model: "up-a", weight: 90 },
              { model: "up-g", weight: 10 },
            ],
            sticky_key: "header:x-user-id",
            fallback: ["lm-base"],
          },
          { name: "by-user", targets: [{ model: "up-a" }, { model: "up-g" }], sticky_key: "field:user" },
          { name: "gemini-only", targets: [{ model: "up-g" }] },
          { name: "openai-only", targets: [{ model: "up-a" }] },
          {
            name: "mail-aware",
            targets: [{ model: "lm-base" }],
            specialists: [
              { model: "up-a", match: "^invoice #\\d+" },
              { model: "lm-small", classifier: { model: "spam-encoder", label: "spam", min_score: 0.9 } },
            ],
          },
        ],
      },
    });
  });
  after(async () => {
    await gateway.close();
    await armA.close();
    await armG.close();
  });

  test("a 90/10 split lands within ±3% over 10,000 requests, and every user stays on one arm", async () => {
    const pool = new Pool(gateway.url, { connections: 32 });
    const before = { a: armA.requests, g: armG.requests };
    const body = JSON.stringify({ model: "chat", prompt: "hi", max_tokens: 4 });
    const armOf = new Map<string, string>();
    let next = 0;
    const worker = async () => {
      while (next < 10_000) {
        const user = `user-${next++}`;
        const response = await pool.request({
          path: "/v1/completions",
          method: "POST",
          headers: authorized({ "x-user-id": user }),
          body,
        });
        const answer = (await response.body.json()) as { model: string };
        assert.equal(response.statusCode, 200);
        armOf.set(user, answer.model);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    const toA = armA.requests - before.a;
    const toG = armG.requests - before.g;
    assert.equal(toA + toG, 10_000);
    assert.ok(Math.abs(toA / 10_000 - 0.9) <= 0.03, `arm up-a got ${toA / 100}%`);

    // Sticky: the same users again, in a different order, land where they landed before.
    const sample = [...armOf.keys()].slice(0, 400).reverse();
    for (const user of sample) {
      const response = await pool.request({
        path: "/v1/completions",
        method: "POST",
        headers: authorized({ "x-user-id": user }),
        body,
      });
      assert.equal(((await response.body.json()) as { model: string }).model, armOf.get(user));
    }
    await pool.close();

    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: authorized() })).text();
    const count = (arm: string) =>
      Number(
        metrics.match(
          new RegExp(
            `infergate_requests_total\\{route="/v1/completions",model="${arm}",public_model="chat",arm="${arm}",status="200"\\} (\\d+)`,
          ),
        )?.[1],
      );
    assert.equal(count("up-a") + count("up-g"), 10_400, "every request's metrics carry its arm");
    assert.match(
      metrics,
      /infergate_routed_requests_total\{route="chat",target="up-g",arm="up-g",via="arm"\} \d+/,
    );
  });

  test("compare reads the live split back from /metrics and from the access log", async () => {
    const cli = async (...args: string[]) => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          "--import",
          "tsx",
          join(repoRoot, "src/cli/infergate.ts"),
          "compare",
          ...args,
          "--route",
          "chat",
          "--json",
        ],
        { cwd: repoRoot, env: { ...process.env, GATEWAY_KEY: API_KEY } },
      );
      return JSON.parse(stdout) as LiveAbReport;
    };
    const fromMetrics = await cli("--from-metrics", `${gateway.url}/metrics`, "--api-key-env", "GATEWAY_KEY");
    const logFile = join(mkdtempSync(join(tmpdir(), "infergate-ab-")), "gateway.log");
    writeFileSync(logFile, gateway.logs.join(""));
    const fromLog = await cli("--from-log", logFile);
    for (const report of [fromMetrics, fromLog]) {
      assert.deepEqual(
        report.arms.map((arm) => arm.arm),
        ["up-a", "up-g"],
      );
      const [a, g] = report.arms as [LiveAbReport["arms"][number], LiveAbReport["arms"][number]];
      assert.equal(a.requests + g.requests, 10_400);
      assert.ok(a.requests > 8 * g.requests);
      assert.equal(a.errors + g.errors, 0);
      assert.ok(a.e2eMs.p50 > 0 && a.e2eMs.p50 <= a.e2eMs.p95);
      assert.equal(report.comparisons[0]?.baseline, "up-a");
      assert.equal(report.comparisons[0]?.errorRatePValue, 1);
    }
  });

  test("sticky on OpenAI's user field", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    for (const user of ["alice", "bob", "carol", "dave"]) {
      const served = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const answer = await client.completions.create({
          model: "by-user",
          prompt: "hi",
          max_tokens: 4,
          user,
        });
        served.add(answer.model);
      }
      assert.equal(served.size, 1, `${user} was served by ${[...served].join(", ")}`);
    }
  });

  test("the openai SDK streams from a Gemini upstream through a route", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "gemini-only",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 8,
      stream: true,
    });
    const pieces: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.deepEqual(pieces, ["From", " Gemini", "-format."]);
    assert.equal(finish, "stop");
  });

  test("the @google/genai SDK streams from an OpenAI upstream through a route", async () => {
    const ai = new GoogleGenAI({ apiKey: API_KEY, httpOptions: { baseUrl: gateway.url } });
    const stream = await ai.models.generateContentStream({
      model: "openai-only",
      contents: "hi",
      config: { maxOutputTokens: 8 },
    });
    const pieces: string[] = [];
    let finish: string | undefined;
    for await (const chunk of stream) {
      if (chunk.text) pieces.push(chunk.text);
      finish = chunk.candidates?.[0]?.finishReason ?? finish;
    }
    assert.deepEqual(pieces, ["From", " OpenAI", "-format."]);
    assert.equal(finish, "STOP");
  });

  test("domain routing: a rule or the spam classifier sends a request to its specialist, the rest to the general model", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const emails = readSpamDev();
    const spam = emails.find((email) => email.label === "spam" && email.text.length < 1500)?.text ?? "";
    const ask = (prompt: string) =>
      client.completions.create({ model: "mail-aware", prompt, max_tokens: 6, temperature: 0 });

    const general = await ask("Whale, n.");
    assert.equal(general.model, "lm-base:q8_0");
    const expected = await collect(
      (await gateway.engines.load(gateway.registry.resolve("lm-base:q8_0"))).generate({
        prompt: "Whale, n.",
        maxTokens: 6,
        temperature: 0,
      }),
    );
    assert.equal(general.choices[0]?.text, expected.text);

    assert.equal((await ask(spam)).model, "lm-small:q8_0");
    assert.equal((await ask("Invoice #4471 is attached")).model, "up-a");
  });
});
