import { type DestinationStream, type Logger, pino } from "pino";
import { accessLogWriter } from "./access-log.js";
import { topics } from "./events.js";
import { redactDeep, redactText } from "./redact.js";

/**
 * JSON logs. No prompt or completion text is ever logged; credentials and personal data are masked in
 * whatever text is (error messages can echo client input).
 */
export function createLogger(level = "info", destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "infergate", pid: process.pid },
      timestamp: isoTime,
      formatters: { log: (object) => redactDeep(object) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((arg) => (typeof arg === "string" ? redactText(arg) : arg)) as Parameters<typeof method>,
          );
        },
      },
    },
    destination,
  );
}

let isoMillisecond = 0;
let isoField = "";

/** pino's ISO time field, formatted once per millisecond rather than once per line. */
export function isoTime(): string {
  const now = Date.now();
  if (now !== isoMillisecond) {
    isoMillisecond = now;
    isoField = `,"time":"${new Date(now).toISOString()}"`;
  }
  return isoField;
}

/** One access-log line per request, one line per model load and per routing incident; returns the unsubscribe function. */
export function logEvents(logger: Logger): () => void {
  const unsubscribes = [
    topics.requestEnd.subscribe(accessLogWriter(logger, isoTime)),
    topics.modelLoaded.subscribe((event) => logger.info({ event: "model_loaded", ...event }, "model loaded")),
    topics.fallback.subscribe((event) => logger.warn({ event: "fallback", ...event }, "fell back")),
    topics.retry.subscribe((event) => logger.info({ event: "retry", ...event }, "retrying")),
    topics.breaker.subscribe((event) =>
      logger[event.state === "closed" ? "info" : "warn"]({ event: "breaker", ...event }, "circuit breaker"),
    ),
    topics.precisionSwitch.subscribe((event) =>
      logger.warn({ event: "precision_switch", ...event }, "switched precision"),
    ),
  ];
  return () => {
    for (const unsubscribe of unsubscribes) unsubscribe();
  };
}
