import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { TargetReport } from "../../src/bench/run-benchmark.js";
import { RunStore } from "../../src/store/run-store.js";
import { eventually } from "../helpers.js";
import { launchBrowser } from "../support/browser.js";
import { type MockUpstream, startMockUpstream } from "../support/mock-upstream.js";
import { storedReport, storedTarget } from "../support/stored-runs.js";
import { API_KEY, type RunningGateway, startGateway } from "./gateway-harness.js";

/** Screenshots of each view land here (the path is printed), for a person to look at. */
const shots = mkdtempSync(join(tmpdir(), "infergate-ui-shots-"));

describe("the dashboard page (Chromium)", () => {
  let upstream: MockUpstream;
  let running: RunningGateway;
  let browser: Browser;
  let page: Page;
  let comparison: string;
  const errors: string[] = [];
  const offOrigin: string[] = [];
  before(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "infergate-ui-page-"));
    const store = RunStore.open(dataDir);
    const first = storedTarget({ right: 20, latencyMs: 10 });
    const second = storedTarget({ right: 36, latencyMs: 30 });
    store.save("bench", "cli", storedReport("2026-12-01T10:00:00.000Z", [first], ["the older run"]), [first]);
    store.save("bench", "cli", storedReport("2026-12-01T11:00:00.000Z", [second], ["the newer run"]), [
      second,
    ]);
    comparison = store.save("compare", "cli", comparedReport(), comparedTargets());
    store.close();
    upstream = await startMockUpstream();
    running = await startGateway({
      raw: {
        models: [
          { id: "up", task: "generate", engine: "openai", base_url: upstream.url, upstream_model: "mock" },
        ],
        ui: { data_dir: dataDir },
      },
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("request", (request) => {
      if (!request.url().startsWith(running.url)) offOrigin.push(request.url());
    });
  });
  after(async () => {
    await browser?.close();
    await running?.close();
    await upstream?.close();
    process.stdout.write(`# dashboard screenshots: ${shots}\n`);
  });

  test("live: the tiles and the per-model table move while requests go through the gateway", async () => {
    await page.goto(`${running.url}/ui#/live`);
    await page.getByRole("heading", { name: "Live gateway" }).waitFor();
    assert.equal(await page.locator('[data-tile="requests/s"] .value').textContent(), "0.0");
    const sending = (async () => {
      for (let i = 0; i < 60; i++) {
        const response = await fetch(`${running.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
          body: JSON.stringify({ model: "up", messages: [{ role: "user", content: `hi ${i}` }] }),
        });
        await response.arrayBuffer();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    assert.ok(
      await eventually(
        async () => Number(await page.locator('[data-tile="requests/s"] .value').textContent()) > 0,
        15_000,
      ),
      "the requests/s tile moved",
    );
    await sending;
    const row = page.getByRole("row").filter({ hasText: /^up/ });
    assert.ok(await eventually(async () => (await row.count()) === 1, 10_000), "the model's row");
    assert.match((await row.textContent()) ?? "", /up/);
    assert.equal(
      await page.getByRole("img", { name: /Requests per second/ }).count(),
      1,
      "the chart has a name",
    );
    await page.screenshot({ path: join(shots, "live.png"), fullPage: true });
  });

  test("runs: history lists the stored runs; two ticked open their diff; a run opens its leaderboard", async () => {
    await page.goto(`${running.url}/ui#/runs`);
    await page.getByRole("heading", { name: "Runs" }).waitFor();
    const boxes = page.getByRole("checkbox");
    assert.equal(await boxes.count(), 3);
    await page.screenshot({ path: join(shots, "runs.png"), fullPage: true });
    // Keyboard only: tick the older run, then the newer one, then follow the diff link.
    await boxes.nth(2).focus();
    await page.keyboard.press("Space");
    await boxes.nth(1).focus();
    await page.keyboard.press("Space");
    await page.getByRole("link", { name: "Diff the two runs ticked" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Diff" }).waitFor();
    const diffRow = page.getByRole("row").filter({ hasText: "spam-encoder:int8 on spam_dev" });
    assert.match((await diffRow.textContent()) ?? "", /\+0\.400/);
    assert.match(page.url(), /#\/diff\/run-[0-9a-z]+\/run-[0-9a-z]+$/, "the URL holds the view");
    await page.screenshot({ path: join(shots, "diff.png"), fullPage: true });
    await page.getByRole("link").filter({ hasText: /^run-/ }).first().click();
    await page.getByRole("heading", { name: /^Run run-/ }).waitFor();
    const leaderboard = page.getByRole("table", { name: /leaderboard/ });
    assert.match((await leaderboard.textContent()) ?? "", /spam-encoder:int8.*0\.(500|900)/);
    // The outputs matrix: every item, then only those the target got wrong.
    assert.match((await page.getByRole("table", { name: "40 items (all)" }).textContent()) ?? "", /mail 39/);
    await page.screenshot({ path: join(shots, "run.png"), fullPage: true });
    await page.getByRole("link", { name: "wrong", exact: true }).click();
    await page.getByRole("table", { name: /items \(wrong\)/ }).waitFor();
    assert.match(page.url(), /#\/runs\/run-[0-9a-z]+\/wrong$/, "the URL holds the filter");
  });

  test("a run: leaderboard coloured by the objectives, the trade-off scatter's frontier, a point opens its target", async () => {
    await page.goto(`${running.url}/ui#/runs/${comparison}?quality=0.8`);
    const leaderboard = page.getByRole("table", { name: /leaderboard/ });
    await leaderboard.waitFor();
    assert.equal(await page.getByRole("region", { name: "target details" }).count(), 0, "none opened yet");
    const qualityCell = (target: string) =>
      leaderboard.getByRole("row").filter({ hasText: target }).locator("td").nth(2);
    assert.match(
      (await qualityCell("quick").textContent()) ?? "",
      /^0\.500 \(0\.\d{3}–0\.\d{3}\)$/,
      "with its CI",
    );
    assert.equal(await qualityCell("quick").getAttribute("class"), "bad", "below the quality floor");
    assert.equal(await qualityCell("careful").getAttribute("class"), "good");
    const e2eP99 = leaderboard.getByRole("row").filter({ hasText: "careful" }).locator("td.bad");
    assert.equal(await e2eP99.count(), 1, "careful misses the run's own E2E objective (its SLO of 50 ms)");
    assert.match((await leaderboard.textContent()) ?? "", /\$\/1k items/, "cost columns");

    // The scatter's table view says who is on the frontier: quick and careful; costly is beaten by careful.
    // A chart's figures are in a table behind "as a table" (a closed <details>, hidden until opened).
    const asTable = (name: RegExp) => page.locator("summary").filter({ hasText: name }).click();
    await asTable(/Pareto frontier marked: as a table/);
    const frontier = page.getByRole("table", { name: /Pareto frontier marked/ });
    const onFrontier = async (target: string) =>
      (await frontier.getByRole("row").filter({ hasText: target }).locator("td").last().textContent()) ?? "";
    assert.equal(await onFrontier("quick"), "yes");
    assert.equal(await onFrontier("careful"), "yes");
    assert.equal(await onFrontier("costly"), "no");
    await page.screenshot({ path: join(shots, "run-tradeoffs.png"), fullPage: true });
    await page.getByRole("combobox", { name: "x" }).selectOption("cost_items");
    assert.match(page.url(), /[?&]x=cost_items/, "the URL holds the axes");
    assert.match(page.url(), /[?&]quality=0\.8/);
    // Quality against cost: quick is cheapest and careful cheaper than costly, which stays off.
    await asTable(/Pareto frontier marked: as a table/);
    assert.equal(await onFrontier("costly"), "no");

    // A point opens its target's details (the URL says which).
    const canvas = page.locator('[data-chart="tradeoffs"] canvas');
    const box = await canvas.boundingBox();
    const at = await canvas.evaluate((node) => {
      const { Chart } = globalThis as unknown as {
        Chart: {
          getChart(node: unknown): { getDatasetMeta(i: number): { data: { x: number; y: number }[] } };
        };
      };
      const { x, y } = Chart.getChart(node).getDatasetMeta(1).data[0] ?? { x: 0, y: 0 };
      return { x, y };
    });
    const point = { x: (box?.x ?? 0) + at.x, y: (box?.y ?? 0) + at.y };
    await page.mouse.click(point.x, point.y);
    await page.getByRole("heading", { name: "careful on spam_dev" }).waitFor();
    assert.match(page.url(), /[?&]target=1/);
    assert.match(
      (await page.getByRole("table", { name: "latency distributions (ms)" }).textContent()) ?? "",
      /E2E/,
    );
    await page.screenshot({ path: join(shots, "run-target.png"), fullPage: true });
  });

  test("a run's sweep: curves with the knee, a slider that says who meets the objectives there; latency histograms", async () => {
    await page.goto(`${running.url}/ui#/runs/${comparison}`);
    const verdict = page.locator("[data-sweep-verdict]");
    // Only the hash changed, so the page renders the run again in place: until it has, the last test's view (its
    // quality floor of 0.8, which quick misses) is still showing. Wait for the verdict without that floor.
    const noFloor = "At concurrency 1, quick, careful meet the objectives.";
    await verdict.filter({ hasText: noFloor }).waitFor();
    assert.equal(await verdict.textContent(), noFloor);
    const slider = page.getByRole("slider", { name: "Choose concurrency" });
    await slider.focus();
    await page.keyboard.press("End");
    assert.equal(await verdict.textContent(), "At concurrency 4, quick meets the objectives.");
    assert.match(page.url(), /[?&]at=4/, "the URL holds the value");
    const asTable = (name: RegExp) => page.locator("summary").filter({ hasText: name }).click();
    await asTable(/^Throughput by concurrency/);
    assert.match(
      (await page.getByRole("table", { name: /Throughput by concurrency/ }).textContent()) ?? "",
      /\(knee\)/,
    );
    // Objectives typed in the page apply at once: an E2E ceiling no point meets.
    await page.getByRole("spinbutton", { name: "E2E p99 ≤ ms" }).fill("1");
    assert.equal(await verdict.textContent(), "At concurrency 4, no target meets the objectives.");

    await asTable(/^E2E latency: requests per bin/);
    const histogram = page.getByRole("table", { name: /^E2E latency: requests per bin/ });
    const counts = await histogram
      .locator("tbody tr")
      .evaluateAll((rows) =>
        rows.map((row) => [...row.querySelectorAll("td")].slice(1).map((cell) => Number(cell.textContent))),
      );
    assert.deepEqual(
      counts.reduce((sums, row) => sums.map((sum, at) => sum + (row[at] ?? 0)), [0, 0, 0]),
      [40, 40, 40],
      "every request of each target in one bin",
    );
    assert.equal(await page.getByRole("img", { name: /^E2E latency: requests per bin/ }).count(), 1);
    await page.screenshot({ path: join(shots, "run-sweep.png"), fullPage: true });
  });

  test("the page made no request off the gateway and threw nothing", () => {
    assert.deepEqual(offOrigin, []);
    assert.deepEqual(errors, []);
  });
});

/**
 * A compare of three targets: quick (10 ms, cheap, 50% right), careful (60 ms, 90%), costly (as slow as careful,
 * 85%, dearer: beaten by careful on everything); each swept over concurrency 1, 2, 4, with an E2E SLO of 50 ms.
 */
function comparedTargets() {
  const sweep = (e2eP99: number[], knee: number) => ({
    parameter: "concurrency",
    knee: { value: knee, reason: "throughput grows less than 10% from 2 to 4" },
    points: [1, 2, 4].map((value, at) => ({
      value,
      items_per_s: (1000 / (e2eP99[0] ?? 1)) * value,
      requests_per_s: (1000 / (e2eP99[0] ?? 1)) * value,
      output_tokens_per_s: (1000 / (e2eP99[0] ?? 1)) * value,
      ttft_p50_ms: 1,
      ttft_p99_ms: 2,
      e2e_p50_ms: (e2eP99[at] ?? 0) / 2,
      e2e_p99_ms: e2eP99[at],
      error_rate: 0,
    })),
  });
  const target = (
    name: string,
    right: number,
    latencyMs: number,
    costPer1k: number,
    e2eP99: number[],
  ): TargetReport => {
    const stored = storedTarget({ right, latencyMs, target: name });
    return {
      ...stored,
      task: "classify",
      metrics: {
        ...stored.metrics,
        accuracy: {
          accuracy: right / 40,
          wilson_95: { low: right / 40 - 0.1, high: Math.min(1, right / 40 + 0.08) },
        },
        cost_per_1k_items_usd: costPer1k,
      },
      sweep: sweep(e2eP99, 2),
    } as TargetReport;
  };
  return [
    target("quick", 20, 10, 0.01, [12, 20, 30]),
    target("careful", 36, 60, 0.05, [42, 48, 70]),
    target("costly", 34, 60, 0.5, [55, 60, 90]),
  ];
}

function comparedReport() {
  const report = storedReport("2026-12-01T12:00:00.000Z", comparedTargets(), [
    "careful is the most accurate",
  ]);
  return { ...report, load: { ...report.load, slo: { e2e_ms: 50 } } } as typeof report;
}
