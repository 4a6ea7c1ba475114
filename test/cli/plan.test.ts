import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { parseConfig } from "../../src/config/load-config.js";
import { readSpamDev, repoRoot } from "../helpers.js";
import { authorized, startGateway } from "../server/gateway-harness.js";
import { runCli, runCliAsync } from "../support/cli.js";

const infergate = (args: string[]) => runCli(args, { timeoutMs: 400_000 });

interface Facts {
  name: string;
  quality: { accuracy: { value: number; low: number; high: number } };
  e2e_p99_ms: number;
  attainments: { objective: string; met: boolean; value?: number; note?: string }[];
}

interface PlanJson {
  choice: { chosen: Facts | null; fallbacks: Facts[]; rejected: Facts[]; pareto: string[] };
  plan?: {
    chosen: string;
    timeouts: { first_token: number; total: number };
    capacity: { measured_rate_per_replica?: number; from_sweep?: boolean; replicas_for_rate?: number };
  };
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
      "--memory-limit-mb",
      "1000000",
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
      "--memory-limit-mb",
      "100000",
      "--capacity-rates",
      "20,100000",
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

    // The capacity sweep: 20 requests/s held, every request at once did not; replicas for 20/s with 2x headroom.
    const capacity = plan.plan?.capacity;
    assert.deepEqual(
      [capacity?.measured_rate_per_replica, capacity?.from_sweep, capacity?.replicas_for_rate],
      [20, true, 2],
    );
    // plan.yaml is a serve config as it stands, its margins written beside the values; the memory limit too.
    const yaml = readFileSync(join(planned, "plan.yaml"), "utf8");
    const config = parseConfig(parse(yaml), planned, "plan.yaml");
    assert.equal(config.server.memory.limit_mb, 100000);
    assert.match(yaml, /measured p99 to first token .* x 3/);
    assert.equal(
      plan.plan?.timeouts.first_token,
      Math.max(50, Math.ceil(Math.max(...encoders.map((e) => e.e2e_p99_ms)) * 3)),
    );

    // Verified through the gateway at the planned rate: every objective holds, served by the chosen model.
    const verified = infergate(["plan", "--verify", planned]);
    assert.equal(verified.code, 0, `${verified.stdout}\n${verified.stderr}`);
    assert.match(verified.stdout, new RegExp(`served by ${plan.choice.chosen?.name}`));
    // The fresh gateway was warmed first: 32 requests, one at a time (5 s at most), none of them judged.
    const warmed = JSON.parse(readFileSync(join(planned, "verify.json"), "utf8")) as {
      warmup_requests: number;
      requests: number;
    };
    assert.ok(warmed.warmup_requests > 2 && warmed.warmup_requests <= 32, JSON.stringify(warmed));
    assert.equal(warmed.requests, 60);

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

