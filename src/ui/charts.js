// Charts (Chart.js, served by the gateway from its own package): each has an accessible name and the same
// figures as a table under it, so nothing is only in a picture.
import { element, number, table } from "./dom.js";

const drawn = [];
export const palette = [
  "#2f6fde",
  "#e0662f",
  "#2a9d6e",
  "#b0409b",
  "#c9a227",
  "#5b6474",
  "#17a2b8",
  "#8a5a44",
];
export const color = (index) => palette[index % palette.length];

/** Destroys the charts of the view being left. */
export function destroyCharts() {
  for (const chart of drawn.splice(0)) chart.destroy();
}

/**
 * A figure: caption, a canvas named `title` for assistive technology, and `tableView` behind "as a table".
 * Returns the figure and the chart (undefined where Chart.js did not load).
 */
export function chartFigure(title, config, tableView, attributes = {}) {
  const canvas = element("canvas", { role: "img", "aria-label": title, height: "110" });
  const figure = element("figure", attributes, element("figcaption", {}, title), canvas);
  figure.append(element("details", {}, element("summary", {}, `${title}: as a table`), tableView));
  let chart;
  if (globalThis.Chart) {
    chart = new globalThis.Chart(canvas, {
      ...config,
      options: { animation: false, responsive: true, ...config.options },
    });
    drawn.push(chart);
  }
  return { figure, chart };
}

/** A line chart over shared labels; its table shows the last `tableRows` labels. */
export function lineChart(title, labels, datasets, tableRows = 30) {
  const recent = labels.slice(-tableRows);
  const tableView = table(
    `${title}${labels.length > tableRows ? `, the last ${tableRows}` : ""}`,
    [
      { title: "at", cell: (row) => row.label },
      ...datasets.map((set, index) => ({ title: set.label, cell: (row) => number(row.values[index], 2) })),
    ],
    recent.map((label, at) => ({ label, values: datasets.map((set) => set.data.at(at - recent.length)) })),
  );
  return chartFigure(
    title,
    {
      type: "line",
      data: {
        labels,
        datasets: datasets.map((set, index) => ({
          pointRadius: 0,
          borderWidth: 1.5,
          borderColor: color(index),
          backgroundColor: color(index),
          ...set,
        })),
      },
      options: { scales: { x: { ticks: { maxTicksLimit: 10 } } } },
    },
    tableView,
  ).figure;
}

/** Overlaid histograms over shared bins (`[{from, to}]`), one series of counts per dataset. */
export function histogramChart(title, unit, bins, datasets) {
  const name = (bin) => `${number(bin.from, 1)}–${number(bin.to, 1)}`;
  const tableView = table(
    title,
    [
      { title: unit, cell: (row) => name(row.bin) },
      ...datasets.map((set, index) => ({ title: set.label, cell: (row) => String(row.counts[index]) })),
    ],
    bins.map((bin, at) => ({ bin, counts: datasets.map((set) => set.data[at]) })),
  );
  return chartFigure(
    title,
    {
      type: "bar",
      data: {
        labels: bins.map(name),
        datasets: datasets.map((set, index) => ({ backgroundColor: `${color(index)}b0`, ...set })),
      },
      options: {
        scales: {
          x: { title: { display: true, text: unit } },
          y: { title: { display: true, text: "requests" } },
        },
      },
    },
    tableView,
  ).figure;
}

/** Destroys one chart of this view (it is being drawn anew). */
export function dropChart(chart) {
  drawn.splice(drawn.indexOf(chart), 1);
  chart.destroy();
}
