// The dashboard: one page, no framework. The URL's hash holds the view (#/live, #/runs, #/runs/ID, #/diff/A/B,
// #/new, #/jobs/ID) and, after a `?`, its state, so a view can be shared.
import { destroyCharts } from "./charts.js";
import { element } from "./dom.js";
import { diffView } from "./views/diff.js";
import { jobView } from "./views/job.js";
import { liveView } from "./views/live.js";
import { newRunView } from "./views/new-run.js";
import { runView } from "./views/run.js";
import { runsView } from "./views/runs.js";

const view = document.getElementById("view");
const leaving = [];

/** What a view may ask of the page: run something later, or when the view is left. */
const page = {
  later: (work, ms) => {
    const timer = setTimeout(work, ms);
    leaving.push(() => clearTimeout(timer));
  },
  onLeave: (work) => leaving.push(work),
  refresh: () => render(),
};

/** The route: the hash's path segments after the view's name, its query, and how to change the query. */
function routeOf(hash) {
  const [path, search = ""] = hash.replace(/^#/, "").split("?");
  const [, name, ...segments] = path.split("/");
  const query = new URLSearchParams(search);
  const href = (to, updates) => {
    const next = new URLSearchParams(query);
    for (const [key, value] of Object.entries(updates))
      if (value === undefined || value === "") next.delete(key);
      else next.set(key, value);
    const text = next.toString();
    return `#${to}${text ? `?${text}` : ""}`;
  };
  return {
    name: name || "live",
    segments,
    query,
    href,
    /** Keeps a change of state in the URL without rendering the view again. */
    replace: (updates) => {
      for (const [key, value] of Object.entries(updates))
        if (value === undefined || value === "") query.delete(key);
        else query.set(key, value);
      history.replaceState(null, "", href(path, {}));
    },
  };
}

const VIEWS = {
  live: liveView,
  runs: (target, route, context) => (route.segments[0] ? runView : runsView)(target, route, context),
  diff: diffView,
  new: newRunView,
  jobs: jobView,
};
/** The header link lit for each view. */
const SECTION = { diff: "runs", jobs: "new" };

async function render() {
  for (const work of leaving.splice(0)) work();
  destroyCharts();
  const route = routeOf(location.hash);
  for (const link of document.querySelectorAll("header a")) {
    if (link.getAttribute("href") === `#/${SECTION[route.name] ?? route.name}`)
      link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    return await (VIEWS[route.name] ?? liveView)(view, route, page);
  } catch (error) {
    view.replaceChildren(
      element(
        "p",
        { class: "error", role: "alert" },
        `The dashboard could not load this view: ${error.message}`,
      ),
    );
  }
}

window.addEventListener("hashchange", async () => {
  const focus = await render();
  (focus ?? view).focus();
});
render();
