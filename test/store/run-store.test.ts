import assert from "node:assert/strict";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseConfig } from "../../src/config/load-config.js";
import { InvalidRequestError } from "../../src/core/errors.js";
import { dataDirFor, openRunStore } from "../../src/store/data-dir.js";
import { RunStore } from "../../src/store/run-store.js";
import { unreachableModel } from "../helpers.js";
import { runCli, testStateHome } from "../support/cli.js";
import { storedReport, storedTarget } from "../support/stored-runs.js";

const report = (createdAt = new Date().toISOString()) => storedReport(createdAt, [], ["a verdict"]);
const targetReport = (target: string, workload: string) =>
  storedTarget({ right: 40, latencyMs: 3, target, workload });

const freshDir = () => mkdtempSync(join(tmpdir(), "infergate-runs-"));

test("a saved run comes back whole: report, and per target its records and items, in order", () => {
  const store = RunStore.open(freshDir());
  const id = store.save("compare", "cli", report(), [
    targetReport("lm-base:q8_0", "spam"),
    targetReport("spam-encoder:int8", "spam"),
    // The same target on a second workload is a second entry, not an overwrite.
    targetReport("lm-base:q8_0", "ner"),
  ]);
  assert.match(id, /^run-[0-9a-z]+$/);
  const run = store.get(id);
  assert.equal(run.kind, "compare");
  assert.equal(run.source, "cli");
  assert.deepEqual(run.targets, ["lm-base:q8_0", "spam-encoder:int8", "lm-base:q8_0"]);
  assert.deepEqual(run.workloads, ["spam", "ner"]);
  assert.deepEqual(run.report.verdicts, ["a verdict"]);
  assert.deepEqual(
    run.runs.map((entry) => `${entry.target}/${entry.workload}`),
    ["lm-base:q8_0/spam", "spam-encoder:int8/spam", "lm-base:q8_0/ner"],
  );
  assert.equal(run.runs[0]?.records[0]?.endAt, 3);
  assert.equal(run.runs[0]?.items[0]?.correct, true);
  assert.deepEqual(
    store.list().map((summary) => summary.id),
    [id],
  );
  assert.equal(statSync(store.path).mode & 0o777, 0o600);
  store.close();
});

test("retention keeps the newest runs by count, and none older than the age limit", () => {
  const store = RunStore.open(freshDir(), { maxRuns: 3, maxAgeDays: 30 });
  const old = store.save("bench", "cli", report(new Date(Date.now() - 40 * 86_400_000).toISOString()), []);
  assert.deepEqual(
    store.list().map((summary) => summary.id),
    [],
    "a run past the age limit does not outlive its own save",
  );
  const ids = [1, 2, 3, 4, 5].map((minutes) =>
    store.save("bench", "ui", report(new Date(Date.now() - (10 - minutes) * 60_000).toISOString()), []),
  );
  assert.deepEqual(
    store.list().map((summary) => summary.id),
    ids.slice(2).reverse(),
  );
  assert.throws(() => store.get(old), InvalidRequestError);
  store.close();
});

test("a malformed or unknown run id is a clear error; deleting removes a run and its targets", () => {
  const store = RunStore.open(freshDir());
  assert.throws(() => store.get("../etc/passwd"), /not a run id: "..\/etc\/passwd"/);
  assert.throws(() => store.get("run-00000000"), /no run run-00000000 in /);
  const id = store.save("bench", "cli", report(), [targetReport("spam-encoder:int8", "spam")]);
  assert.equal(store.delete(id), true);
  assert.equal(store.delete(id), false);
  assert.deepEqual(store.list(), []);
  store.close();
});

test("the data directory: ui.data_dir relative to the config file, else XDG_STATE_HOME, else ~/.local/state", () => {
  const config = parseConfig(
    {
      models: [unreachableModel()],
      ui: { data_dir: "runs" },
    },
    "/srv/infergate",
    "test.yaml",
  );
  assert.equal(dataDirFor(config.ui), "/srv/infergate/runs");
  const defaults = parseConfig({ models: config.models }, "/srv", "test.yaml").ui;
  assert.equal(defaults.retention.max_runs, 200);
  assert.equal(dataDirFor(defaults, { XDG_STATE_HOME: "/state" }), "/state/infergate");
  assert.match(dataDirFor(defaults, { XDG_STATE_HOME: "relative" }), /\/\.local\/state\/infergate$/);
  assert.throws(
    () => parseConfig({ models: config.models, ui: { retention: { max_runs: 0 } } }, "/srv", "test.yaml"),
    /ui\.retention\.max_runs/,
  );
});

test("bench saves its run in the store, and says where; --no-save leaves it out", () => {
  const args = ["bench", "--target", "spam-encoder:int8", "--requests", "8", "--memory-samples", "0"];
  const saved = runCli(args);
  assert.equal(saved.code, 0, saved.stderr);
  const id = /saved as (run-[0-9a-z]+) in (\S+)/.exec(saved.stderr)?.[1];
  assert.ok(id, saved.stderr);
  const store = openRunStore(
    parseConfig(
      {
        models: [unreachableModel()],
      },
      "/",
      "t",
    ).ui,
    {
      XDG_STATE_HOME: testStateHome,
    },
  );
  try {
    const run = store.get(id);
    assert.equal(run.kind, "bench");
    assert.deepEqual(run.targets, ["spam-encoder:int8"]);
    assert.equal(run.runs[0]?.records.filter((record) => !record.warmup).length, 8);
    const unsaved = runCli([...args, "--no-save"]);
    assert.equal(unsaved.code, 0, unsaved.stderr);
    assert.doesNotMatch(unsaved.stderr, /saved as/);
    assert.equal(store.list().length, 1);
  } finally {
    store.close();
  }
});
