import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { parseConfig } from "../../src/config/load-config.js";
import { readSpamDev, repoRoot } from "../helpers.js";

const entry = join(repoRoot, "src/cli/infergate.ts");

function infergate(args: string[]) {
  const result = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), entry, ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    timeout: 400_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Facts {
  name: string;
  quality: { accuracy: { value: number; low: number; high: number } };
  e2e_p99_ms: number;
  attainments: { objective: string; met: boolean; value?: number; note?: string }[];
}

interface PlanJson {
  choice: { chosen: Facts | null; fallbacks: Facts[]; rejected: Facts[]; pareto: string[] };
  plan?: { chosen: string; timeouts: { first_token: number; total: number } };
}

const readPlan = (dir: string) => JSON.parse(readFileSync(join(dir, "plan.json"), "utf8")) as PlanJson;

describe("infergate plan", () => {
  test("a quality floor the LM prompted as a classifier cannot meet: the classify route goes to a spam-encoder variant, verified through the gateway", () => {
    const work = mkdtempSync(join(tmpdir(), "infergate-plan-"));
    // 30 of each class: both classes, and a run short enough for a test.
    const rows = readSpamDev();
    const items = [
      ...rows.filter((row) => row.label === "spam").slice(0, 30),
      ...rows.filter((row) => row.label === "ham").slice(0, 30),
    ];
    const dataset = join(work, "spam60.jsonl");
    writeFileSync(dataset, `${items.map((row) => JSON.stringify(row)).join("\n")}\n`);
    const candidates = "spam-encoder:int8,spam-encoder:fp32,lm-base:q8_0";

    // A first measurement with objectives everyone meets sets the thresholds, so they hold on any machine.
    const first = join(work, "first");
    const measured = infergate([
      "plan",
      "--dataset",
      dataset,
      "--slo",
      "min_accuracy=0,e2e_p99_ms=600000",
      "--rate",
      "20",
      "--candidates",
      candidates,
      "--out",
      first,
    ]);
    assert.equal(measured.code, 0, measured.stderr);
    const all = [readPlan(first).choice.chosen as Facts, ...readPlan(first).choice.fallbacks];
    const lm = all.find((facts) => facts.name === "lm-base:q8_0");
    const encoders = all.filter((facts) => facts.name.startsWith("spam-encoder"));
    assert.ok(lm === undefined, "an LM prompted as a classifier is never planned for a classify route");
    const lmFacts = readPlan(first).choice.rejected.find((facts) => facts.name === "lm-base:q8_0") as Facts;
    const floor =
      (lmFacts.quality.accuracy.high + Math.min(...encoders.map((e) => e.quality.accuracy.low))) / 2;
    assert.ok(lmFacts.quality.accuracy.high < floor, JSON.stringify(lmFacts.quality));
    const p99 = Math.max(...encoders.map((facts) => facts.e2e_p99_ms));

    // The plan, from the same measurements.
    const planned = join(work, "plan");
    const slo = `min_accuracy=${floor.toFixed(3)},e2e_p99_ms=${Math.ceil(p99 * 4 + 20)}`;
    const result = infergate([
      "plan",
      "--dataset",
      dataset,
      "--slo",
      slo,
      "--rate",
      "20",
      "--from-report",
      join(first, "report.json"),
      "--out",
      planned,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const plan = readPlan(planned);
    assert.match(plan.choice.chosen?.name ?? "", /^spam-encoder:/);
    const rejected = plan.choice.rejected.find((facts) => facts.name === "lm-base:q8_0");
    assert.ok(rejected, "lm-base is among the rejected");
    assert.equal(rejected.attainments.find((a) => a.objective === "min_accuracy")?.met, false);
    assert.match(result.stdout, /lm-base:q8_0 .*\(0\.\d+–0\.\d+\).*rejected: min_accuracy/);

    // plan.yaml is a serve config as it stands, its margins written beside the values.
    const yaml = readFileSync(join(planned, "plan.yaml"), "utf8");
    parseConfig(parse(yaml), planned, "plan.yaml");
    assert.match(yaml, /measured p99 to first token .* x 3/);
    assert.equal(
      plan.plan?.timeouts.first_token,
      Math.max(50, Math.ceil(Math.max(...encoders.map((e) => e.e2e_p99_ms)) * 3)),
    );

    // Verified through the gateway at the planned rate: every objective holds, served by the chosen model.
    const verified = infergate(["plan", "--verify", planned]);
    assert.equal(verified.code, 0, `${verified.stdout}\n${verified.stderr}`);
    assert.match(verified.stdout, new RegExp(`served by ${plan.choice.chosen?.name}`));

    // Every request at once: the p99 objective cannot hold, and is named.
    const burst = infergate(["plan", "--verify", planned, "--rate", "100000"]);
    assert.equal(burst.code, 1, `${burst.stdout}\n${burst.stderr}`);
    const facts = JSON.parse(readFileSync(join(planned, "verify.json"), "utf8")) as { missed: string[] };
    assert.ok(facts.missed.includes("e2e_p99_ms"), JSON.stringify(facts));

    // Objectives no candidate meets: exit 3, the closest named, no plan.yaml.
    const impossible = join(work, "impossible");
    const none = infergate([
      "plan",
      "--dataset",
      dataset,
      "--slo",
      "min_accuracy=0.9999",
      "--rate",
      "20",
      "--from-report",
      join(first, "report.json"),
      "--out",
      impossible,
    ]);
    assert.equal(none.code, 3, none.stderr);
    assert.match(none.stdout, /no candidate meets every objective \(exit 3\); closest: spam-encoder/);
    assert.equal(existsSync(join(impossible, "plan.yaml")), false);
    assert.equal(readPlan(impossible).choice.chosen, null);
  });

  test("a report measured under another load is refused; bad objectives are named", () => {
    const bad = infergate(["plan", "--dataset", join(repoRoot, "data/spam_dev.jsonl"), "--slo", "fastest=1"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unknown objective 'fastest'/);
    const work = mkdtempSync(join(tmpdir(), "infergate-plan-"));
    const report = join(work, "report.json");
    writeFileSync(
      report,
      JSON.stringify({
        schema: "infergate.report/1",
        load: { strategy: { kind: "concurrent", concurrency: 4 } },
        targets: [],
      }),
    );
    const other = infergate([
      "plan",
      "--dataset",
      join(repoRoot, "data/spam_dev.jsonl"),
      "--slo",
      "min_accuracy=0.5",
      "--rate",
      "10",
      "--from-report",
      report,
      "--out",
      work,
    ]);
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /closed loop \(concurrency 4\), not at --rate 10/);
  });
});
