import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Report } from "../compare.js";
import { summaryTables } from "./summary-table.js";

/** Chart.js's browser bundle, inlined so the page needs no network to draw its charts. */
function chartLibrary(): string {
  const entry = fileURLToPath(import.meta.resolve("chart.js"));
  return readFileSync(join(dirname(entry), "chart.umd.min.js"), "utf8");
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

/** JSON inside <script> must not be able to close the element. */
const embedJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

/**
 * One self-contained page: summary tables, verdicts, and charts (latency CDFs, throughput, accuracy against
 * weights size) drawn by Chart.js from the report embedded in the page.
 */
export function htmlReport(report: Report): string {
  const tables = summaryTables(report)
    .map(
      (table) => `<h2>${escapeHtml(table.title)}</h2>
<table><thead><tr>${table.header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join("")}</tr></thead>
<tbody>${table.rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join("")}</tr>`).join("\n")}</tbody></table>`,
    )
    .join("\n");
  const verdicts = report.verdicts.map((verdict) => `<li>${escapeHtml(verdict)}</li>`).join("");
  const chartData = {
    targets: report.targets.map(({ target, task, metrics, cdf, weights_bytes, sweep }) => ({
      sweep: sweep ?? null,
      target,
      task,
      cdf,
      weights_bytes,
      output_tokens_per_s: metrics.output_tokens_per_s,
      requests_per_s: metrics.requests_per_s,
      accuracy: metrics.accuracy?.accuracy ?? null,
      peak_rss_mb:
        metrics.peak_rss_bytes_per_request === undefined ? null : metrics.peak_rss_bytes_per_request / 1e6,
    })),
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>infergate report</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1d2330; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.meta { color: #5b6474; } table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: .35rem .6rem; border-bottom: 1px solid #e3e6ec; text-align: right; } th:first-child, td:first-child { text-align: left; }
th { background: #f4f6fa; } .charts { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5rem; margin-top: 1.5rem; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: .4rem; } canvas { width: 100%; height: 280px; }
</style></head><body>
<h1>infergate report</h1>
<p class="meta">${escapeHtml(report.created_at)} · ${report.machine.cpus} × ${escapeHtml(report.machine.cpu_model)} · Node ${escapeHtml(report.machine.node)} · ${escapeHtml(JSON.stringify(report.load.strategy))}</p>
${tables}
${verdicts ? `<h2>Verdicts</h2><ul>${verdicts}</ul>` : ""}
<div class="charts" id="charts"></div>
<script type="application/json" id="report-data">${embedJson(chartData)}</script>
<script>${chartLibrary()}</script>
<script>${CHART_SCRIPT}</script>
</body></html>
`;
}

/** Runs in the page: one chart per question a reader asks of the report. */
const CHART_SCRIPT = `
(() => {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const palette = ["#2f6fde", "#e0662f", "#2a9d6e", "#b0409b", "#c9a227", "#5b6474", "#17a2b8", "#8a5a44"];
  const color = (i) => palette[i % palette.length];
  Chart.defaults.animation = false;
  Chart.defaults.responsive = false;
  const container = document.getElementById("charts");
  const charts = [];
  const add = (title, config) => {
    const figure = document.createElement("figure");
    const caption = document.createElement("figcaption");
    caption.textContent = title;
    const canvas = document.createElement("canvas");
    canvas.width = 520; canvas.height = 280;
    canvas.dataset.chart = title;
    figure.append(caption, canvas);
    container.append(figure);
    charts.push(new Chart(canvas, config));
  };
  const cdf = (key, task) => ({
    type: "line",
    data: { datasets: data.targets.filter((t) => t.task === task).map((t, i) => ({
      label: t.target, data: t.cdf[key].map(([p, ms]) => ({ x: ms, y: p })), borderColor: color(i), pointRadius: 0, borderWidth: 2 })) },
    options: { scales: { x: { type: "linear", title: { display: true, text: key.replace("_ms", " (ms)") } },
      y: { min: 0, max: 100, title: { display: true, text: "percentile" } } } },
  });
  const tasks = [...new Set(data.targets.map((t) => t.task))];
  for (const task of tasks) {
    const targets = data.targets.filter((t) => t.task === task);
    add(task + ": E2E latency CDF", cdf("e2e_ms", task));
    if (task === "generate") add(task + ": time to first token CDF", cdf("ttft_ms", task));
    const rate = task === "generate" ? "output_tokens_per_s" : "requests_per_s";
    add(task + ": throughput (" + rate.replaceAll("_", " ") + ")", {
      type: "bar",
      data: { labels: targets.map((t) => t.target), datasets: [{ label: rate, data: targets.map((t) => t[rate]), backgroundColor: targets.map((_, i) => color(i)) }] },
      options: { plugins: { legend: { display: false } } },
    });
    const swept = targets.filter((t) => t.sweep);
    if (swept.length > 0) {
      const parameter = swept[0].sweep.parameter;
      add(task + ": throughput vs " + parameter, {
        type: "line",
        data: { datasets: swept.map((t, i) => ({ label: t.target, borderColor: color(i), backgroundColor: color(i),
          data: t.sweep.points.map((p) => ({ x: p.value, y: task === "generate" ? p.output_tokens_per_s : p.items_per_s })) })) },
        options: { scales: { x: { type: "linear", title: { display: true, text: parameter } },
          y: { title: { display: true, text: task === "generate" ? "output tokens per s" : "texts per s" } } } },
      });
    }
    if (targets.some((t) => t.peak_rss_mb !== null)) {
      add(task + ": peak memory per request (process RSS, MB)", {
        type: "bar",
        data: { labels: targets.map((t) => t.target), datasets: [{ label: "MB", data: targets.map((t) => t.peak_rss_mb), backgroundColor: targets.map((_, i) => color(i)) }] },
        options: { plugins: { legend: { display: false } } },
      });
    }
    if (targets.some((t) => t.accuracy !== null)) {
      add(task + ": accuracy vs weights size", {
        type: "scatter",
        data: { datasets: targets.map((t, i) => ({ label: t.target, data: [{ x: t.weights_bytes / 1e6, y: t.accuracy }], backgroundColor: color(i), pointRadius: 7 })) },
        options: { scales: { x: { title: { display: true, text: "weights (MB)" } }, y: { title: { display: true, text: "accuracy" } } } },
      });
    }
  }
  window.__infergateCharts = charts.length;
})();
`;
