import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { eventually } from "../helpers.js";
import { launchBrowser } from "../support/browser.js";
import { type RunningGateway, startEncoderGatewayFromFile } from "./gateway-harness.js";

const shots = mkdtempSync(join(tmpdir(), "infergate-ui-shots-"));

/** A TCP relay in front of the gateway whose connections the test can cut, as a network would. */
async function cuttableRelay(port: number): Promise<{ url: string; cut(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut() {
      const count = sockets.size;
      for (const socket of sockets) socket.destroy();
      return count;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("runs launched from the dashboard page (Chromium)", () => {
  let running: RunningGateway;
  let relay: Awaited<ReturnType<typeof cuttableRelay>>;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  before(async () => {
    running = await startEncoderGatewayFromFile();
    relay = await cuttableRelay(Number(new URL(running.url).port));
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on("pageerror", (error) => errors.push(error.message));
  });
  after(async () => {
    await browser?.close();
    await relay?.close();
    await running?.close();
    process.stdout.write(`# dashboard screenshots: ${shots}\n`);
  });

  /** Fills the form for a bench of spam-encoder and starts it; resolves once the job's page shows. */
  async function launch(requests: number, screenshot?: string, shaped = false) {
    await page.goto(`${relay.url}/ui#/new`);
    await page.getByRole("heading", { name: "New run" }).waitFor();
    await page.getByLabel("bench").check();
    await page.getByLabel("spam-encoder (classify)").check();
    await page.getByLabel("Requests per target").fill(String(requests));
    if (shaped) {
      // Open loop at a rate, an E2E objective, and a sweep over concurrency.
      await page.getByLabel("open loop, rate:").check();
      await page.locator("input[name=rate]").fill("400");
      await page.getByLabel("E2E ≤ ms").fill("5000");
      await page.getByLabel("Vary").selectOption("concurrency");
      await page.getByLabel("at", { exact: true }).fill("1,2");
    }
    if (screenshot) await page.screenshot({ path: join(shots, screenshot), fullPage: true });
    await page.getByRole("button", { name: "Start" }).click();
    await page.getByRole("heading", { name: /^Run job-/ }).waitFor();
  }

  const status = () => page.locator("[data-job-status]").textContent();
  const finished = () =>
    page
      .locator("[data-job-status]")
      .filter({ hasText: /^done$/ })
      .waitFor({ timeout: 120_000 });

  test("launched from the page: live progress before the end; the stream cut mid-run resumes and loses nothing", async () => {
    await launch(2000, "new-run.png");
    // A progress bar part-way: seen before the run ends.
    const bar = page.locator("progress").first();
    assert.ok(
      await eventually(async () => {
        if ((await bar.count()) === 0) return false;
        const done = Number(await bar.getAttribute("value"));
        return done > 0 && done < Number(await bar.getAttribute("max"));
      }, 60_000),
      "a progress update part-way through",
    );
    assert.equal(await status(), "running");
    await page.screenshot({ path: join(shots, "run-in-progress.png"), fullPage: true });
    assert.ok(relay.cut() > 0, "the page's connections were cut mid-run");
    await finished();
    assert.equal(await page.locator("[data-points]").textContent(), "2000 requests plotted");
    assert.match(
      (await page.getByRole("row").filter({ hasText: "spam-encoder" }).textContent()) ?? "",
      /2000\/2000/,
    );
    await page.getByRole("link", { name: /^run-/ }).waitFor();
  });

  test("a second run, open loop with an objective and a sweep: a row per sweep point, then its sweep in the run view", async () => {
    await launch(200, undefined, true);
    await finished();
    for (const value of [1, 2])
      assert.match(
        (await page
          .getByRole("row")
          .filter({ hasText: `spam-encoder:int8 at concurrency=${value}` })
          .textContent()) ?? "",
        /200\/200/,
      );
    await page.getByRole("link", { name: /^run-/ }).click();
    const verdict = page.locator("[data-sweep-verdict]");
    await verdict.waitFor();
    assert.equal(await verdict.textContent(), "At concurrency 1, spam-encoder:int8 meets the objectives.");
    assert.equal(
      await page.getByRole("spinbutton", { name: "E2E p99 ≤ ms" }).inputValue(),
      "5000",
      "the run's SLO",
    );
    // The top of the page: its outputs matrix runs to 200 rows.
    await page.screenshot({
      path: join(shots, "run-measured.png"),
      fullPage: true,
      clip: { x: 0, y: 0, width: 1280, height: 2400 },
    });
  });

  test("both runs in the history and their diff", async () => {
    await page.goto(`${relay.url}/ui#/runs`);
    const boxes = page.getByRole("checkbox");
    await boxes.first().waitFor();
    assert.equal(await boxes.count(), 2);
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await page.getByRole("link", { name: "Diff the two runs ticked" }).click();
    await page.getByRole("heading", { name: "Diff" }).waitFor();
    assert.match((await page.getByRole("table").textContent()) ?? "", /spam-encoder:int8 on spam_dev/);
  });

  test("a bad uploaded row is shown in the page with the CLI's message", async () => {
    await page.goto(`${relay.url}/ui#/new`);
    await page.getByLabel("spam-encoder (classify)").check();
    await page.getByLabel(/Workload/).setInputFiles({
      name: "bad.jsonl",
      mimeType: "application/jsonl",
      buffer: Buffer.from('{"text": "hi"}\n{oops\n'),
    });
    await page.getByRole("button", { name: "Start" }).click();
    await page.getByRole("alert").filter({ hasText: "dataset line 2: not valid JSON" }).waitFor();
    assert.deepEqual(errors, []);
  });
});
