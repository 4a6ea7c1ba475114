import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
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
    assert.equal(await boxes.count(), 2);
    await page.screenshot({ path: join(shots, "runs.png"), fullPage: true });
    // Keyboard only: tick the older run, then the newer one, then follow the diff link.
    await boxes.nth(1).focus();
    await page.keyboard.press("Space");
    await boxes.nth(0).focus();
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

  test("the page made no request off the gateway and threw nothing", () => {
    assert.deepEqual(offOrigin, []);
    assert.deepEqual(errors, []);
  });
});
