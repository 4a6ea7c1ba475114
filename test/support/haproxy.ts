import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "../helpers.js";
import { freePort } from "./free-port.js";

export interface Haproxy {
  url: string;
  stop(): Promise<void>;
}

/**
 * Debian's haproxy in front of gateways on loopback, as a Kubernetes Service plus readiness gate would be: round
 * robin, a backend out as soon as its /readyz fails (checked every 200 ms), and a request whose connection a
 * backend refused or closed unanswered sent to another one.
 */
export async function startHaproxy(backendPorts: readonly number[]): Promise<Haproxy> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "infergate-haproxy-"));
  const config = join(dir, "haproxy.cfg");
  writeFileSync(
    config,
    [
      "global",
      "  maxconn 4096",
      "defaults",
      "  mode http",
      "  timeout connect 1s",
      "  timeout client 60s",
      "  timeout server 60s",
      "  retries 3",
      "  option redispatch",
      "  retry-on conn-failure empty-response",
      "frontend gateway",
      `  bind 127.0.0.1:${port}`,
      "  default_backend replicas",
      "backend replicas",
      "  balance roundrobin",
      "  option httpchk GET /readyz",
      "  http-check expect status 200",
      "  default-server inter 200ms fall 1 rise 1",
      ...backendPorts.map((backend, i) => `  server replica${i} 127.0.0.1:${backend} check`),
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn("haproxy", ["-db", "-f", config], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  const listening = await eventually(async () => {
    if (child.exitCode !== null) throw new Error("haproxy exited at start");
    return (await fetch(`${url}/healthz`).catch(() => undefined)) !== undefined;
  });
  if (!listening) throw new Error("haproxy did not start");
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}
