import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { eventually } from "../helpers.js";
import { freePort } from "./free-port.js";

export interface Prometheus {
  /** An instant query's value, summed over the series it returns (0 for none). */
  query(expr: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Debian's Prometheus scraping gateways on loopback every 500 ms, with the `namespace` and `service` labels the
 * Prometheus Operator gives targets of a ServiceMonitor, so the Helm chart's own queries run against it unchanged.
 */
export async function startPrometheus(options: {
  targets: readonly number[];
  bearer: string;
  labels: Record<string, string>;
}): Promise<Prometheus> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "infergate-prometheus-"));
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    stringify({
      global: { scrape_interval: "500ms", evaluation_interval: "500ms" },
      scrape_configs: [
        {
          job_name: "infergate",
          authorization: { credentials: options.bearer },
          static_configs: [
            { targets: options.targets.map((target) => `127.0.0.1:${target}`), labels: options.labels },
          ],
        },
      ],
    }),
  );
  const child: ChildProcess = spawn(
    "prometheus",
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=error",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const url = `http://127.0.0.1:${port}`;
  const ready = await eventually(async () => {
    if (child.exitCode !== null) throw new Error("prometheus exited at start");
    return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true;
  }, 10_000);
  if (!ready) throw new Error("prometheus did not start");
  const prometheus: Prometheus = {
    async query(expr) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data: { result: { value: [number, string] }[] };
      };
      if (body.status !== "success") throw new Error(`prometheus: ${body.error}`);
      return body.data.result.reduce((sum, series) => sum + Number(series.value[1]), 0);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
  // Prometheus applies new scrape targets some seconds after it starts: ready means every target scraped once.
  const scraped = async () => (await prometheus.query("sum(up)")) >= options.targets.length;
  if (!(await eventually(scraped, 30_000)))
    throw new Error("prometheus had not scraped every target within 30 s");
  return prometheus;
}
