import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ApiKeys } from "../../src/server/api-keys.js";
import { UiAccess } from "../../src/server/ui/ui-access.js";
import { RunStore } from "../../src/store/run-store.js";
import { unreachableModel } from "../helpers.js";
import { storedReport, storedTarget } from "../support/stored-runs.js";
import { type RunningGateway, startGateway } from "./gateway-harness.js";

describe("the dashboard's API: stored runs, one run, and the diff of two", () => {
  let running: RunningGateway;
  let older: string;
  let newer: string;
  before(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "infergate-ui-"));
    const store = RunStore.open(dataDir);
    older = store.save("bench", "cli", storedReport("2026-12-01T10:00:00.000Z"), [
      storedTarget({ right: 20, latencyMs: 10 }),
    ]);
    newer = store.save("bench", "ui", storedReport("2026-12-01T11:00:00.000Z"), [
      storedTarget({ right: 36, latencyMs: 30 }),
    ]);
    store.close();
    running = await startGateway({
      raw: {
        models: [unreachableModel()],
        ui: { data_dir: dataDir },
      },
    });
  });
  after(() => running.close());

  const get = async (path: string) => {
    const response = await fetch(`${running.url}${path}`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  test("GET /ui/api/runs lists the runs newest first; GET /ui/api/runs/{id} returns one whole", async () => {
    const list = await get("/ui/api/runs");
    assert.equal(list.status, 200);
    assert.deepEqual(
      (list.body.data as { id: string }[]).map((run) => run.id),
      [newer, older],
    );
    const one = await get(`/ui/api/runs/${older}`);
    assert.equal(one.status, 200);
    assert.equal((one.body.runs as { items: unknown[] }[])[0]?.items.length, 40);
  });

  test("GET /ui/api/diff: the accuracy change on the paired items with its interval and McNemar, and the latency change", async () => {
    const { status, body } = await get(`/ui/api/diff?before=${older}&after=${newer}`);
    assert.equal(status, 200);
    const [target] = body.targets as {
      paired_items: number;
      accuracy: {
        before: number;
        after: number;
        delta: { difference: number; low: number };
        mcnemar: { only_second_correct: number; p_value: number };
      };
      e2e_p50_ms: { delta: { difference: number; low: number; high: number } };
    }[];
    assert.equal(target?.paired_items, 40);
    assert.equal(target?.accuracy.before, 0.5);
    assert.equal(target?.accuracy.after, 0.9);
    assert.ok(Math.abs((target?.accuracy.delta.difference ?? 0) - 0.4) < 1e-9);
    assert.ok((target?.accuracy.delta.low ?? 0) > 0, "the interval excludes no change");
    assert.equal(target?.accuracy.mcnemar.only_second_correct, 16);
    assert.ok((target?.accuracy.mcnemar.p_value ?? 1) < 0.001);
    assert.equal(target?.e2e_p50_ms.delta.difference, 20);
    assert.ok((target?.e2e_p50_ms.delta.low ?? 0) > 15 && (target?.e2e_p50_ms.delta.high ?? 0) < 25);
  });

  test("GET /ui/api/live: tiles and the per-model table move with the requests sent through the gateway", async () => {
    const before = await get("/ui/api/live");
    assert.equal((before.body.series as unknown[]).length, 900);
    // The model's upstream is unreachable: every request is a 502, counted as an error.
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${running.url}/v1/completions`, {
        method: "POST",
        headers: { authorization: "Bearer sk-test-0123456789abcdef", "content-type": "application/json" },
        body: JSON.stringify({ model: "up", prompt: "hi", max_tokens: 2 }),
      });
      assert.equal(response.status, 502);
      await response.arrayBuffer();
    }
    const { status, body } = await get("/ui/api/live");
    assert.equal(status, 200);
    const tiles = body.tiles as { requests_per_s: number; error_ratio: number };
    assert.ok(tiles.requests_per_s >= 0.5, `${tiles.requests_per_s} req/s over the last 10 s`);
    assert.equal(tiles.error_ratio, 1);
    const up = (body.models as { model: string; requests_per_s: number; error_ratio: number }[]).find(
      (model) => model.model === "up",
    );
    assert.equal(Math.round((up?.requests_per_s ?? 0) * 60), 5);
    assert.equal(up?.error_ratio, 1);
  });

  test("a bad or unknown run id, or a diff without both ids, is a 400 naming it", async () => {
    for (const [path, message] of [
      ["/ui/api/runs/nope", /not a run id: "nope"/],
      ["/ui/api/runs/run-00000000", /no run run-00000000/],
      [`/ui/api/diff?before=${older}`, /give the after run's id as \?after=/],
      ["/ui/api/runs?limit=0", /limit must be a whole number from 1 to 1000/],
    ] as const) {
      const { status, body } = await get(path);
      assert.equal(status, 400, path);
      assert.match((body.error as { message: string }).message, message);
    }
  });
});

describe("who may use the dashboard", () => {
  const clientKeys = new ApiKeys(["sk-client-0123456789"]);
  const adminKeys = new ApiKeys(["sk-admin-0123456789"]);
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const none = new URLSearchParams();

  test("on loopback: anyone on this machine", () => {
    assert.doesNotThrow(() =>
      new UiAccess(true, clientKeys, adminKeys, "INFERGATE_ADMIN_KEYS").check({}, none),
    );
  });

  test("off loopback: an admin key, by header or ?key=; none or an unknown one 401; a client key 403", () => {
    const access = new UiAccess(false, clientKeys, adminKeys, "INFERGATE_ADMIN_KEYS");
    assert.doesNotThrow(() => access.check(bearer("sk-admin-0123456789"), none));
    assert.doesNotThrow(() => access.check({}, new URLSearchParams("key=sk-admin-0123456789")));
    assert.throws(() => access.check({}, none), { status: 401 });
    assert.throws(() => access.check(bearer("sk-wrong-0123456789"), none), { status: 401 });
    assert.throws(() => access.check(bearer("sk-client-0123456789"), none), {
      status: 403,
      message: /needs an admin key, not a client key/,
    });
  });

  test("a gateway bound to every interface, over HTTP: the API wants an admin key (401, 403 for a client key); the page's files do not", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "infergate-ui-off-loopback-"));
    // Bound to 0.0.0.0, as a deployment is; the test still talks to it over loopback only.
    const running = await startGateway({
      raw: { server: { host: "0.0.0.0" }, models: [unreachableModel()], ui: { data_dir: dataDir } },
      keys: "sk-client-0123456789",
      env: { INFERGATE_ADMIN_KEYS: "sk-admin-0123456789" },
    });
    try {
      const status = async (path: string, headers: Record<string, string> = {}) =>
        (await fetch(`${running.url}${path}`, { headers })).status;
      for (const path of ["/ui/api/runs", "/ui/api/live", "/ui/api/models", "/ui/api/jobs"]) {
        assert.equal(await status(path), 401, `${path} without a key`);
        assert.equal(await status(path, bearer("sk-wrong-0123456789")), 401, `${path}, an unknown key`);
        assert.equal(await status(path, bearer("sk-client-0123456789")), 403, `${path}, a client key`);
        assert.equal(await status(path, bearer("sk-admin-0123456789")), 200, `${path}, the admin key`);
        assert.equal(await status(`${path}?key=sk-admin-0123456789`), 200, `${path}?key=`);
      }
      const submitted = await fetch(`${running.url}/ui/api/jobs`, {
        method: "POST",
        headers: { ...bearer("sk-client-0123456789"), "content-type": "application/json" },
        body: JSON.stringify({ kind: "bench", targets: ["up"] }),
      });
      assert.equal(submitted.status, 403, "a client key cannot launch a run");
      for (const path of ["/ui", "/ui/app.js", "/ui/views/run.js", "/ui/chart.js"])
        assert.equal(await status(path), 200, `${path}: the page's files carry no data`);
    } finally {
      await running.close();
    }
  });

  test("off loopback without admin keys: the dashboard is off, and says how to turn it on", () => {
    const access = new UiAccess(false, clientKeys, new ApiKeys([]), "INFERGATE_ADMIN_KEYS");
    assert.throws(() => access.check(bearer("sk-client-0123456789"), none), {
      status: 403,
      message: /set admin keys in INFERGATE_ADMIN_KEYS/,
    });
  });
});
