// Quality × speed × cost: the run's targets as points on two chosen axes (a third as the point's size), the
// Pareto frontier marked; a point opens its target's details.
import { chartFigure, color, dropChart } from "../charts.js";
import { element, labelled, number, select, table } from "../dom.js";
import { AXES, paretoFrontier } from "../figures.js";

const PERCENTILES = ["p50", "p90", "p95", "p99"];
const SIZES = ["cost_items", "cost_tokens", "memory"];

/** `state`: the URL's query (x, y, size, p); `choose(updates)` keeps a change there; `open(index)` a target. */
export function tradeoffs(targets, state, choose, open) {
  const available = Object.keys(AXES).filter((axis) =>
    targets.some((t) => AXES[axis].value(t, "p50") !== undefined),
  );
  if (targets.length < 2 || available.length < 2) return "";
  const pick = (name, fallback) => (available.includes(state.get(name)) ? state.get(name) : fallback);
  const chosen = {
    x: pick("x", available.includes("e2e") ? "e2e" : available[0]),
    y: pick("y", available.includes("quality") ? "quality" : available[1]),
    size: SIZES.includes(state.get("size")) && available.includes(state.get("size")) ? state.get("size") : "",
    p: PERCENTILES.includes(state.get("p")) ? state.get("p") : "p50",
  };
  const options = (axes) => axes.map((axis) => [axis, AXES[axis].label(chosen.p)]);
  const controls = {
    x: select("x", options(available), chosen.x),
    y: select("y", options(available), chosen.y),
    size: select(
      "size",
      [["", "all the same"], ...options(SIZES.filter((s) => available.includes(s)))],
      chosen.size,
    ),
    p: select(
      "p",
      PERCENTILES.map((p) => [p, p]),
      chosen.p,
    ),
  };
  const section = element(
    "section",
    { "aria-label": "trade-offs" },
    element("h2", {}, "Trade-offs"),
    element(
      "p",
      {},
      labelled("x", controls.x),
      labelled("y", controls.y),
      labelled("point size", controls.size),
      labelled("latency percentile", controls.p),
    ),
  );
  let drawn;
  const draw = () => {
    const axes = [chosen.x, chosen.y, ...(chosen.size ? [chosen.size] : [])];
    const figures = targets.map((t) => axes.map((axis) => AXES[axis].value(t, chosen.p)));
    const frontier = new Set(
      paretoFrontier(
        figures,
        axes.map((axis) => AXES[axis].better),
      ),
    );
    const largest = Math.max(...figures.map((f) => f[2] ?? 0));
    const radius = (f) => (chosen.size && f[2] !== undefined && largest > 0 ? 4 + (14 * f[2]) / largest : 7);
    const label = (axis) => AXES[axis].label(chosen.p);
    const title = `${label(chosen.y)} against ${label(chosen.x)}${chosen.size ? `, size: ${label(chosen.size)}` : ""}; the Pareto frontier marked`;
    const line = [...frontier]
      .map((index) => ({ x: figures[index][0], y: figures[index][1] }))
      .sort((a, b) => a.x - b.x);
    const tableView = table(
      title,
      [
        { title: "target", cell: (row) => element("a", { href: row.target.detailsHref }, row.target.target) },
        ...axes.map((axis, at) => ({ title: label(axis), cell: (row) => number(row.figures[at], 3) })),
        { title: "on the frontier", cell: (row) => (row.onFrontier ? "yes" : "no") },
      ],
      targets.map((target, index) => ({ target, figures: figures[index], onFrontier: frontier.has(index) })),
    );
    const { figure, chart } = chartFigure(
      title,
      {
        type: "scatter",
        data: {
          datasets: [
            ...targets.map((t, index) => ({
              label: `${t.target} on ${t.workload}${frontier.has(index) ? " (frontier)" : ""}`,
              data:
                figures[index][0] === undefined || figures[index][1] === undefined
                  ? []
                  : [{ x: figures[index][0], y: figures[index][1] }],
              backgroundColor: color(index),
              pointRadius: radius(figures[index]),
              pointStyle: frontier.has(index) ? "rectRot" : "circle",
              borderColor: frontier.has(index) ? "#1b1f24" : color(index),
              borderWidth: frontier.has(index) ? 2 : 1,
            })),
            {
              label: "Pareto frontier",
              type: "line",
              data: line,
              borderColor: "#1b1f24",
              borderDash: [6, 4],
              pointRadius: 0,
              fill: false,
            },
          ],
        },
        options: {
          onClick: (_event, elements) => {
            const hit = elements.find((element) => element.datasetIndex < targets.length);
            if (hit) open(hit.datasetIndex);
          },
          scales: {
            x: { type: "linear", title: { display: true, text: label(chosen.x) } },
            y: { title: { display: true, text: label(chosen.y) } },
          },
        },
      },
      tableView,
      { "data-chart": "tradeoffs" },
    );
    if (drawn) {
      if (drawn.chart) dropChart(drawn.chart);
      drawn.figure.replaceWith(figure);
    } else section.append(figure);
    drawn = { figure, chart };
  };
  for (const [name, control] of Object.entries(controls))
    control.addEventListener("change", () => {
      chosen[name] = control.value;
      choose({ [name]: control.value });
      if (name === "p")
        for (const axisControl of [controls.x, controls.y])
          for (const option of axisControl.options) option.textContent = AXES[option.value].label(chosen.p);
      draw();
    });
  draw();
  return section;
}
