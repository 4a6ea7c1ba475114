import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../../src/config/load-config.js";
import { repoRoot } from "../helpers.js";
import { authorized, startGateway } from "../server/gateway-harness.js";

test("the example config serves its route, cached, from a fresh clone", async () => {
  const config = await loadConfig(`${repoRoot}/config/examples/routes-and-cache.yaml`);
  const running = await startGateway({ config });
  try {
    const ask = () =>
      fetch(`${running.url}/v1/completions`, {
        method: "POST",
        headers: authorized({ "x-user-id": "alice" }),
        body: JSON.stringify({ model: "assistant", prompt: "Whale, n.", max_tokens: 8, temperature: 0 }),
      });
    const first = await ask();
    const second = await ask();
    assert.equal(first.status, 200);
    assert.deepEqual(
      [first.headers.get("x-infergate-cache"), second.headers.get("x-infergate-cache")],
      ["miss", "hit"],
    );
    const [a, b] = [(await first.json()) as { model: string }, (await second.json()) as { model: string }];
    assert.match(a.model, /^lm-(base|small):q8_0$/);
    assert.equal(b.model, a.model);
  } finally {
    await running.close();
  }
});
