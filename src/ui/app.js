// The dashboard: one page, no framework. The URL's hash holds the view (#/live, #/runs, #/runs/ID,
// #/diff/BEFORE/AFTER), so a view can be shared. Off loopback the API wants an admin key: given once as ?key=,
// it is kept for this tab only (sessionStorage) and sent as a bearer token.
const view = document.getElementById("view");
const params = new URLSearchParams(location.search);
if (params.has("key")) sessionStorage.setItem("infergate-key", params.get("key"));
const key = sessionStorage.getItem("infergate-key");
let timer;
const charts = [];
const streams = [];

async function api(path) {
  const response = await fetch(path, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  const body = await response.json();
  if (response.status === 401)
    throw new Error(`${body.error?.message}: off loopback, open this page as /ui?key=ADMIN_KEY`);
  if (!response.ok) throw new Error(body.error?.message ?? `${response.status}`);
  return body;
}

const number = (value, digits = 1) =>
  value === null || value === undefined || Number.isNaN(value) ? "–" : Number(value).toFixed(digits);
const percent = (value) => (value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`);

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

/** A table whose columns sort on click (or Enter on the header's button); a `text` column is left-aligned. */
function table(caption, columns, rows) {
  const body = element("tbody");
  const render = (sorted) => {
    body.replaceChildren(
      ...sorted.map((row) =>
        element(
          "tr",
          row.className ? { class: row.className } : {},
          ...columns.map((column) => element("td", column.text ? { class: "text" } : {}, column.cell(row))),
        ),
      ),
    );
  };
  const header = element(
    "tr",
    {},
    ...columns.map((column) => {
      const button = element("button", { type: "button" }, column.title);
      button.addEventListener("click", () =>
        render([...rows].sort((a, b) => (column.sort ? column.sort(a) - column.sort(b) : 0))),
      );
      return element("th", { scope: "col" }, button);
    }),
  );
  render(rows);
  return element(
    "table",
    {},
    element("caption", { class: "muted" }, caption),
    element("thead", {}, header),
    body,
  );
}

/** A line chart with an accessible name, and the same figures as a table beside it. */
function lineChart(title, labels, datasets) {
  const canvas = element("canvas", { role: "img", "aria-label": title, height: "90" });
  const figure = element("figure", {}, element("figcaption", {}, title), canvas);
  const details = element("details", {}, element("summary", {}, `${title}: as a table`));
  const recent = labels.slice(-30);
  details.append(
    table(
      `${title}, the last 30 seconds`,
      [
        { title: "time", cell: (row) => row.label },
        ...datasets.map((set, index) => ({ title: set.label, cell: (row) => number(row.values[index], 2) })),
      ],
      recent.map((label, at) => ({ label, values: datasets.map((set) => set.data.at(at - recent.length)) })),
    ),
  );
  figure.append(details);
  if (globalThis.Chart) {
    charts.push(
      new globalThis.Chart(canvas, {
        type: "line",
        data: { labels, datasets: datasets.map((set) => ({ ...set, pointRadius: 0, borderWidth: 1.5 })) },
        options: { animation: false, responsive: true, scales: { x: { ticks: { maxTicksLimit: 10 } } } },
      }),
    );
  }
  return figure;
}

function clear() {
  clearTimeout(timer);
  for (const chart of charts.splice(0)) chart.destroy();
  for (const stream of streams.splice(0)) stream.close();
}

async function liveView() {
  const live = await api("/ui/api/live");
  const tiles = [
    ["requests/s", number(live.tiles.requests_per_s)],
    ["tokens/s", number(live.tiles.tokens_per_s)],
    ["errors", percent(live.tiles.error_ratio)],
    ["TTFT p95 ms", number(live.tiles.ttft_p95_ms)],
    ["E2E p95 ms", number(live.tiles.e2e_p95_ms)],
    ["in flight", String(live.tiles.in_flight)],
    ["queue depth", String(live.tiles.queue_depth)],
    ["cache hits", percent(live.tiles.cache_hit_ratio)],
  ];
  const labels = live.series.map((point) => new Date(point.at * 1000).toLocaleTimeString());
  view.replaceChildren(
    element("h1", {}, "Live gateway"),
    element(
      "ul",
      { class: "tiles", "aria-label": "the last 10 seconds" },
      ...tiles.map(([name, value]) =>
        element("li", { "data-tile": name }, name, element("span", { class: "value" }, value)),
      ),
    ),
    lineChart("Requests per second, last 15 minutes", labels, [
      { label: "requests/s", data: live.series.map((p) => p.requests_per_s) },
    ]),
    lineChart("Latency p95 (ms), last 15 minutes", labels, [
      { label: "E2E p95", data: live.series.map((p) => p.e2e_p95_ms) },
      { label: "TTFT p95", data: live.series.map((p) => p.ttft_p95_ms) },
    ]),
    element("h2", {}, "Models (last minute)"),
    table(
      "per model",
      [
        { title: "model", cell: (m) => m.model },
        { title: "precision", cell: (m) => m.precision ?? "–" },
        { title: "requests/s", cell: (m) => number(m.requests_per_s, 2), sort: (m) => -m.requests_per_s },
        { title: "tokens/s", cell: (m) => number(m.tokens_per_s), sort: (m) => -m.tokens_per_s },
        { title: "errors", cell: (m) => percent(m.error_ratio), sort: (m) => -m.error_ratio },
        { title: "E2E p95 ms", cell: (m) => number(m.e2e_p95_ms), sort: (m) => -(m.e2e_p95_ms ?? 0) },
        { title: "in flight", cell: (m) => String(m.in_flight) },
        { title: "queued", cell: (m) => String(m.queued) },
      ],
      live.models.map((m) => ({ ...m, className: m.error_ratio > 0.05 ? "bad" : "" })),
    ),
    element("h2", {}, "A/B arms (last minute)"),
    table(
      "per arm",
      [
        { title: "route", cell: (a) => a.route },
        { title: "arm", cell: (a) => a.arm },
        { title: "share", cell: (a) => percent(a.share) },
        { title: "requests/s", cell: (a) => number(a.requests_per_s, 2) },
        { title: "errors", cell: (a) => percent(a.error_ratio) },
        { title: "E2E p95 ms", cell: (a) => number(a.e2e_p95_ms) },
      ],
      live.arms,
    ),
    element("h2", {}, "Circuit breakers"),
    table(
      "per route target",
      [
        { title: "route", cell: (b) => b.route },
        { title: "target", cell: (b) => b.target },
        { title: "state", cell: (b) => b.state },
      ],
      live.breakers.map((b) => ({ ...b, className: b.state === "closed" ? "" : "bad" })),
    ),
  );
  timer = setTimeout(() => render(), 2000);
}

async function runsView() {
  const { data } = await api("/ui/api/runs");
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

/** Items × targets of one workload: what each answered, against the gold value; `filter` all, different or wrong. */
function outputsMatrix(run, filter) {
  const scored = run.runs.filter((entry) => entry.items.some((item) => item.correct !== undefined));
  const workload = scored[0]?.workload;
  if (workload === undefined) return element("p", { class: "muted" }, "No scored items in this run.");
  const columns = scored.filter((entry) => entry.workload === workload);
  const byIndex = new Map();
  for (const [at, entry] of columns.entries())
    for (const item of entry.items) {
      const row = byIndex.get(item.index) ?? {
        index: item.index,
        preview: item.preview,
        gold: item.gold,
        answers: [],
      };
      row.answers[at] = item;
      byIndex.set(item.index, row);
    }
  const answerOf = (item) => item?.parsed ?? item?.output ?? item?.entities?.join("; ") ?? "–";
  const rows = [...byIndex.values()].filter((row) =>
    filter === "wrong"
      ? row.answers.some((item) => item?.correct === false)
      : filter === "different"
        ? new Set(row.answers.map(answerOf)).size > 1
        : true,
  );
  const links = element(
    "p",
    {},
    "Show: ",
    ...["all", "different", "wrong"].flatMap((name) => [
      element(
        "a",
        { href: `#/runs/${run.id}/${name}`, ...(name === filter ? { "aria-current": "true" } : {}) },
        name,
      ),
      " ",
    ]),
  );
  return element(
    "section",
    { "aria-label": "outputs" },
    element("h2", {}, `Outputs: ${workload}`),
    links,
    table(
      `${rows.length} items (${filter})`,
      [
        { title: "item", cell: (row) => String(row.index), sort: (row) => row.index },
        { title: "text", cell: (row) => row.preview, text: true },
        { title: "gold", cell: (row) => [row.gold ?? "–"].flat().join(", ") },
        ...columns.map((entry, at) => ({
          title: entry.target,
          cell: (row) =>
            element(
              "span",
              { class: row.answers[at]?.correct === false ? "bad" : "good" },
              answerOf(row.answers[at]),
            ),
        })),
      ],
      rows,
    ),
  );
}

