import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { pino } from "pino";
import { accessLogWriter } from "../../src/telemetry/access-log.js";
import type { RequestEndEvent } from "../../src/telemetry/events.js";
import { createLogger } from "../../src/telemetry/logger.js";

function capture(): { sink: Writable; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { sink, lines };
}

test("the access log writes what pino would, redacted the same way, at the level the status calls for", () => {
  const time = () => ',"time":"2026-12-01T00:00:00.000Z"';
  const ours = capture();
  const write = accessLogWriter(createLogger("info", ours.sink), time);
  const reference = capture();
  const logger = pino(
    { level: "info", base: { service: "infergate", pid: process.pid }, timestamp: time },
    reference.sink,
  );
  const events: RequestEndEvent[] = [
    { model: "lm-base:q8_0", route: "/v1/chat/completions", status: 200, durationMs: 12.5, promptTokens: 7 },
    {
      model: "",
      publicModel: "sk-live-0123456789abcdef",
      route: "/v1/completions",
      status: 404,
      durationMs: 0.2,
      errorCode: "IG_MODEL_NOT_FOUND",
    },
    { model: "up", route: "other", status: 502, durationMs: 3, ttftMs: undefined },
  ];
  for (const event of events) {
    write(event);
    const level = event.status >= 500 ? "error" : event.status >= 400 ? "warn" : "info";
    const redacted = { ...event, ...(event.publicModel && { publicModel: "[REDACTED_KEY]" }) };
    logger[level]({ event: "request", ...redacted }, "request");
  }
  // The same fields and values as pino's own line; ours in one fixed order (route first), one line each.
  assert.deepEqual(
    ours.lines.map((line) => JSON.parse(line)),
    reference.lines.map((line) => JSON.parse(line)),
  );
  assert.ok(ours.lines.every((line) => line.endsWith("}\n") && line.split("\n").length === 2));
  assert.match(
    ours.lines[0] ?? "",
    /"event":"request","route":"\/v1\/chat\/completions","model":"lm-base:q8_0","status":200/,
  );
  assert.ok(!ours.lines.join("").includes("sk-live"));

  const quiet = capture();
  accessLogWriter(createLogger("warn", quiet.sink), time)(events[0] as RequestEndEvent);
  assert.deepEqual(quiet.lines, []);
});
