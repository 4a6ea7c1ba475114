import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../helpers.js";
import { launchBrowser } from "../support/browser.js";
import { runCli } from "../support/cli.js";
import { yardstickSeconds } from "../support/machine-speed.js";

/** `yardstickSeconds()` in a quiet hour here (AMD EPYC, 2 vCPUs; the least of 10 runs on 2026-12-02). */
const QUIET_YARDSTICK_S = 0.23;
/** How many times slower than quiet this machine is, by a yardstick taken now. */
const slowdownOf = (yardstick: number) => Math.max(1, yardstick / QUIET_YARDSTICK_S);
/** What a no-argument compare may take at this machine's quiet speed. */
const COMPARE_BOUND_S = 240;

const infergate = (args: string[], cwd: string) => runCli(args, { cwd, timeoutMs: 300_000 });

describe("infergate compare and bench", () => {
  test("compare with no arguments compares the bundled models, LLMs beside the specialist, in under 4 minutes at this machine's quiet speed", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "infergate-compare-"));
    const yardstickBefore = await yardstickSeconds();
    const started = performance.now();
    // Not killed before the bound below can judge it: the time it may take grows with how slow the machine is.
    const { code, stdout, stderr } = runCli(["compare"], {
      cwd,
      timeoutMs: Math.round(Math.max(300, COMPARE_BOUND_S * slowdownOf(yardstickBefore) * 1.5) * 1000),
    });
    const seconds = (performance.now() - started) / 1000;
    const slowdown = slowdownOf(Math.max(yardstickBefore, await yardstickSeconds()));
    assert.equal(code, 0, stderr);
    // 110 s on a quiet hour here; this machine's speed drifts by 2-3x between hours (155, 187 and 227 s for the
    // same commit), so the bound scales with how slow the machine is now, by the yardstick before and after. The
    // README promises about 4 minutes with the install (~2 of them); the bound still catches a run that grew by a
    // third.
    assert.ok(
      seconds < COMPARE_BOUND_S * slowdown,
      `${seconds.toFixed(0)} s, bound ${(COMPARE_BOUND_S * slowdown).toFixed(0)} s (machine ${slowdown.toFixed(2)}x slower than quiet)`,
    );
    assert.match(stdout, /generate — lm_heldout/);
    assert.match(stdout, /classify — spam_dev \(times/);
    assert.match(stdout, /classify — spam_dev \(200 of 646, seed 1\)/);
    // Tagging: the tagger's precisions and the LM extracting, one table with F1s and CIs, then F1 per type.
    assert.match(stdout, /tag — ner_test \(120 of 600, seed 1\) \(times in ms\)\n.*entity F1 +F1 95% CI/);
    assert.match(stdout, /entities by type — ner_test/);
    assert.match(stdout, /E2E p99 +GC ms +GC p99/);
    assert.match(
      stderr,
      /a deterministic sample to stay within the time budget: spam_dev \(200 of 646, seed 1\)/,
    );
    assert.match(
      stdout,
      /spam-encoder:int8 is (more|less) accurate than lm-base:q8_0 by [+−][\d.]+ \(95% CI [+−][\d.]+ … [+−][\d.]+, McNemar p [<=] [\d.]+\) at [\d.]+x the items\/s and [\d.]+x the peak memory/,
    );
    assert.match(stdout, /lm-base:q8_0 is [\d.]+x (faster|slower) than lm-base:f16/);
    assert.match(stdout, /spam-encoder:int8 is [\d.]+x (faster|slower) than spam-encoder:fp32 .* accuracy/);
    const report = JSON.parse(readFileSync(join(cwd, "infergate-report/report.json"), "utf8"));
    assert.equal(report.schema, "infergate.report/1");
    assert.deepEqual(
      report.targets.map((target: { target: string }) => target.target),
      [
        "lm-base:f16",
        "lm-base:q8_0",
        "lm-base:q4_0",
        "lm-small:q8_0",
        "spam-encoder:fp32",
        "spam-encoder:fp16",
        "spam-encoder:int8",
        "lm-base:q8_0",
        "lm-small:q8_0",
        "spam-encoder:int8",
        "ner-encoder:fp32",
        "ner-encoder:fp16",
        "ner-encoder:int8",
        "lm-base:q8_0",
      ],
    );
    for (const target of report.targets) {
      for (const key of ["ttft_ms", "itl_ms", "e2e_ms"]) {
        assert.deepEqual(Object.keys(target.metrics[key]).sort(), [
          "count",
          "max",
          "mean",
          "p50",
          "p90",
          "p95",
          "p99",
        ]);
      }
      assert.equal(target.metrics.error_rate, 0);
      assert.ok(target.metrics.peak_rss_bytes_per_request > 50e6, "peak memory per request measured");
      // The later sections reuse models whose cold start the first sections measured; a tagger's is taken once.
      const tagging = target.workload.includes("ner_test");
      if (target.workload.includes("200 of") || (tagging && target.target.startsWith("lm-")))
        assert.equal(target.metrics.cold_start, undefined);
      else {
        assert.equal(target.metrics.cold_start.length, tagging ? 1 : 3);
        assert.ok(target.metrics.cold_start_ms.p50 >= target.metrics.cold_start[0].loaded_ms / 2);
      }
      assert.ok(target.metrics.requests_per_s > 0);
      // The collector's pauses in the measuring process, beside the latencies.
      const gc = target.metrics.gc_pauses;
      assert.ok(gc.total_ms >= gc.max_ms && gc.max_ms >= gc.p99_ms && gc.p99_ms >= 0, JSON.stringify(gc));
      if (target.task === "tag") {
        const entities = target.metrics.entities;
        assert.ok(entities.f1_95.low <= entities.strict.f1 && entities.strict.f1 <= entities.f1_95.high);
        assert.ok(entities.partial.f1 >= entities.strict.f1);
        assert.deepEqual(Object.keys(entities.per_type).sort(), ["DATE", "LOC", "MONEY", "ORG", "PER"]);
        if (target.target.startsWith("ner-")) assert.ok(entities.strict.f1 > 0.25, target.target);
      } else if (target.task === "generate") {
        assert.ok(target.metrics.output_tokens_per_s > 0);
        assert.ok(target.metrics.perplexity.perplexity > 10 && target.metrics.perplexity.tokens === 3069);
      } else if (target.target.startsWith("spam-encoder"))
        assert.ok(target.metrics.accuracy.accuracy >= 0.97);
      else {
        assert.equal(target.metrics.accuracy.scoring, "loglik");
        assert.equal(target.metrics.accuracy.total, 200);
        assert.ok(target.metrics.calibration.ece >= 0);
      }
    }
    assert.equal(report.verdicts.length, 10);
    const headline = report.comparisons.filter((c: { workload: string }) =>
      c.workload.includes("200 of 646"),
    );
    assert.equal(headline.length, 2);
    for (const comparison of headline) {
      assert.ok(
        comparison.mcnemar.p_value >= 0 &&
          comparison.bootstrap.accuracy.low <= comparison.bootstrap.accuracy.high,
      );
    }
    const tagging = report.comparisons.filter((c: { workload: string }) => c.workload.includes("ner_test"));
    assert.deepEqual(
      tagging.map((c: { target: string; baseline: string }) => `${c.target} vs ${c.baseline}`),
      [
        "ner-encoder:fp16 vs ner-encoder:fp32",
        "ner-encoder:int8 vs ner-encoder:fp32",
        "lm-base:q8_0 vs ner-encoder:fp32",
      ],
    );
    for (const comparison of tagging)
      assert.ok(comparison.bootstrap.entity_f1.low <= comparison.bootstrap.entity_f1.high);
    const items = readFileSync(join(cwd, "infergate-report/items.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    assert.equal(
      items.filter((item) => item.target === "lm-base:q8_0" && item.workload.includes("200 of")).length,
      200,
    );
    assert.deepEqual(Object.keys(items[0]).slice(0, 6), [
      "target",
      "workload",
      "index",
      "preview",
      "gold",
      "parsed",
    ]);
    assert.match(readFileSync(join(cwd, "infergate-report/report.md"), "utf8"), /\| lm-small:q8_0 \|/);
    await checkHtmlReport(join(cwd, "infergate-report"));
  });

  test("an LLM and a specialist on the same labelled items: one table, paired statistics, one verdict", () => {
    const cwd = mkdtempSync(join(tmpdir(), "infergate-quality-"));
    // 40 ham and 40 spam emails of spam_dev, so the test runs in seconds; the command is the one a user types.
    const lines = readFileSync(join(repoRoot, "data/spam_dev.jsonl"), "utf8").trim().split("\n");
    const of = (label: string) => lines.filter((line) => JSON.parse(line).label === label).slice(0, 40);
    writeFileSync(join(cwd, "spam80.jsonl"), `${[...of("ham"), ...of("spam")].join("\n")}\n`);
    const args = [
      "compare",
      "--target",
      "lm-base:q8_0",
      "--target",
      "spam-encoder:int8",
      "--dataset",
      "spam80.jsonl",
    ];
    const { code, stdout, stderr } = infergate(
      [...args, "--max-input-tokens", "128", "--cold-starts", "0", "--memory-samples", "2"],
      cwd,
    );
    assert.equal(code, 0, stderr);
    const tables = stdout.split("\n\n").filter((block) => block.startsWith("classify — "));
    assert.equal(tables.length, 1, stdout);
    assert.match(tables[0] ?? "", /lm-base:q8_0 .* loglik .*\nspam-encoder:int8 .* classifier/);
    assert.match(stdout, /spam-encoder:int8 is (more|less) accurate than lm-base:q8_0 by .*McNemar p/);
    const report = JSON.parse(readFileSync(join(cwd, "infergate-report/report.json"), "utf8"));
    const [llm, encoder] = report.targets;
    for (const target of [llm, encoder]) {
      assert.equal(target.task, "classify");
      assert.equal(target.metrics.accuracy.total, 80);
      assert.ok(target.metrics.accuracy.wilson_95.low <= target.metrics.accuracy.accuracy);
      assert.ok(target.metrics.calibration.brier >= 0);
      assert.ok(target.metrics.cpu_s_per_1k_items > 0);
    }
    const [comparison] = report.comparisons;
    assert.equal(comparison.target, "spam-encoder:int8");
    assert.ok(["exact", "chi_squared"].includes(comparison.mcnemar.method));
    assert.ok(comparison.bootstrap.accuracy.low <= comparison.bootstrap.accuracy.high);
    assert.ok(comparison.bootstrap.macro_f1);
  });

  test("bad quality input: one clear error, exit 2", () => {
    const cwd = mkdtempSync(join(tmpdir(), "infergate-bad-quality-"));
    writeFileSync(
      join(cwd, "mixed.jsonl"),
      '{"text":"a","label":"x"}\n{"text":"b","label":"y"}\n{"text":"c"}\n',
    );
    writeFileSync(join(cwd, "one.jsonl"), '{"text":"a","label":"x"}\n{"text":"b","label":"x"}\n');
    writeFileSync(join(cwd, "two.jsonl"), '{"text":"a","label":"x"}\n{"text":"b","label":"y"}\n');
    writeFileSync(join(cwd, "refs.jsonl"), '{"text":"a","reference":"x"}\n');
    writeFileSync(join(cwd, "template.txt"), "Label this:");
    writeFileSync(join(cwd, "schema.json"), '{"type": 12}');
    const cases: [string[], RegExp][] = [
      [
        ["--dataset", "mixed.jsonl"],
        /mixed\.jsonl:3: has no label, reference or entities, but the first row has a label/,
      ],
      [
        ["--dataset", "one.jsonl"],
        /every row has the label 'x'; a classification workload needs two classes/,
      ],
      [["--dataset", "two.jsonl", "--prompt-template", "template.txt"], /needs \{text\}/],
      [["--dataset", "refs.jsonl", "--metrics", "bleu"], /--metrics: unknown bleu; known: exact_match/],
      [["--dataset", "refs.jsonl", "--schema", "schema.json"], /schema\.json: not a JSON Schema/],
    ];
    for (const [extra, message] of cases) {
      const { code, stderr } = infergate(
        ["compare", "--target", "lm-small", "--cold-starts", "0", ...extra],
        cwd,
      );
      assert.equal(code, 2, `${extra.join(" ")}: ${stderr}`);
      assert.match(stderr, message);
      assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
    }
  });

  test("bench --json on one model, open loop, with SLOs", () => {
    const cwd = mkdtempSync(join(tmpdir(), "infergate-bench-"));
    const args = [
      "bench",
      "--target",
      "lm-small",
      "--rate",
      "40",
      "--requests",
      "12",
      "--max-tokens",
      "8",
      "--slo",
      "ttft_ms=5000",
      "--json",
    ];
    const { code, stdout, stderr } = infergate(args, cwd);
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    const [target] = report.targets;
    assert.equal(target.target, "lm-small:q8_0");
    assert.equal(target.metrics.requests, 12);
    assert.ok(target.metrics.corrected.e2e_ms.p50 >= target.metrics.e2e_ms.p50 - 1);
    assert.equal(target.metrics.goodput.good_fraction, 1);
    assert.deepEqual(report.load.strategy, { kind: "constant", rate: 40 });
  });

  test("bench --sweep runs each concurrency and names the knee; the HTML report charts it", () => {
    const cwd = mkdtempSync(join(tmpdir(), "infergate-sweep-"));
    const args = [
      "bench",
      "--target",
      "lm-small",
      "--sweep",
      "concurrency=1,2,4",
      "--requests",
      "8",
      "--max-tokens",
      "16",
    ];
    const { code, stdout, stderr } = infergate([...args, "--json", "--out", "out"], cwd);
    assert.equal(code, 0, stderr);
    const { sweep } = JSON.parse(stdout).targets[0];
    assert.equal(sweep.parameter, "concurrency");
    assert.deepEqual(
      sweep.points.map((point: { value: number }) => point.value),
      [1, 2, 4],
    );
    for (const point of sweep.points) assert.ok(point.output_tokens_per_s > 0);
    assert.ok([1, 2, 4].includes(sweep.knee.value));
    assert.match(readFileSync(join(cwd, "out/index.html"), "utf8"), /throughput vs /);
    assert.match(
      readFileSync(join(cwd, "out/report.md"), "utf8"),
      /## Sweeps\n\n- lm-small:q8_0 output tokens per s by concurrency — 1: \d+, 2: \d+, 4: \d+; knee at concurrency [124]/,
    );
  });

  test("batch sweeps: texts per encoder request, and llama.cpp parallel sequences", () => {
    const cwd = mkdtempSync(join(tmpdir(), "infergate-batch-"));
    const encoder = infergate(
      ["bench", "--target", "spam-encoder:int8", "--sweep", "batch=1,8,32", "--requests", "64", "--json"],
      cwd,
    );
    assert.equal(encoder.code, 0, encoder.stderr);
    const { sweep } = JSON.parse(encoder.stdout).targets[0];
    assert.equal(sweep.parameter, "batch");
    // 64 texts at every point: 64 requests of 1, 8 requests of 8, 2 requests of 32. (Whether batching pays is
    // what the sweep is for: on this CPU, padding emails to the longest of a batch can cost more than it saves.)
    for (const point of sweep.points) {
      assert.ok(point.items_per_s > 0);
      assert.ok(Math.abs(point.items_per_s - point.requests_per_s * point.value) < 1e-6);
    }
    assert.ok([1, 8, 32].includes(sweep.knee.value));
    const lm = infergate(
      [
        "bench",
        "--target",
        "lm-small",
        "--sweep",
        "batch=1,4",
        "--requests",
        "8",
        "--max-tokens",
        "16",
        "--json",
      ],
      cwd,
    );
    assert.equal(lm.code, 0, lm.stderr);
    const points = JSON.parse(lm.stdout).targets[0].sweep.points;
    assert.deepEqual(
      points.map((point: { value: number }) => point.value),
      [1, 4],
    );
    for (const point of points) assert.ok(point.output_tokens_per_s > 0 && point.error_rate === 0);
  });

  test("bad flags fail with one line and exit 2", () => {
    const cwd = mkdtempSync(join(tmpdir(), "infergate-bench-"));
    for (const [args, message] of [
      [
        ["bench", "--target", "lm-small", "--rate", "5", "--concurrency", "2"],
        /--concurrency or --rate, not both/,
      ],
      [["bench", "--target", "lm-small", "--target", "lm-base"], /bench measures one --target/],
      [["bench", "--target", "http://127.0.0.1:9/v1"], /name its model with --model/],
      [["bench", "--target", "lm-small", "--slo", "ttft=5"], /--slo: expected ttft_ms=N/],
      [["bench", "--target", "lm-small", "--sweep", "size=1,2"], /--sweep: expected concurrency=1,2,4/],
      [
        ["bench", "--target", "lm-small", "--dataset", "missing.jsonl"],
        /cannot read dataset missing\.jsonl: ENOENT/,
      ],
    ] as const) {
      const { code, stderr } = infergate([...args], cwd);
      assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
      assert.match(stderr, message);
    }
  });
});

