import type { Command } from "commander";
import { destination } from "pino";
import {
  clusterLive,
  clusterMetricsText,
  clusterResponseStore,
  isClusterWorker,
  runPrimary,
  shareLive,
  shareMetrics,
} from "../server/cluster-workers.js";
import { createGateway } from "../server/gateway.js";
import { responseStoreFor } from "../server/openai/response-store.js";
import { BatchedDestination } from "../telemetry/batched-destination.js";
import { createLogger, logEvents } from "../telemetry/logger.js";
import { CliContext, type GlobalOptions } from "./cli-context.js";
import { integer } from "./parse-options.js";

interface ServeOptions {
  host?: string;
  port?: number;
  logLevel: string;
  workers: number;
}

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("serve the configured models over an OpenAI-compatible HTTP API")
    .option("--host <host>", "address to listen on (default: the config's server.host, 127.0.0.1)")
    .option(
      "--port <port>",
      "port to listen on (default: the config's server.port, 8080)",
      integer(0, 65_535),
    )
    .option("--log-level <level>", "fatal, error, warn, info, debug", "info")
    .option(
      "--workers <n>",
      "gateway processes sharing the port, each with its own copy of the models",
      integer(1, 256),
      1,
    )
    .addHelpText(
      "after",
      `
API keys: set INFERGATE_API_KEYS="key1,key2" (or the variable named by server.api_keys_env); clients send
"Authorization: Bearer KEY". Keys may be left unset only while listening on loopback.

Examples:
  $ infergate serve
  $ INFERGATE_API_KEYS=secret infergate serve --host 0.0.0.0 --port 9000
  $ curl localhost:8080/v1/completions -d '{"model":"lm-base","prompt":"Whale, n.","max_tokens":16}'`,
    )
    .action(async (options: ServeOptions, command: Command) => {
      const context = await CliContext.open(command.optsWithGlobals<GlobalOptions>());
      const server = context.config.server;
      if (options.host !== undefined) server.host = options.host;
      if (options.port !== undefined) server.port = options.port;
      // Buffered: one write per 4 kB of log rather than a system call per request. Lifecycle lines are
      // flushed at once, so a supervisor sees them when they happen.
      const logger = createLogger(
        options.logLevel,
        new BatchedDestination(destination({ dest: 1, sync: false, minLength: 4096 })),
      );
      if (options.workers > 1 && !isClusterWorker()) {
        process.exitCode = await runPrimary(options.workers, logger, responseStoreFor(server));
        logger.info("stopped");
        logger.flush();
        return;
      }
      const stopLogging = logEvents(logger);
      const gateway = createGateway({
        config: context.config,
        registry: context.registry,
        engines: context.engines,
        onUnexpectedError: (error) => logger.error({ err: error }, "unexpected error"),
        ...(isClusterWorker() && {
          metricsText: clusterMetricsText(),
          responses: clusterResponseStore(),
          live: clusterLive(),
        }),
      });
      if (isClusterWorker()) {
        shareMetrics(gateway.metrics.registry);
        shareLive(() => gateway.liveData());
      }
      logger.info({ models: context.registry.list().map((model) => model.id) }, "loading models");
      const address = await gateway.start();
      logger.info({ host: address.address, port: address.port }, "listening");
      logger.flush();
      await new Promise<void>((resolve) => {
        // Listening for every signal, not once: a second SIGTERM (a worker gets one from its primary as well as
        // from a process-group kill) must not fall through to the default action and cut the drain short.
        let draining = false;
        const stop = (signal: string) => {
          if (draining) return;
          draining = true;
          logger.info({ signal }, "draining");
          void gateway.drain().then(resolve);
        };
        process.on("SIGTERM", stop);
        process.on("SIGINT", stop);
      });
      await context[Symbol.asyncDispose]();
      logger.info("stopped");
      stopLogging();
      logger.flush();
      // A worker's channel to the primary would keep it alive.
      if (isClusterWorker()) process.disconnect();
    });
}
