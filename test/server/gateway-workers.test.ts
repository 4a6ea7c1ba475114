import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { repoRoot } from "../helpers.js";

test("serve --workers 2: both processes serve, /metrics and the live view sum them, stored responses are shared, SIGTERM drains them all", async (t) => {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(repoRoot, "src/cli/infergate.ts"), "serve", "--workers", "2", "--port", "0"],
    { cwd: repoRoot, env: { ...process.env, INFERGATE_API_KEYS: "" }, stdio: ["ignore", "pipe", "inherit"] },
  );
  // A failed assertion must not leave the gateway running (and the test file waiting on it).
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  const lines: { msg: string; port?: number; pid?: number; event?: string; route?: string }[] = [];
  let port = 0;
  const reader = createInterface({ input: child.stdout });
  // Connections go only to workers that listen: wait until both say they do.
  const bothListening = new Promise<void>((resolve) => {
    let listening = 0;
    reader.on("line", (line) => {
      const entry = JSON.parse(line);
      lines.push(entry);
      if (entry.msg !== "listening") return;
      port = entry.port;
      if (++listening === 2) resolve();
    });
  });
  await bothListening;
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 12; i++) {
    const response = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { connection: "close" },
      body: JSON.stringify({ model: "lm-small", prompt: "Whale, n.", max_tokens: 2 }),
    });
    assert.equal(response.status, 200);
    await response.json();
  }
  const metrics = await (await fetch(`${url}/metrics`, { headers: { connection: "close" } })).text();
  assert.match(
    metrics,
    /infergate_requests_total\{route="\/v1\/completions",model="lm-small:q8_0",public_model="",arm="",status="200"\} 12\n/,
  );
  // State gauges are the same in every worker: shown once, not summed.
  assert.match(metrics, /infergate_serving_precision\{model="lm-small",precision="q8_0"\} 1\n/);
  // The dashboard's live view sums the workers too: 12 requests in the last minute, whichever worker answers.
  for (let i = 0; i < 4; i++) {
    const live = (await (await fetch(`${url}/ui/api/live`, { headers: { connection: "close" } })).json()) as {
      models: { model: string; requests_per_s: number; precision?: string }[];
    };
    const model = live.models.find((entry) => entry.model === "lm-small:q8_0");
    assert.equal(Math.round((model?.requests_per_s ?? 0) * 60), 12);
    assert.equal(model?.precision, "q8_0");
  }
  // A stored response is the primary's: every worker can continue it and return it.
  const post = async (body: Record<string, unknown>) => {
    const response = await fetch(`${url}/v1/responses`, {
      method: "POST",
      headers: { connection: "close", "content-type": "application/json" },
      body: JSON.stringify({ model: "lm-small", max_output_tokens: 2, ...body }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as { id: string };
  };
  let previous = await post({ input: "Whale, n." });
  for (let i = 0; i < 6; i++) {
    previous = await post({ input: "And then?", previous_response_id: previous.id });
    const fetched = await fetch(`${url}/v1/responses/${previous.id}`, { headers: { connection: "close" } });
    assert.equal(fetched.status, 200);
    await fetched.json();
  }
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const [code] = await exited;
  assert.equal(code, 0);
  const servers = new Set(lines.filter((line) => line.event === "request").map((line) => line.pid));
  assert.equal(servers.size, 2, "both workers served requests");
  const continuedBy = new Set(
    lines.filter((line) => line.route?.startsWith("/v1/responses")).map((line) => line.pid),
  );
  assert.equal(continuedBy.size, 2, "both workers continued or returned stored responses");
  assert.equal(
    lines.filter((line) => line.msg === "stopped").length,
    3,
    "two workers and the primary stopped",
  );
});