async function runView(id, filter = "all") {
  const run = await api(`/ui/api/runs/${encodeURIComponent(id)}`);
  const withCdf = run.report.targets.filter((t) => t.cdf?.e2e_ms?.length);
  const cdf = withCdf.length
    ? lineChart(
        "E2E latency (ms) by percentile, per target",
        withCdf[0].cdf.e2e_ms.map(([percentile]) => `p${percentile}`),
        withCdf.map((t) => ({
          label: `${t.target} on ${t.workload}`,
          data: t.cdf.e2e_ms.map(([, ms]) => ms),
        })),
      )
    : "";
  const quality = (t) => t.metrics.accuracy?.accuracy ?? t.metrics.entities?.strict?.f1;
  view.replaceChildren(
    element("h1", {}, `Run ${run.id}`),
    element(
      "p",
      { class: "muted" },
      `${run.kind} from the ${run.source}, ${new Date(run.createdAt).toLocaleString()}`,
    ),
    element("ul", {}, ...run.report.verdicts.map((verdict) => element("li", {}, verdict))),
    table(
      "leaderboard: one row per target and workload",
      [
        { title: "target", cell: (t) => t.target },
        { title: "workload", cell: (t) => t.workload },
        { title: "quality", cell: (t) => number(quality(t), 3), sort: (t) => -(quality(t) ?? -1) },
        {
          title: "TTFT p50",
          cell: (t) => number(t.metrics.ttft_ms?.p50),
          sort: (t) => t.metrics.ttft_ms?.p50 ?? 0,
        },
        {
          title: "E2E p50",
          cell: (t) => number(t.metrics.e2e_ms?.p50),
          sort: (t) => t.metrics.e2e_ms?.p50 ?? 0,
        },
        {
          title: "E2E p95",
          cell: (t) => number(t.metrics.e2e_ms?.p95),
          sort: (t) => t.metrics.e2e_ms?.p95 ?? 0,
        },
        {
          title: "E2E p99",
          cell: (t) => number(t.metrics.e2e_ms?.p99),
          sort: (t) => t.metrics.e2e_ms?.p99 ?? 0,
        },
        {
          title: "items/s",
          cell: (t) => number(t.metrics.requests_per_s),
          sort: (t) => -t.metrics.requests_per_s,
        },
        {
          title: "tokens/s",
          cell: (t) => number(t.metrics.output_tokens_per_s),
          sort: (t) => -t.metrics.output_tokens_per_s,
        },
        {
          title: "peak MiB/request",
          cell: (t) => number((t.metrics.peak_rss_bytes_per_request ?? Number.NaN) / 2 ** 20),
          sort: (t) => t.metrics.peak_rss_bytes_per_request ?? 0,
        },
        {
          title: "cold start ms",
          cell: (t) => number(t.metrics.cold_start_ms?.p50, 0),
          sort: (t) => t.metrics.cold_start_ms?.p50 ?? 0,
        },
        { title: "errors", cell: (t) => percent(t.metrics.error_rate), sort: (t) => t.metrics.error_rate },
      ],
      run.report.targets.map((t) => ({ ...t, className: t.metrics.error_rate > 0 ? "bad" : "" })),
    ),
    cdf,
    outputsMatrix(run, filter),
  );
}

