import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Chart.js's browser bundle (UMD, `window.Chart`), from its own package: the HTML report inlines it and the
 * dashboard serves it, so neither page needs the network to draw a chart.
 */
export function chartJsBundlePath(): string {
  return join(dirname(fileURLToPath(import.meta.resolve("chart.js"))), "chart.umd.min.js");
}
