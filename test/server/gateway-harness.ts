import { mkdtempSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { stringify } from "yaml";
import { type InfergateConfig, loadConfig, parseConfig } from "../../src/config/load-config.js";
import { createEngines, type Engines } from "../../src/engines/engines.js";
import { ModelRegistry } from "../../src/models/model-registry.js";
import { createGateway, type Gateway } from "../../src/server/gateway.js";
import { createLogger, logEvents } from "../../src/telemetry/logger.js";
import { repoRoot } from "../helpers.js";

export const API_KEY = "sk-test-0123456789abcdef";

export interface RunningGateway {
  url: string;
  gateway: Gateway;
  engines: Engines;
  registry: ModelRegistry;
  /** Every log line the gateway wrote, as text. */
  logs: string[];
  close(): Promise<void>;
}

/** A gateway on an ephemeral loopback port, with an API key and a captured log. */
export async function startGateway(
  options: {
    config?: InfergateConfig;
    raw?: unknown;
    keys?: string;
    rss?: () => number;
    /** Extra environment for the gateway (admin keys, cache keys); the process's own is the base. */
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<RunningGateway> {
  const config = options.raw
    ? parseConfig(options.raw, repoRoot, "test")
    : (options.config ?? (await loadConfig()));
  config.server.port = 0;
  const registry = new ModelRegistry(config);
  const engines = createEngines();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger("debug", sink);
  const stopLogging = logEvents(logger);
  const gateway = createGateway({
    config,
    registry,
    engines,
    env: { ...process.env, INFERGATE_API_KEYS: options.keys ?? API_KEY, ...options.env },
    onUnexpectedError: (error) => logger.error({ err: error }, "unexpected error"),
    ...(options.rss && { rss: options.rss }),
  });
  const address: AddressInfo = await gateway.start();
  return {
    url: `http://127.0.0.1:${address.port}`,
    gateway,
    engines,
    registry,
    logs,
    async close() {
      await gateway.drain();
      stopLogging();
      await engines.close();
    },
  };
}

export function authorized(extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${API_KEY}`, "content-type": "application/json", ...extra };
}

/**
 * A gateway whose config is a file (as `serve --config` reads it): what runs launched from the dashboard need, since
 * their child processes load the same file. It serves spam-encoder int8 and keeps its run store beside the file.
 */
export async function startEncoderGatewayFromFile(): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), "infergate-config-"));
  const configPath = join(dir, "config.yaml");
  writeFileSync(
    configPath,
    stringify({
      models: [
        {
          id: "spam-encoder",
          task: "classify",
          engine: "onnx",
          variants: { int8: join(repoRoot, "models/spam-encoder") },
        },
      ],
      ui: { data_dir: dir },
    }),
  );
  return startGateway({ config: await loadConfig(configPath) });
}
