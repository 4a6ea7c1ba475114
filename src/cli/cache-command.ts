import type { Command } from "commander";
import { openCacheStore } from "../cache/gateway-cache.js";
import { RedisStore } from "../cache/redis-store.js";
import { loadConfig } from "../config/load-config.js";
import { InvalidRequestError, UnavailableError } from "../core/errors.js";
import type { GlobalOptions } from "./cli-context.js";

interface WipeOptions {
  url?: string;
  adminKeyEnv: string;
}

export function registerCacheCommand(program: Command): void {
  const cache = program.command("cache").description("manage the response and embedding cache");
  cache
    .command("wipe")
    .description(
      "remove every cache entry: from the configured SQLite or Redis store directly, or through a running gateway's admin API (--url; any store)",
    )
    .option(
      "--url <url>",
      "a running gateway, e.g. http://127.0.0.1:8080: wipe through POST /admin/cache/wipe",
    )
    .option("--admin-key-env <var>", "with --url: env var holding an admin key", "INFERGATE_ADMIN_KEYS")
    .action(async (options: WipeOptions, command: Command) => {
      const wiped = options.url
        ? await wipeThroughGateway(options.url, options.adminKeyEnv)
        : await wipeStore(command.optsWithGlobals<GlobalOptions>().config);
      process.stdout.write(
        `wiped ${wiped.count} ${wiped.count === 1 ? "entry" : "entries"} from the ${wiped.store} cache\n`,
      );
    });
}

async function wipeStore(configPath: string | undefined): Promise<{ count: number; store: string }> {
  const config = await loadConfig(configPath);
  if (!config.cache) throw new InvalidRequestError(`config ${config.source} has no cache section`, "cache");
  if (config.cache.store === "memory") {
    throw new InvalidRequestError(
      "the memory store lives inside the gateway process: wipe it with --url http://HOST:PORT (and an admin key)",
      "cache.store",
    );
  }
  const store = openCacheStore(config.cache, process.env);
  try {
    if (store instanceof RedisStore) {
      await store.ready(5000).catch((error: Error) => {
        throw new UnavailableError(`cannot reach the Redis cache: ${error.message}`);
      });
    }
    return { count: await store.wipeAll(), store: store.kind };
  } finally {
    await store.close();
  }
}

async function wipeThroughGateway(
  url: string,
  adminKeyEnv: string,
): Promise<{ count: number; store: string }> {
  const key = process.env[adminKeyEnv]?.split(",")[0]?.trim();
  if (!key) throw new InvalidRequestError(`set an admin key in ${adminKeyEnv}`, "admin-key-env");
  let response: Response;
  try {
    response = await fetch(new URL("/admin/cache/wipe", url), {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
    });
  } catch (error) {
    throw new UnavailableError(`cannot reach ${url}: ${(error as Error).message}`);
  }
  const body = (await response.json()) as { wiped?: number; store?: string; error?: { message?: string } };
  if (!response.ok)
    throw new UnavailableError(`${url} answered ${response.status}: ${body.error?.message ?? ""}`);
  return { count: body.wiped ?? 0, store: body.store ?? "gateway's" };
}
