import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { type RunningGateway, startEncoderGatewayFromFile } from "./gateway-harness.js";

interface SseEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** Reads a job's event stream to its end (or until `stopAfter` events), as an EventSource would. */
async function readEvents(
  url: string,
  headers: Record<string, string> = {},
  stopAfter = Number.POSITIVE_INFINITY,
) {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  assert.equal(response.status, 200);
  const events: SseEvent[] = [];
  let buffer = "";
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end !== -1) {
        const fields = Object.fromEntries(
          buffer
            .slice(0, end)
            .split("\n")
            .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]),
        );
        // A block without data (the stream's `retry:` hint) dispatches no event.
        if (fields.data !== undefined)
          events.push({ id: Number(fields.id), event: fields.event ?? "", data: JSON.parse(fields.data) });
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf("\n\n");
      }
      if (events.length >= stopAfter) {
        controller.abort();
        break;
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
  return events;
}

describe("runs started from the dashboard: queued one at a time in a child process, watched over SSE", () => {
  let running: RunningGateway;
  before(async () => {
    running = await startEncoderGatewayFromFile();
  });
  after(() => running.close());

  const post = async (body: unknown) => {
    const response = await fetch(`${running.url}/ui/api/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  test("a bench runs to its end: progress before the end, then done with the run, which the history holds", async () => {
    const submitted = await post({ kind: "bench", targets: ["spam-encoder"], requests: 150, concurrency: 2 });
    assert.equal(submitted.status, 202);
    const id = submitted.body.id as string;
    const events = await readEvents(`${running.url}/ui/api/jobs/${id}/events`);
    assert.equal(events[0]?.event, "snapshot");
    const progress = events.filter((event) => event.event === "progress");
    const final = events.at(-1);
    assert.ok(progress.length >= 1, "at least one progress update");
    const before = progress.find((event) => ((event.data.targets as { done: number }[])[0]?.done ?? 0) < 150);
    assert.ok(before, "a progress update before the last request");
    assert.equal(final?.event, "status");
    assert.equal(final?.data.status, "done", JSON.stringify(final?.data));
    const last = progress.at(-1)?.data.targets as
      | { done: number; total: number; e2e_p95_ms: number }[]
      | undefined;
    const figures = last?.[0];
    assert.equal(figures?.done, 150);
    assert.ok((figures?.e2e_p95_ms ?? 0) > 0);
    for (let i = 1; i < events.length; i++)
      assert.ok((events[i]?.id ?? 0) > (events[i - 1]?.id ?? 0), "ids increase");
    const runs = (await (await fetch(`${running.url}/ui/api/runs`)).json()) as {
      data: { id: string; source: string }[];
    };
    assert.deepEqual(
      runs.data.map((run) => [run.id, run.source]),
      [[final?.data.run, "ui"]],
    );

    // A client that reconnects gets only what it missed; one that missed too much (or never saw any) a snapshot.
    const resumed = await readEvents(`${running.url}/ui/api/jobs/${id}/events`, {
      "last-event-id": String((final?.id ?? 0) - 1),
    });
    assert.deepEqual(
      resumed.map((event) => [event.id, event.event]),
      [[final?.id, "status"]],
    );
    const fresh = await readEvents(`${running.url}/ui/api/jobs/${id}/events`);
    assert.deepEqual(
      fresh.map((event) => event.event),
      ["snapshot"],
    );
    assert.equal(fresh[0]?.data.status, "done");
    assert.equal(((fresh[0]?.data.points as unknown[]) ?? []).length, 150, "the scatter's points");
  });

  test("a stream cut mid-run and resumed from its last event id misses nothing", async () => {
    const submitted = await post({ kind: "bench", targets: ["spam-encoder"], requests: 200, concurrency: 1 });
    const id = submitted.body.id as string;
    const first = await readEvents(`${running.url}/ui/api/jobs/${id}/events`, {}, 2);
    const rest = await readEvents(`${running.url}/ui/api/jobs/${id}/events`, {
      "last-event-id": String(first.at(-1)?.id),
    });
    const ids = [...first, ...rest].map((event) => event.id);
    assert.deepEqual(
      ids.slice(1),
      Array.from({ length: ids.length - 1 }, (_, i) => (ids[1] ?? 0) + i),
      "no gap",
    );
    assert.equal(rest.at(-1)?.data.status, "done");
  });

  test("an uploaded workload is what the run measures, and the upload is gone once the run has ended", async () => {
    const rows = ["win a free prize now", "lunch at noon?", "claim your reward", "minutes of the meeting"];
    const jsonl = rows.map((text, i) => JSON.stringify({ text, label: i % 2 ? "ham" : "spam" })).join("\n");
    const submitted = await post({ kind: "bench", targets: ["spam-encoder"], dataset: { jsonl } });
    assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
    const dataset = (submitted.body.spec as { dataset: string }).dataset;
    assert.ok(existsSync(dataset));
    const events = await readEvents(`${running.url}/ui/api/jobs/${submitted.body.id}/events`);
    const final = events.at(-1)?.data as { status: string; run: string };
    assert.equal(final.status, "done");
    assert.equal(existsSync(dataset), false);
    const run = (await (await fetch(`${running.url}/ui/api/runs/${final.run}`)).json()) as {
      runs: { items: { preview: string }[] }[];
    };
    assert.deepEqual(
      run.runs[0]?.items.map((item) => item.preview),
      rows,
    );
  });

  test("the load, objectives and sweep a run is given are the CLI's: open loop, goodput, and one row per sweep point", async () => {
    const submitted = await post({
      kind: "bench",
      targets: ["spam-encoder"],
      requests: 40,
      rate: 200,
      slo: { e2e_ms: 5000 },
      sweep: { parameter: "concurrency", values: [1, 2] },
    });
    assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
    const events = await readEvents(`${running.url}/ui/api/jobs/${submitted.body.id}/events`);
    const final = events.at(-1);
    assert.equal(final?.data.status, "done", JSON.stringify(final?.data));
    const rows = (events.filter((event) => event.event === "progress").at(-1)?.data.targets ?? []) as {
      target: string;
      done: number;
      total: number;
    }[];
    assert.deepEqual(
      rows.map((row) => [row.target, row.done, row.total]),
      [
        ["spam-encoder:int8", 40, 40],
        ["spam-encoder:int8 at concurrency=1", 40, 40],
        ["spam-encoder:int8 at concurrency=2", 40, 40],
      ],
    );
    const run = (await (await fetch(`${running.url}/ui/api/runs/${final?.data.run}`)).json()) as {
      report: {
        load: { strategy: { kind: string; rate: number } };
        targets: { metrics: { goodput?: { slo: unknown } }; sweep?: { points: { value: number }[] } }[];
      };
    };
    assert.deepEqual(run.report.load.strategy, { kind: "constant", rate: 200 });
    assert.deepEqual(run.report.targets[0]?.metrics.goodput?.slo, { e2e_ms: 5000 });
    assert.deepEqual(
      run.report.targets[0]?.sweep?.points.map((point) => point.value),
      [1, 2],
    );
  });

  test("a run can be cancelled", async () => {
    const submitted = await post({ kind: "bench", targets: ["spam-encoder"], requests: 100_000 });
    const id = submitted.body.id as string;
    await readEvents(`${running.url}/ui/api/jobs/${id}/events`, {}, 2);
    const cancelled = await fetch(`${running.url}/ui/api/jobs/${id}/cancel`, { method: "POST" });
    assert.equal(cancelled.status, 200);
    const events = await readEvents(`${running.url}/ui/api/jobs/${id}/events`);
    assert.equal(events.at(-1)?.data.status, "cancelled");
  });

  test("bad requests: an unknown target, a bad uploaded row, two targets for bench — each a 400 naming it", async () => {
    for (const [body, message] of [
      [{ kind: "compare", targets: ["nope"] }, /targets\[0\]: no model "nope"/],
      [
        { kind: "bench", targets: ["spam-encoder"], dataset: { jsonl: '{"text": "hi"}\nnot json\n' } },
        /^dataset line 2: not valid JSON/,
      ],
      [{ kind: "bench", targets: ["spam-encoder", "spam-encoder:int8"] }, /bench measures one target/],
      [{ kind: "sweep", targets: ["spam-encoder"] }, /kind/],
      [
        { kind: "bench", targets: ["spam-encoder"], concurrency: 2, rate: 5 },
        /concurrency or rate, not both/,
      ],
      [
        { kind: "bench", targets: ["spam-encoder"], sweep: { parameter: "rate", values: [5] } },
        /sweep\.values/,
      ],
    ] as const) {
      const { status, body: answer } = await post(body);
      assert.equal(status, 400, JSON.stringify(body));
      assert.match((answer.error as { message: string }).message, message);
    }
    // An upload is bounded like any body (server.max_body_bytes, 1 MiB here).
    const row = `${JSON.stringify({ text: "x".repeat(1000), label: "ham" })}\n`;
    const large = await post({
      kind: "bench",
      targets: ["spam-encoder"],
      dataset: { jsonl: row.repeat(1100) },
    });
    assert.equal(large.status, 413);
  });
});