async function diffView(before, after) {
  const diff = await api(
    `/ui/api/diff?before=${encodeURIComponent(before)}&after=${encodeURIComponent(after)}`,
  );
  const change = (d) =>
    `${d.difference >= 0 ? "+" : ""}${number(d.difference, 3)} (95% CI ${number(d.low, 3)} … ${number(d.high, 3)})`;
  view.replaceChildren(
    element("h1", {}, "Diff"),
    element(
      "p",
      {},
      element("a", { href: `#/runs/${before}` }, before),
      " → ",
      element("a", { href: `#/runs/${after}` }, after),
    ),
    table(
      "per target: after − before",
      [
        { title: "target", cell: (t) => `${t.target} on ${t.workload}` },
        { title: "paired items", cell: (t) => String(t.paired_items) },
        { title: "accuracy change", cell: (t) => (t.accuracy ? change(t.accuracy.delta) : "–") },
        { title: "McNemar p", cell: (t) => (t.accuracy ? number(t.accuracy.mcnemar.p_value, 4) : "–") },
        { title: "E2E p50 change ms", cell: (t) => change(t.e2e_p50_ms.delta) },
        { title: "E2E p99 change ms", cell: (t) => change(t.e2e_p99_ms.delta) },
        { title: "errors", cell: (t) => `${t.errors.before} → ${t.errors.after}` },
      ],
      diff.targets.map((t) => ({
        ...t,
        className:
          t.accuracy && t.accuracy.delta.high < 0
            ? "bad"
            : t.accuracy && t.accuracy.delta.low > 0
              ? "good"
              : "",
      })),
    ),
  );
}

