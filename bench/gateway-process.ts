import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { freePort } from "../test/support/free-port.js";

export const root = new URL("..", import.meta.url).pathname;

/**
 * A Node process running one of this repo's entry points, TypeScript through tsx unless `compiled`; stderr is
 * shared with the bench.
 */
export function startProcess(
  args: string[],
  env: Record<string, string> = {},
  stdout: "pipe" | number = "pipe",
  compiled = false,
): ChildProcess {
  const child = spawn(process.execPath, [...(compiled ? [] : ["--import", "tsx"]), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", stdout, "inherit"],
  });
  // A crash of the bench must not leave its servers running (and its output pipe open).
  process.on("exit", () => child.kill("SIGTERM"));
  return child;
}

export async function firstLine(child: ChildProcess): Promise<string> {
  for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) return line;
  throw new Error("process printed nothing");
}

export interface GatewayProcess {
  url: string;
  logFile: string;
  /** CPU time (user + system) the gateway and its workers have used so far, in µs. Linux only (/proc). */
  cpuMicros(): number;
  /** Resident memory of the gateway and its workers now, in bytes. Linux only (/proc). */
  rssBytes(): number;
  stop(): Promise<void>;
}

let built = false;

/** The compiled build users run (`bin/infergate.js` → `dist/`), rebuilt once per bench run so it is never stale. */
function buildOnce(): void {
  if (built) return;
  execFileSync(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json")],
    { stdio: "inherit" },
  );
  built = true;
}

/**
 * `infergate serve` as installed (the compiled build, not TypeScript through a loader) in a process of its own,
 * on a free loopback port, with `configYaml` (which must leave `server.port` out), logging to a file as in
 * production; resolves once /readyz answers.
 */
export async function startGatewayProcess(
  configYaml: string,
  options: { workers?: number; env?: Record<string, string>; logLevel?: string } = {},
): Promise<GatewayProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "infergate-bench-"));
  const configPath = join(dir, "config.yaml");
  writeFileSync(configPath, `${configYaml}\nserver: {port: ${port}, max_queue_per_model: 100000}\n`);
  const logFile = join(dir, "gateway.log");
  buildOnce();
  const gateway = startProcess(
    [
      join(root, "bin/infergate.js"),
      "--config",
      configPath,
      "serve",
      "--workers",
      String(options.workers ?? 1),
    ],
    { INFERGATE_API_KEYS: "", ...options.env },
    openSync(logFile, "w"),
    true,
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if ((await fetch(`${url}/readyz`).catch(() => undefined))?.ok) break;
    if (i === 300 || gateway.exitCode !== null)
      throw new Error(`gateway did not become ready (log: ${logFile})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    logFile,
    cpuMicros: () => treeCpuMicros(gateway.pid as number),
    rssBytes: () => treeRssBytes(gateway.pid as number),
    async stop() {
      if (gateway.exitCode !== null) return;
      gateway.kill("SIGTERM");
      await once(gateway, "exit");
    },
  };
}

/** The resident set of a process and its descendants (cluster workers), from /proc, in bytes. */
function treeRssBytes(pid: number): number {
  let kib: number;
  try {
    kib = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0; // the process has exited
  }
  return kib * 1024 + childrenOf(pid).reduce((sum, child) => sum + treeRssBytes(child), 0);
}

function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number),
  );
}

/** The CPU time of a process and its descendants (cluster workers), from /proc, in µs. */
export function treeCpuMicros(pid: number): number {
  const ticksPerSecond = 100; // USER_HZ on Linux
  let fields: string[];
  try {
    fields = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
  } catch {
    return 0; // the process has exited
  }
  const own = ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticksPerSecond;
  return own + childrenOf(pid).reduce((sum, child) => sum + treeCpuMicros(child), 0);
}
