import { type DestinationStream, type Logger, symbols } from "pino";
import type { RequestEndEvent } from "./events.js";
import { redactDeep, redactText } from "./redact.js";

/**
 * The access log: one line per request, the same JSON line pino writes (level, time, the logger's bindings, the
 * event's fields, msg), serialized here because its fields are known — pino's generic path (hooks, formatters,
 * per-key serializers) cost about 20 µs a line, a fifth of proxying a small answer. Strings are redacted as on
 * every other line.
 */
export function accessLogWriter(logger: Logger, time: () => string): (event: RequestEndEvent) => void {
  const internals = logger as unknown as Record<symbol, unknown>;
  const stream = internals[symbols.streamSym] as DestinationStream;
  // pino's own serialized bindings (`,"service":…,"pid":…`), exactly as it writes them on every line.
  const head = internals[symbols.chindingsSym] as string;
  return (event) => {
    const level = event.status >= 500 ? "error" : event.status >= 400 ? "warn" : "info";
    if (!logger.isLevelEnabled(level)) return;
    let line = `{"level":${logger.levels.values[level]}${time()}${head},"event":"request"`;
    // for-in over the event's own fields, in the order the gateway recorded them; keys are infergate's own.
    for (const key in event) {
      if (!Object.hasOwn(event, key)) continue;
      const value: unknown = (event as unknown as Record<string, unknown>)[key];
      if (value === undefined) continue;
      line += `,"${key}":`;
      if (typeof value === "number") line += Number.isFinite(value) ? String(value) : "null";
      else if (typeof value === "string") line += JSON.stringify(redactText(value));
      else line += JSON.stringify(redactDeep(value));
    }
    stream.write(`${line},"msg":"request"}\n`);
  };
}
