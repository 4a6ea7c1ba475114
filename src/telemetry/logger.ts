import { type DestinationStream, type Logger, pino } from "pino";
import { type ModelLoadedEvent, modelLoaded, type RequestEndEvent, requestEnd } from "./events.js";
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
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ["headers.authorization", 'headers["x-goog-api-key"]', "*.api_key", "*.apiKey"],
        censor: "[REDACTED]",
      },
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

/** One access-log line per request, and one per model load; returns the unsubscribe function. */
export function logEvents(logger: Logger): () => void {
  const onRequest = (message: unknown) => {
    const event = message as RequestEndEvent;
    const level = event.status >= 500 ? "error" : event.status >= 400 ? "warn" : "info";
    logger[level]({ event: "request", ...event }, "request");
  };
  const onLoad = (message: unknown) =>
    logger.info({ event: "model_loaded", ...(message as ModelLoadedEvent) }, "model loaded");
  requestEnd.subscribe(onRequest);
  modelLoaded.subscribe(onLoad);
  return () => {
    requestEnd.unsubscribe(onRequest);
    modelLoaded.unsubscribe(onLoad);
  };
}
