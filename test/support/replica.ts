import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { eventually, repoRoot } from "../helpers.js";

/** One `infergate serve` process of a fleet, on a fixed loopback port so that it can be restarted in place. */
export interface Replica {
  port: number;
  url: string;
  start(): Promise<void>;
  /** SIGTERM (drain) or SIGKILL; resolves once the process has exited. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
}

export function replica(configPath: string, port: number, env: NodeJS.ProcessEnv): Replica {
  let child: ChildProcess | undefined;
  const url = `http://127.0.0.1:${port}`;
  return {
    port,
    url,
    async start() {
      child = spawn(
        process.execPath,
        ["--import", "tsx", "src/cli/infergate.ts", "--config", configPath, "serve", "--port", String(port)],
        { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] },
      );
      const started = child;
      process.once("exit", () => started.kill("SIGKILL"));
      const ready = await eventually(async () => {
        if (started.exitCode !== null) throw new Error(`replica on port ${port} exited before it was ready`);
        return (await fetch(`${url}/readyz`).catch(() => undefined))?.ok === true;
      }, 15_000);
      if (!ready) throw new Error(`replica on port ${port} did not become ready`);
    },
    async stop(signal = "SIGTERM") {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill(signal);
      await exited;
    },
  };
}
