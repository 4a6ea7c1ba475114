import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { BatchedDestination, type FlushableStream } from "../../src/telemetry/batched-destination.js";

function recordingStream(): FlushableStream & { writes: string[]; flushes: number } {
  return {
    writes: [],
    flushes: 0,
    write(text: string) {
      this.writes.push(text);
    },
    flush(callback) {
      this.flushes++;
      callback?.();
    },
    flushSync() {
      this.flushes++;
    },
  };
}

test("lines written within the gathering time reach the stream as one write, in order", async () => {
  const stream = recordingStream();
  const destination = new BatchedDestination(stream, 30);
  for (const line of ["a\n", "b\n"]) destination.write(line);
  await nextTurn();
  destination.write("c\n");
  assert.deepEqual(stream.writes, []);
  await sleep(60);
  destination.write("d\n");
  await sleep(60);
  assert.deepEqual(stream.writes, ["a\nb\nc\n", "d\n"]);
});

test("a burst of lines is handed on without waiting for the timer", () => {
  const stream = recordingStream();
  const destination = new BatchedDestination(stream, 60_000);
  for (let i = 0; i < 1024; i++) destination.write(`${i}\n`);
  assert.equal(stream.writes.length, 1);
  destination.flushSync();
});

test("flush and flushSync hand the gathered lines on before flushing the stream", () => {
  const stream = recordingStream();
  const destination = new BatchedDestination(stream);
  destination.write("a\n");
  destination.flush();
  destination.write("b\n");
  destination.flushSync();
  assert.deepEqual(stream.writes, ["a\n", "b\n"]);
  assert.equal(stream.flushes, 2);
});

test("lines logged just before the process exits are not lost", () => {
  const file = join(mkdtempSync(join(tmpdir(), "infergate-log-")), "out.log");
  const module = new URL("../../src/telemetry/batched-destination.ts", import.meta.url).pathname;
  const script = `
    import { openSync } from "node:fs";
    import { destination } from "pino";
    import { BatchedDestination } from ${JSON.stringify(module)};
    const out = new BatchedDestination(destination({ dest: openSync(${JSON.stringify(file)}, "w"), sync: false, minLength: 4096 }));
    for (let i = 0; i < 1000; i++) out.write("line " + i + "\\n");
    process.exit(0);`;
  execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
  const lines = readFileSync(file, "utf8").trim().split("\n");
  assert.equal(lines.length, 1000);
  assert.equal(lines.at(-1), "line 999");
});
