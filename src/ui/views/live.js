// `#/live`: the gateway now, from its in-process 15-minute window (summed across --workers); every 2 s.
import { get } from "../api.js";
import { lineChart } from "../charts.js";
import { element, number, percent, table } from "../dom.js";

export async function liveView(view, _route, page) {
  const live = await get("/ui/api/live");
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
  page.later(() => page.refresh(), 2000);
}
