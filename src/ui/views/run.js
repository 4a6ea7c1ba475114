// `#/runs/ID[/all|different|wrong][?…]`: one stored run. The query holds the rest of the view's state (the
// scatter's axes, the objectives, the sweep's value, the target opened), so a view can be shared.
import { get } from "../api.js";
import { element, labelled } from "../dom.js";
import { OBJECTIVES, objectivesOfRun } from "../figures.js";
import { latencies } from "./latency.js";
import { leaderboard } from "./leaderboard.js";
import { outputsMatrix } from "./outputs.js";
import { sweeps } from "./sweep.js";
import { targetDetails } from "./target-details.js";
import { tradeoffs } from "./tradeoffs.js";

export async function runView(view, route) {
  const [id, filter = "all"] = route.segments;
  const run = await get(`/ui/api/runs/${encodeURIComponent(id)}`);
  const path = `/runs/${id}/${filter}`;
  const targets = run.report.targets.map((t, index) => ({
    ...t,
    detailsHref: route.href(path, { target: String(index) }),
  }));
  const objectives = objectivesForm(run.report, route);
  const board = element("div", {}, leaderboard(targets, objectives.values()));
  const sweep = sweeps(targets, route.query, route.replace, objectives.values);
  objectives.onChange(() => {
    board.replaceChildren(leaderboard(targets, objectives.values()));
    sweep.refresh();
  });
  const opened = route.query.has("target") ? targets[Number(route.query.get("target"))] : undefined;
  view.replaceChildren(
    element("h1", {}, `Run ${run.id}`),
    element(
      "p",
      { class: "muted" },
      `${run.kind} from the ${run.source}, ${new Date(run.createdAt).toLocaleString()}`,
    ),
    element("ul", {}, ...run.report.verdicts.map((verdict) => element("li", {}, verdict))),
    objectives.node,
    board,
    opened ? targetDetails(opened) : "",
    tradeoffs(targets, route.query, route.replace, (index) => {
      location.hash = targets[index].detailsHref;
    }),
    sweep.node,
    latencies(run.report, run.runs),
    outputsMatrix(run.runs, filter, (name) => route.href(`/runs/${id}/${name}`, {})),
  );
  return opened ? view.querySelector("#target-details h2") : undefined;
}

/** The objectives the leaderboard and the sweep are held to: from the URL, else the run's own SLOs. */
function objectivesForm(report, route) {
  const own = objectivesOfRun(report);
  const inputs = Object.fromEntries(
    Object.keys(OBJECTIVES).map((name) => {
      const given = route.query.get(name) ?? own[name];
      return [
        name,
        element("input", {
          type: "number",
          name,
          step: "any",
          min: "0",
          ...(given !== undefined && given !== "" ? { value: String(given) } : {}),
        }),
      ];
    }),
  );
  const values = () =>
    Object.fromEntries(
      Object.entries(inputs)
        .filter(([, input]) => input.value !== "" && Number.isFinite(Number(input.value)))
        .map(([name, input]) => [name, Number(input.value)]),
    );
  const listeners = [];
  for (const [name, input] of Object.entries(inputs))
    input.addEventListener("input", () => {
      route.replace({ [name]: input.value });
      for (const listener of listeners) listener();
    });
  const node = element(
    "fieldset",
    { "aria-label": "objectives" },
    element("legend", {}, "Objectives (cells coloured: met green, missed red)"),
    ...Object.entries(OBJECTIVES).map(([name, { label }]) => labelled(label, inputs[name])),
  );
  return { node, values, onChange: (listener) => listeners.push(listener) };
}