/** `#/new`: a compare or bench of this gateway's models, on the bundled workload or an uploaded JSONL. */
async function newRunView() {
  const { data } = await api("/ui/api/models");
  const form = element("form", { "aria-label": "new run" });
  const kinds = element(
    "fieldset",
    {},
    element("legend", {}, "Run"),
    ...["compare", "bench"].flatMap((kind) => [
      element(
        "label",
        {},
        element("input", {
          type: "radio",
          name: "kind",
          value: kind,
          ...(kind === "compare" ? { checked: "" } : {}),
        }),
        ` ${kind} `,
      ),
    ]),
  );
  const targets = element(
    "fieldset",
    {},
    element("legend", {}, "Targets"),
    ...data.map((model) =>
      element(
        "label",
        {},
        element("input", { type: "checkbox", name: "target", value: model.id }),
        ` ${model.id} (${model.task}) `,
      ),
    ),
  );
  const requests = element("input", {
    type: "number",
    name: "requests",
    min: "1",
    max: "100000",
    value: "100",
  });
  const concurrency = element("input", {
    type: "number",
    name: "concurrency",
    min: "1",
    max: "1024",
    value: "1",
  });
  const upload = element("input", { type: "file", name: "dataset", accept: ".jsonl,application/jsonl" });
  const message = element("p", { role: "alert", class: "error" });
  form.append(
    kinds,
    targets,
    element(
      "p",
      {},
      element("label", {}, "Requests per target ", requests),
      " ",
      element("label", {}, "In flight ", concurrency),
    ),
    element("p", {}, element("label", {}, "Workload (JSONL, optional: the bundled one without) ", upload)),
    element("button", { type: "submit" }, "Start"),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      kind: form.querySelector("input[name=kind]:checked").value,
      targets: [...form.querySelectorAll("input[name=target]:checked")].map((box) => box.value),
      requests: Number(requests.value),
      concurrency: Number(concurrency.value),
    };
    const file = upload.files?.[0];
    if (file) body.dataset = { jsonl: await file.text() };
    const response = await fetch("/ui/api/jobs", {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) message.textContent = answer.error?.message ?? `${response.status}`;
    else location.hash = `#/jobs/${answer.id}`;
  });
  view.replaceChildren(element("h1", {}, "New run"), form);
}

/**
 * `#/jobs/ID`: a run from the page as it goes, over server-sent events. EventSource reconnects by itself after a
 * cut and says the last event it had (`Last-Event-ID`): the gateway sends what it missed, or a snapshot.
 */
function jobView(id) {
  const state = { status: "queued", targets: [], points: [], run: undefined, error: undefined };
  const status = element("p", { role: "status", "data-job-status": "" });
  const progress = element("div");
  const canvas = element("canvas", {
    role: "img",
    "aria-label": "latency of each request as it finished",
    height: "90",
  });
  const count = element("p", { class: "muted", "data-points": "" });
  const cancel = element("button", { type: "button" }, "Cancel");
  cancel.addEventListener("click", () =>
    fetch(`/ui/api/jobs/${id}/cancel`, {
      method: "POST",
      headers: key ? { authorization: `Bearer ${key}` } : {},
    }),
  );
  const chart = globalThis.Chart
    ? new globalThis.Chart(canvas, {
        type: "scatter",
        data: { datasets: [] },
        options: {
          animation: false,
          scales: {
            x: { title: { display: true, text: "s since start" } },
            y: { title: { display: true, text: "E2E ms" } },
          },
        },
      })
    : undefined;
  if (chart) charts.push(chart);
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
    if (chart) {
      chart.data.datasets = state.targets.map((t, index) => ({
        label: t.target,
        data: state.points.filter(([at]) => at === index).map(([, ms, e2e]) => ({ x: ms / 1000, y: e2e })),
      }));
      chart.update();
    }
    cancel.hidden = ["done", "failed", "cancelled"].includes(state.status);
  };
  const source = new EventSource(`/ui/api/jobs/${id}/events${key ? `?key=${encodeURIComponent(key)}` : ""}`);
  streams.push(source);
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
    if (["done", "failed", "cancelled"].includes(state.status)) source.close();
  });
  view.replaceChildren(
    element("h1", {}, `Run ${id}`),
    status,
    progress,
    element("figure", {}, element("figcaption", {}, "Latency of each request"), canvas, count),
    cancel,
  );
  draw();
}

async function render() {
  clear();
  const [, name, first, second] = location.hash.split("/");
  for (const link of document.querySelectorAll("header a")) {
    if (
      link.getAttribute("href") ===
      `#/${name === "diff" ? "runs" : name === "jobs" ? "new" : (name ?? "live")}`
    )
      link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    if (name === "runs" && first) await runView(first, second);
    else if (name === "runs") await runsView();
    else if (name === "diff" && first && second) await diffView(first, second);
    else if (name === "new") await newRunView();
    else if (name === "jobs" && first) jobView(first);
    else await liveView();
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

window.addEventListener("hashchange", () => {
  render();
  view.focus();
});
render();
