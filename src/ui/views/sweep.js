// Sweeps: throughput and E2E p99 at each swept value, the knee marked; a slider picks a value, and the table says
// which targets meet the objectives there.
import { chartFigure, color } from "../charts.js";
import { element, labelled, number, percent, table } from "../dom.js";
import { checkObjectives, OBJECTIVES, objectiveFigures, sweepValues } from "../figures.js";

const rateOf = (target) => (target.task === "generate" ? "output_tokens_per_s" : "items_per_s");

/** A line per swept target over the sweep's values, its knee drawn larger (a triangle). */
function curve(title, swept, parameter, figure) {
  const values = sweepValues(swept);
  const tableView = table(
    title,
    [
      { title: parameter, cell: (row) => String(row.value) },
      ...swept.map((t) => ({
        title: t.target,
        cell: (row) => {
          const point = t.sweep.points.find((p) => p.value === row.value);
          const mark = t.sweep.knee?.value === row.value ? " (knee)" : "";
          return point ? `${number(figure(t, point))}${mark}` : "–";
        },
      })),
    ],
    values.map((value) => ({ value })),
  );
  return chartFigure(
    title,
    {
      type: "line",
      data: {
        datasets: swept.map((t, index) => ({
          label: `${t.target} on ${t.workload}`,
          data: t.sweep.points.map((p) => ({ x: p.value, y: figure(t, p) })),
          borderColor: color(index),
          backgroundColor: color(index),
          pointStyle: t.sweep.points.map((p) => (p.value === t.sweep.knee?.value ? "triangle" : "circle")),
          pointRadius: t.sweep.points.map((p) => (p.value === t.sweep.knee?.value ? 9 : 3)),
        })),
      },
      options: { scales: { x: { type: "linear", title: { display: true, text: parameter } } } },
    },
    tableView,
  ).figure;
}

/** `state`: the URL's query (`at`: the slider's value); `objectives()`: the page's objectives now. */
export function sweeps(targets, state, choose, objectives) {
  const swept = targets.filter((t) => t.sweep?.points.length);
  if (swept.length === 0) return { node: "", refresh: () => {} };
  const parameter = swept[0].sweep.parameter;
  const values = sweepValues(swept);
  const start = Math.max(0, values.indexOf(Number(state.get("at"))));
  const slider = element("input", {
    type: "range",
    name: "at",
    min: "0",
    max: String(values.length - 1),
    step: "1",
    value: String(start),
    "aria-valuetext": `${parameter} ${values[start]}`,
  });
  const verdict = element("p", { role: "status", "data-sweep-verdict": "" });
  const rows = element("div");
  const knees = element(
    "ul",
    {},
    ...swept.map((t) =>
      element(
        "li",
        {},
        t.sweep.knee
          ? `${t.target}: knee at ${parameter} ${t.sweep.knee.value} (${t.sweep.knee.reason})`
          : `${t.target}: no knee`,
      ),
    ),
  );
  const refresh = () => {
    const value = values[Number(slider.value)];
    slider.setAttribute("aria-valuetext", `${parameter} ${value}`);
    const limits = objectives();
    const checked = swept.map((t) => {
      const point = t.sweep.points.find((p) => p.value === value);
      const outcome = point ? checkObjectives(objectiveFigures(t, point), limits) : {};
      const missed = Object.keys(outcome).filter((name) => outcome[name] === "missed");
      const unmeasured = Object.keys(outcome).filter((name) => outcome[name] === "unmeasured");
      return { t, point, missed, unmeasured };
    });
    const meeting = checked.filter(
      (row) => row.point && row.missed.length === 0 && row.unmeasured.length === 0,
    );
    const given = Object.keys(limits).length > 0;
    verdict.textContent = !given
      ? `At ${parameter} ${value}: set objectives above to see which targets meet them.`
      : meeting.length > 0
        ? `At ${parameter} ${value}, ${meeting.map((row) => row.t.target).join(", ")} meet${meeting.length === 1 ? "s" : ""} the objectives.`
        : `At ${parameter} ${value}, no target meets the objectives.`;
    rows.replaceChildren(
      table(
        `at ${parameter} ${value}`,
        [
          { title: "target", cell: (row) => `${row.t.target} on ${row.t.workload}` },
          { title: "throughput", cell: (row) => (row.point ? number(row.point[rateOf(row.t)]) : "–") },
          { title: "TTFT p50", cell: (row) => number(row.point?.ttft_p50_ms) },
          { title: "TTFT p99", cell: (row) => number(row.point?.ttft_p99_ms) },
          { title: "E2E p50", cell: (row) => number(row.point?.e2e_p50_ms) },
          { title: "E2E p99", cell: (row) => number(row.point?.e2e_p99_ms) },
          { title: "errors", cell: (row) => percent(row.point?.error_rate) },
          { title: "good", cell: (row) => percent(row.point?.good_fraction) },
          {
            title: "objectives",
            text: true,
            cell: (row) =>
              !row.point
                ? "not run at this value"
                : !given
                  ? "–"
                  : row.missed.length > 0
                    ? `missed: ${row.missed.map((name) => OBJECTIVES[name].label).join(", ")}`
                    : row.unmeasured.length > 0
                      ? `not measured: ${row.unmeasured.map((name) => OBJECTIVES[name].label).join(", ")}`
                      : "met",
          },
        ],
        checked.map((row) => ({
          ...row,
          className:
            !given || !row.point ? "" : row.missed.length > 0 ? "bad" : row.unmeasured.length ? "" : "good",
        })),
      ),
    );
  };
  slider.addEventListener("input", () => {
    choose({ at: String(values[Number(slider.value)]) });
    refresh();
  });
  refresh();
  const node = element(
    "section",
    { "aria-label": "sweeps" },
    element("h2", {}, `Sweep over ${parameter}`),
    knees,
    curve(`Throughput by ${parameter} (the knee a triangle)`, swept, parameter, (t, p) => p[rateOf(t)]),
    curve(`E2E p99 (ms) by ${parameter}`, swept, parameter, (_t, p) => p.e2e_p99_ms),
    element("p", {}, labelled(`Choose ${parameter}`, slider)),
    verdict,
    rows,
  );
  return { node, refresh };
}
