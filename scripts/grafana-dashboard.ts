/**
 * Writes deploy/grafana/infergate-dashboard.json from the gateway's metric definitions (`npm run grafana`). A test
 * fails when the file is not what this writes, or when a panel queries a metric the gateway does not export.
 */
import { writeFileSync } from "node:fs";
import { gatewayMetricInfo, grafanaDashboard } from "../src/telemetry/grafana-dashboard.js";

export const DASHBOARD_PATH = new URL("../deploy/grafana/infergate-dashboard.json", import.meta.url);

export async function dashboardText(): Promise<string> {
  return `${JSON.stringify(grafanaDashboard(await gatewayMetricInfo()), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(DASHBOARD_PATH, await dashboardText());
  process.stdout.write(`written: ${DASHBOARD_PATH.pathname}\n`);
}
