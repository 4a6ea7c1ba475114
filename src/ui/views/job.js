// `#/jobs/ID`: a run from the page as it goes, over server-sent events. EventSource reconnects by itself after a
// cut and says the last event it had (`Last-Event-ID`): the gateway sends what it missed, or a snapshot.
import { events, post } from "../api.js";
import { chartFigure } from "../charts.js";
import { element, number, table } from "../dom.js";

const FINISHED = ["done", "failed", "cancelled"];
/** Requests the scatter's table shows: the newest. */
const TABLE_POINTS = 50;

export function jobView(view, route, page) {
  const [id] = route.segments;
  const state = { status: "queued", targets: [], points: [], run: undefined, error: undefined };
  const status = element("p", { role: "status", "data-job-status": "" });
  const progress = element("div");
  const pointsTable = element("div");
  const count = element("p", { class: "muted", "data-points": "" });
  const cancel = element("button", { type: "button" }, "Cancel");
  cancel.addEventListener("click", () => post(`/ui/api/jobs/${id}/cancel`));
  const { figure, chart } = chartFigure(
    "Latency of each request as it finished",
    {
      type: "scatter",
      data: { datasets: [] },
      options: {
        scales: {
          x: { title: { display: true, text: "s since start" } },
          y: { title: { display: true, text: "E2E ms" } },
        },
      },
    },
    pointsTable,
  );
  figure.append(count);
  const draw = () => {
    status.textContent = `${state.status}${state.error ? `: ${state.error}` : ""}`;
    progress.replaceChildren(
      table(
        "per target",
        [
          { title: "target", cell: (t) => `${t.target} on ${t.workload}` },
          {
            title: "progress",
            cell: (t) =>
              element("progress", {
                max: String(t.total),
                value: String(t.done),
                "aria-label": `${t.target}: ${t.done} of ${t.total}`,
              }),
          },
          { title: "done", cell: (t) => `${t.done}/${t.total}` },
          { title: "errors", cell: (t) => String(t.errors) },
          { title: "E2E p50 ms", cell: (t) => number(t.e2e_p50_ms) },
          { title: "E2E p95 ms", cell: (t) => number(t.e2e_p95_ms) },
          { title: "TTFT p50 ms", cell: (t) => number(t.ttft_p50_ms) },
        ],
        state.targets,
      ),
      state.run ? element("p", {}, "Saved: ", element("a", { href: `#/runs/${state.run}` }, state.run)) : "",
    );
    count.textContent = `${state.points.length} requests plotted`;
    pointsTable.replaceChildren(
      table(
        `the newest ${Math.min(TABLE_POINTS, state.points.length)} requests`,
        [
          { title: "target", cell: ([at]) => state.targets[at]?.target ?? String(at) },
          { title: "s since start", cell: ([, ms]) => number(ms / 1000, 2) },
          { title: "E2E ms", cell: ([, , e2e]) => number(e2e, 2) },
        ],
        state.points.slice(-TABLE_POINTS).reverse(),
      ),
    );
    if (chart) {
      chart.data.datasets = state.targets.map((t, index) => ({
        label: t.target,
        data: state.points.filter(([at]) => at === index).map(([, ms, e2e]) => ({ x: ms / 1000, y: e2e })),
      }));
      chart.update();
    }
    cancel.hidden = FINISHED.includes(state.status);
  };
  const source = events(`/ui/api/jobs/${id}/events`);
  page.onLeave(() => source.close());
  source.addEventListener("snapshot", (event) => {
    Object.assign(state, JSON.parse(event.data));
    draw();
  });
  source.addEventListener("progress", (event) => {
    const { targets, points } = JSON.parse(event.data);
    state.targets = targets;
    state.points.push(...points);
    draw();
  });
  source.addEventListener("status", (event) => {
    Object.assign(state, JSON.parse(event.data));
    draw();
    if (FINISHED.includes(state.status)) source.close();
  });
  view.replaceChildren(element("h1", {}, `Run ${id}`), status, progress, figure, cancel);
  draw();
}
