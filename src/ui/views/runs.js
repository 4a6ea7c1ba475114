// `#/runs`: the run store's history, newest first; two ticked open their diff.
import { get } from "../api.js";
import { element, table } from "../dom.js";

export async function runsView(view) {
  const { data } = await get("/ui/api/runs");
  const chosen = [];
  const diff = element("a", { href: "#/runs", "aria-disabled": "true" }, "Diff the two runs ticked");
  const rows = data.map((run) => {
    const box = element("input", { type: "checkbox", "aria-label": `choose ${run.id}` });
    box.addEventListener("change", () => {
      if (box.checked) chosen.push(run.id);
      else chosen.splice(chosen.indexOf(run.id), 1);
      const [before, after] = chosen.slice(-2);
      if (chosen.length >= 2) {
        diff.setAttribute("href", `#/diff/${before}/${after}`);
        diff.removeAttribute("aria-disabled");
      } else {
        diff.setAttribute("href", "#/runs");
        diff.setAttribute("aria-disabled", "true");
      }
    });
    return { ...run, box };
  });
  view.replaceChildren(
    element("h1", {}, "Runs"),
    rows.length === 0
      ? element("p", { class: "muted" }, "No runs yet: infergate compare saves every run here.")
      : "",
    table(
      `${rows.length} runs, newest first`,
      [
        { title: "", cell: (run) => run.box },
        { title: "run", cell: (run) => element("a", { href: `#/runs/${run.id}` }, run.id) },
        { title: "when", cell: (run) => new Date(run.createdAt).toLocaleString() },
        { title: "kind", cell: (run) => run.kind },
        { title: "from", cell: (run) => run.source },
        { title: "targets", cell: (run) => [...new Set(run.targets)].join(", ") },
      ],
      rows,
    ),
    diff,
  );
}
