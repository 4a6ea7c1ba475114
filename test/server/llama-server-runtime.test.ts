import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { eventually, localModel } from "../helpers.js";
import { API_KEY, type RunningGateway, startGateway } from "./gateway-harness.js";

describe("a model served with runtime: llama-server, through the gateway", () => {
  let running: RunningGateway;
  before(async () => {
    running = await startGateway({
      raw: { models: [localModel("served", "models/lm-small-q8_0.gguf", { runtime: "llama-server" })] },
    });
  });
  after(() => running.close());

  const complete = () =>
    fetch(`${running.url}/v1/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "served", prompt: "Whale, n.", max_tokens: 4, temperature: 0 }),
    });
  const metrics = async () =>
    (await fetch(`${running.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } })).text();

  test("its child's state and memory are in /metrics; killed, it answers 503 until restarted, then serves", async () => {
    assert.equal((await complete()).status, 200);
    const before = await metrics();
    assert.match(before, /infergate_model_process_up\{model="served:q8_0"\} 1/);
    assert.match(before, /infergate_model_process_restarts\{model="served:q8_0"\} 0/);
    assert.match(before, /infergate_model_memory_bytes\{model="served:q8_0",kind="process"\} \d{7,}/);

    process.kill(llamaServerChild(), "SIGKILL");
    assert.ok(await eventually(async () => /process_up\{model="served:q8_0"\} 0/.test(await metrics())));
    const refused = await complete();
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "IG_UNAVAILABLE");
    assert.ok(await eventually(async () => (await complete()).status === 200, 30_000));
    assert.match(await metrics(), /infergate_model_process_restarts\{model="served:q8_0"\} 1/);
  });
});

/** The llama-server this test process started (the gateway runs in it). */
function llamaServerChild(): number {
  const children = readdirSync("/proc/self/task").flatMap((task) =>
    readFileSync(`/proc/self/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number),
  );
  const server = children.find((pid) =>
    readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]?.endsWith("llama-server"),
  );
  assert.ok(server, "a llama-server child is running");
  return server;
}