/** Opens the HTML report offline in Chromium: every chart must have drawn, and a screenshot is kept. */
async function checkHtmlReport(dir: string): Promise<void> {
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const requests: string[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith("file:")) requests.push(request.url());
    });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(pathToFileURL(join(dir, "index.html")).href);
    await page.waitForFunction(
      () => (globalThis as { __infergateCharts?: number }).__infergateCharts !== undefined,
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [], "the report needs no network");
    const painted = await page.$$eval("canvas", (elements) =>
      (elements as unknown as PageCanvas[]).map((canvas) => {
        const pixels = canvas.getContext("2d")?.getImageData(0, 0, canvas.width, canvas.height).data ?? [];
        let drawn = 0;
        for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) drawn++;
        return { chart: canvas.dataset.chart, drawn };
      }),
    );
    // generate: E2E CDF, TTFT CDF, throughput, memory; each classification group (the encoders on spam_dev, the
    // LLMs beside the encoder on the sample): E2E CDF, throughput, memory, accuracy vs size, accuracy vs
    // throughput with the Pareto frontier, accuracy by input length; tagging: E2E CDF, throughput, memory,
    // entity F1 by input length.
    assert.equal(painted.length, 20, JSON.stringify(painted.map(({ chart }) => chart)));
    assert.ok(
      painted.some(({ chart }) => chart?.includes("ner_test (120 of 600, seed 1): entity F1 (strict")),
    );
    assert.ok(
      painted.some(({ chart }) =>
        chart?.includes("(200 of 646, seed 1): accuracy vs throughput (Pareto frontier)"),
      ),
    );
    assert.ok(painted.some(({ chart }) => chart?.includes("accuracy by input length")));
    const captions = await page.$$eval("caption", (elements) =>
      elements.map((element) => element.textContent ?? ""),
    );
    assert.ok(
      captions.some((caption) =>
        /^lm-base:q8_0 on spam_dev \(200 of 646, seed 1\) \(rows: gold/.test(caption),
      ),
      captions.join("\n"),
    );
    assert.ok(
      captions.some((caption) =>
        /^spam-encoder:int8 vs lm-base:q8_0 on .*: \d+ items answered differently/.test(caption),
      ),
    );
    for (const { chart, drawn } of painted) assert.ok(drawn > 5000, `${chart}: ${drawn} pixels drawn`);
    const screenshot = await page.screenshot({ path: join(dir, "screenshot.png"), fullPage: true });
    assert.equal(screenshot.subarray(1, 4).toString(), "PNG");
    assert.ok(screenshot.length > 50_000, `screenshot is ${screenshot.length} bytes`);
  } finally {
    await browser.close();
  }
}

/** The little of a browser canvas the check uses (the tests compile without DOM types). */
interface PageCanvas {
  width: number;
  height: number;
  dataset: Record<string, string | undefined>;
  getContext(
    kind: "2d",
  ): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}
