import { readFile } from "node:fs/promises";
import { armsFromLog, armsFromMetrics, compareArms, type LiveAbReport } from "../bench/live-ab.js";
import { InvalidRequestError } from "../core/errors.js";
import { printTable } from "./output.js";

export interface LiveAbOptions {
  fromMetrics?: string;
  fromLog?: string;
  route?: string;
  baseline?: string;
  apiKeyEnv?: string;
  json?: boolean;
}

/** `compare --from-metrics URL | --from-log FILE --route NAME`: a running route's A/B arms side by side. */
export async function runLiveAb(options: LiveAbOptions): Promise<void> {
  if (!options.route) throw new InvalidRequestError("--route names the route whose arms to compare", "route");
  if (options.fromMetrics && options.fromLog)
    throw new InvalidRequestError("give --from-metrics or --from-log, not both", "from-metrics");
  const report = options.fromLog
    ? compareArms(
        options.route,
        "log",
        armsFromLog(await readFile(options.fromLog, "utf8"), options.route),
        options.baseline,
      )
    : compareArms(
        options.route,
        "metrics",
        armsFromMetrics(await scrape(options.fromMetrics as string, options.apiKeyEnv), options.route),
        options.baseline,
      );
  if (report.arms.length === 0)
    throw new InvalidRequestError(`no requests of route '${options.route}' found`, "route");
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else printLiveAb(report);
}

async function scrape(url: string, apiKeyEnv: string | undefined): Promise<string> {
  const key = apiKeyEnv ? process.env[apiKeyEnv] : undefined;
  let response: Response;
  try {
    response = await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  } catch (error) {
    throw new InvalidRequestError(`cannot reach ${url}: ${(error as Error).message}`, "from-metrics");
  }
  if (!response.ok) throw new InvalidRequestError(`${url} answered ${response.status}`, "from-metrics");
  return response.text();
}

function printLiveAb(report: LiveAbReport): void {
  const ms = (value: number | undefined) =>
    value === undefined || Number.isNaN(value) ? "-" : value.toFixed(1);
  const estimate = report.source === "metrics" ? " (estimated from histogram buckets)" : "";
  process.stdout.write(`route ${report.route}: A/B arms from the gateway's ${report.source}${estimate}\n`);
  printTable(
    [
      "arm",
      "requests",
      "errors",
      "fallbacks",
      "E2E p50 ms",
      "E2E p95 ms",
      "TTFT p50 ms",
      "TPOT p50 ms",
      "out tokens",
    ],
    report.arms.map((arm) => [
      arm.arm,
      String(arm.requests),
      `${arm.errors} (${((arm.errors / arm.requests) * 100).toFixed(1)}%)`,
      String(arm.servedByFallback),
      ms(arm.e2eMs.p50),
      ms(arm.e2eMs.p95),
      ms(arm.ttftMs?.p50),
      ms(arm.tpotMsP50),
      String(arm.completionTokens),
    ]),
  );
  for (const c of report.comparisons) {
    const significant = c.errorRatePValue < 0.05 ? "significant" : "not significant";
    process.stdout.write(
      `• ${c.arm} vs ${c.baseline}: E2E p50 ×${c.e2eP50Ratio.toFixed(2)}${c.ttftP50Ratio === undefined ? "" : `, TTFT p50 ×${c.ttftP50Ratio.toFixed(2)}`}; error rate ${(c.errorRateDelta * 100).toFixed(2)} points (p = ${c.errorRatePValue.toFixed(3)}, ${significant})\n`,
    );
  }
}
