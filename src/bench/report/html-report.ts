import { readFileSync } from "node:fs";
import { chartJsBundlePath } from "../../ui/chart-bundle.js";
import type { Report } from "../compare.js";
import { summaryTables } from "./summary-table.js";

/** Chart.js's browser bundle, inlined so the page needs no network to draw its charts. */
function chartLibrary(): string {
  return readFileSync(chartJsBundlePath(), "utf8");
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
    targets: report.targets.map(({ target, task, workload, metrics, cdf, weights_bytes, sweep }) => ({
      sweep: sweep ?? null,
      target,
      task,
      group: `${task} — ${workload}`,
      quality_by_length: metrics.quality_by_length ?? null,
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
caption { text-align: left; font-weight: 600; padding: .8rem 0 .3rem; } .matrices table { width: auto; display: inline-table; margin-right: 2rem; }
</style></head><body>
<h1>infergate report</h1>
<p class="meta">${escapeHtml(report.created_at)} · ${report.machine.cpus} × ${escapeHtml(report.machine.cpu_model)} · Node ${escapeHtml(report.machine.node)} · ${escapeHtml(JSON.stringify(report.load.strategy))}</p>
${tables}
${verdicts ? `<h2>Verdicts</h2><ul>${verdicts}</ul>` : ""}
<div class="charts" id="charts"></div>
${confusionMatrices(report)}
${disagreementTables(report)}
<script type="application/json" id="report-data">${embedJson(chartData)}</script>
<script>${chartLibrary()}</script>
<script>${CHART_SCRIPT}</script>
</body></html>
`;
}

const cellTable = (caption: string, header: readonly string[], rows: readonly (readonly string[])[]) =>
  `<table><caption>${escapeHtml(caption)}</caption><thead><tr>${header.map((cell) => `<th scope="col">${escapeHtml(cell)}</th>`).join("")}</tr></thead>
<tbody>${rows.map((row) => `<tr>${row.map((cell, i) => (i === 0 ? `<th scope="row">${escapeHtml(cell)}</th>` : `<td>${escapeHtml(cell)}</td>`)).join("")}</tr>`).join("\n")}</tbody></table>`;

/** Each classifier's confusion matrix: rows the gold label, columns the label read. */
function confusionMatrices(report: Report): string {
  const matrices = report.targets.flatMap(({ target, workload, metrics }) => {
    const confusion = metrics.accuracy?.confusion;
    if (!confusion) return [];
    const gold = confusion.labels.filter((label) => label !== "(invalid)");
    return [
      cellTable(
        `${target} on ${workload} (rows: gold, columns: answered)`,
        ["gold \\ answered", ...confusion.labels],
        gold.map((label, i) => [label, ...(confusion.matrix[i] ?? []).map(String)]),
      ),
    ];
  });
  return matrices.length > 0
    ? `<h2>Confusion matrices</h2><div class="matrices">${matrices.join("\n")}</div>`
    : "";
}

/** Per comparison of classifiers or taggers: the items the two answer differently. */
function disagreementTables(report: Report): string {
  const tables = report.comparisons.flatMap(({ target, baseline, workload, disagreements }) => {
    if (!disagreements || disagreements.count === 0) return [];
    const shown =
      disagreements.items.length < disagreements.count ? ` (the first ${disagreements.items.length})` : "";
    const title = `${target} vs ${baseline} on ${workload}: ${disagreements.count} items answered differently${shown}`;
    return [
      `<details><summary>${escapeHtml(title)}</summary>`,
      cellTable(
        title,
        ["item", "text", "gold", target, baseline],
        disagreements.items.map((item) => [
          String(item.index),
          item.preview,
          item.gold,
          item.target ?? "(invalid)",
          item.baseline ?? "(invalid)",
        ]),
      ),
    ];
  });
  return tables.length > 0 ? `<h2>Disagreements</h2>${tables.join("\n")}` : "";
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
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", title);
    figure.append(caption, canvas);
    container.append(figure);
    charts.push(new Chart(canvas, config));
  };
  const cdf = (key, group) => ({
    type: "line",
    data: { datasets: data.targets.filter((t) => t.group === group).map((t, i) => ({
      label: t.target, data: t.cdf[key].map(([p, ms]) => ({ x: ms, y: p })), borderColor: color(i), pointRadius: 0, borderWidth: 2 })) },
    options: { scales: { x: { type: "linear", title: { display: true, text: key.replace("_ms", " (ms)") } },
      y: { min: 0, max: 100, title: { display: true, text: "percentile" } } } },
  });
  const groups = [...new Set(data.targets.map((t) => t.group))];
  for (const group of groups) {
    const targets = data.targets.filter((t) => t.group === group);
    const task = targets[0].task;
    add(group + ": E2E latency CDF", cdf("e2e_ms", group));
    if (task === "generate") add(group + ": time to first token CDF", cdf("ttft_ms", group));
    const rate = task === "generate" ? "output_tokens_per_s" : "requests_per_s";
    add(group + ": throughput (" + rate.replaceAll("_", " ") + ")", {
      type: "bar",
      data: { labels: targets.map((t) => t.target), datasets: [{ label: rate, data: targets.map((t) => t[rate]), backgroundColor: targets.map((_, i) => color(i)) }] },
      options: { plugins: { legend: { display: false } } },
    });
    const swept = targets.filter((t) => t.sweep);
    if (swept.length > 0) {
      const parameter = swept[0].sweep.parameter;
      add(group + ": throughput vs " + parameter, {
        type: "line",
        data: { datasets: swept.map((t, i) => ({ label: t.target, borderColor: color(i), backgroundColor: color(i),
          data: t.sweep.points.map((p) => ({ x: p.value, y: task === "generate" ? p.output_tokens_per_s : p.items_per_s })) })) },
        options: { scales: { x: { type: "linear", title: { display: true, text: parameter } },
          y: { title: { display: true, text: task === "generate" ? "output tokens per s" : "texts per s" } } } },
      });
    }
    if (targets.some((t) => t.peak_rss_mb !== null)) {
      add(group + ": peak memory per request (process RSS, MB)", {
        type: "bar",
        data: { labels: targets.map((t) => t.target), datasets: [{ label: "MB", data: targets.map((t) => t.peak_rss_mb), backgroundColor: targets.map((_, i) => color(i)) }] },
        options: { plugins: { legend: { display: false } } },
      });
    }
    if (targets.some((t) => t.accuracy !== null)) {
      add(group + ": accuracy vs weights size", {
        type: "scatter",
        data: { datasets: targets.map((t, i) => ({ label: t.target, data: [{ x: t.weights_bytes / 1e6, y: t.accuracy }], backgroundColor: color(i), pointRadius: 7 })) },
        options: { scales: { x: { title: { display: true, text: "weights (MB)" } }, y: { title: { display: true, text: "accuracy" } } } },
      });
      // The Pareto frontier: targets no other beats on both accuracy and items/s, joined from fastest to most accurate.
      const scored = targets.filter((t) => t.accuracy !== null);
      const frontier = scored.filter((t) => !scored.some((o) => o !== t && o.accuracy >= t.accuracy && o.requests_per_s >= t.requests_per_s && (o.accuracy > t.accuracy || o.requests_per_s > t.requests_per_s)))
        .sort((a, b) => a.requests_per_s - b.requests_per_s);
      add(group + ": accuracy vs throughput (Pareto frontier)", {
        type: "scatter",
        data: { datasets: [
          ...scored.map((t, i) => ({ label: t.target, data: [{ x: t.requests_per_s, y: t.accuracy }], backgroundColor: color(i), pointRadius: 7 })),
          { label: "Pareto frontier", type: "line", data: frontier.map((t) => ({ x: t.requests_per_s, y: t.accuracy })), borderColor: "#1d2330", borderDash: [6, 4], pointRadius: 0, fill: false },
        ] },
        options: { scales: { x: { title: { display: true, text: "items per s" } }, y: { title: { display: true, text: "accuracy" } } } },
      });
    }
    if (targets.some((t) => t.quality_by_length)) {
      const buckets = targets.find((t) => t.quality_by_length).quality_by_length.buckets;
      const name = (b) => b.to === null ? b.from + "+" : b.from + "–" + b.to;
      add(group + ": " + targets.find((t) => t.quality_by_length).quality_by_length.metric + " by input length (estimated tokens)", {
        type: "bar",
        data: { labels: buckets.map(name), datasets: targets.filter((t) => t.quality_by_length).map((t, i) => ({ label: t.target, backgroundColor: color(i),
          data: t.quality_by_length.buckets.map((b) => b.value) })) },
        options: { scales: { y: { min: 0, max: 1 } } },
      });
    }
  }
  window.__infergateCharts = charts.length;
})();
`;