  test("a report measured under another load is refused; bad objectives and tagging workloads are named", () => {
    const bad = infergate(["plan", "--dataset", join(repoRoot, "data/spam_dev.jsonl"), "--slo", "fastest=1"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unknown objective 'fastest'/);
    const tagging = infergate([
      "plan",
      "--dataset",
      join(repoRoot, "data/ner/test.jsonl"),
      "--slo",
      "e2e_p99_ms=100",
    ]);
    assert.equal(tagging.code, 2);
    assert.match(tagging.stderr, /a tagging workload .* plan does not weigh taggers yet/);
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

/**
 * An endpoint speaking infergate's `/v1/classify` that knows the gold label of every item in domain A (and says
 * the opposite in domain B), answering after a delay: slower than the local encoder, better only in domain A.
 */
async function startOracle(
  gold: ReadonlyMap<string, string>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { input: string | string[] };
      const data = [body.input].flat().map((text, index) => {
        const right = gold.get(text) ?? "ham";
        const label = text.startsWith("[A]") ? right : right === "spam" ? "ham" : "spam";
        return {
          index,
          label,
          score: 0.9,
          scores: { [label]: 0.9, [label === "spam" ? "ham" : "spam"]: 0.1 },
        };
      });
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ data }));
      }, 15);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test("each candidate better in one domain: the route gets a specialist for that domain, and each domain's requests land on its planned model", async () => {
  const work = mkdtempSync(join(tmpdir(), "infergate-plan-domains-"));
  const rows = readSpamDev();
  const pick = (label: string, from: number) =>
    rows.filter((row) => row.label === label).slice(from, from + 10);
  // Domain A's labels are flipped: the spam encoder gets them wrong, the oracle right; domain B as it is.
  const flip = (label: string) => (label === "spam" ? "ham" : "spam");
  const items = [
    ...[...pick("spam", 0), ...pick("ham", 0)].map((row) => ({
      text: `[A] ${row.text}`,
      label: flip(row.label),
      domain: "a",
    })),
    ...[...pick("spam", 10), ...pick("ham", 10)].map((row) => ({
      text: `[B] ${row.text}`,
      label: row.label,
      domain: "b",
    })),
  ];
  const dataset = join(work, "domains.jsonl");
  writeFileSync(dataset, `${items.map((item) => JSON.stringify(item)).join("\n")}\n`);
  const oracle = await startOracle(new Map(items.map((item) => [item.text, item.label])));
  try {
    const config = join(work, "config.yaml");
    writeFileSync(
      config,
      `models:
  - {id: spam-encoder, task: classify, engine: onnx, variants: {int8: ${join(repoRoot, "models/spam-encoder")}}, batch_size: 16, max_length: 256}
  - {id: oracle-a, task: classify, engine: openai, base_url: "${oracle.url}", upstream_model: oracle}
`,
    );
    const rules = join(work, "rules.yaml");
    writeFileSync(rules, 'a: "^\\\\[A\\\\]"\n');
    const out = join(work, "plan");
    const result = await runCliAsync([
      "--config",
      config,
      "plan",
      "--dataset",
      dataset,
      "--slo",
      "min_accuracy=0.2,e2e_p99_ms=60000",
      "--rate",
      "20",
      "--candidates",
      "spam-encoder:int8,oracle-a",
      "--domain-rules",
      rules,
      "--out",
      out,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const plan = JSON.parse(readFileSync(join(out, "plan.json"), "utf8")) as {
      choice: { chosen: { name: string } };
      domains: {
        table: { domain: string; accuracy: Record<string, number> }[];
        specialists: { domain: string; model: string }[];
      };
    };
    assert.equal(
      plan.choice.chosen.name,
      "spam-encoder:int8",
      "the known-cost local model is the cheaper choice",
    );
    assert.deepEqual(
      plan.domains.specialists.map(({ domain, model }) => [domain, model]),
      [["a", "oracle-a"]],
    );
    const [a, b] = plan.domains.table;
    assert.ok((a?.accuracy["oracle-a"] ?? 0) > (a?.accuracy["spam-encoder:int8"] ?? 1));
    assert.ok((b?.accuracy["spam-encoder:int8"] ?? 0) > (b?.accuracy["oracle-a"] ?? 1));
    assert.match(readFileSync(join(out, "plan.md"), "utf8"), /\| a \| 20 \|/);

    // Served with plan.yaml: each domain's requests land on its planned model.
    const running = await startGateway({ raw: parse(readFileSync(join(out, "plan.yaml"), "utf8")) });
    try {
      for (const [text, expected] of [
        [items[0]?.text, "oracle-a"],
        [items[25]?.text, "spam-encoder:int8"],
      ] as const) {
        const response = await fetch(`${running.url}/v1/classify`, {
          method: "POST",
          headers: authorized(),
          body: JSON.stringify({ model: "classify", input: text }),
        });
        assert.equal(response.status, 200, await response.clone().text());
        await response.json();
        assert.equal(response.headers.get("x-infergate-model"), expected, text);
      }
    } finally {
      await running.close();
    }
  } finally {
    await oracle.close();
  }
});

test("--parallel measures a llama.cpp candidate once per sequence count; plan.yaml serves the choice with its count", () => {
  const work = mkdtempSync(join(tmpdir(), "infergate-plan-parallel-"));
  const dataset = join(work, "whales.jsonl");
  const rows = ["Whale, n.", "The sea", "Call me", "It was", "The ship", "A harpoon"].map((prompt) => ({
    prompt,
    reference: "the whale",
  }));
  writeFileSync(dataset, `${rows.map((row) => JSON.stringify(row)).join("\n")}\n`);
  const out = join(work, "plan");
  const result = infergate([
    "plan",
    "--dataset",
    dataset,
    "--slo",
    "min_token_f1=0,e2e_p99_ms=600000",
    "--rate",
    "4",
    "--candidates",
    "lm-small:q8_0",
    "--parallel",
    "1,2",
    "--out",
    out,
  ]);
  assert.equal(result.code, 0, result.stderr);
  const plan = readPlan(out);
  const names = [plan.choice.chosen, ...plan.choice.fallbacks].map((facts) => facts?.name).sort();
  assert.deepEqual(names, ["lm-small:q8_0@parallel=1", "lm-small:q8_0@parallel=2"]);
  const chosen = plan.choice.chosen?.name ?? "";
  const config = parseConfig(parse(readFileSync(join(out, "plan.yaml"), "utf8")), out, "plan.yaml");
  const served = config.models.find((model) => model.id === "lm-small");
  assert.ok(served && "parallel" in served);
  assert.equal(`lm-small:q8_0@parallel=${served.parallel}`, chosen);
  // The other count is a fallback under an id of its own.
  assert.ok(config.models.some((model) => /^lm-small-q8_0-p[12]$/.test(model.id)));
});
