// `#/diff/BEFORE/AFTER`: per target, the accuracy change with its interval and McNemar, and the latency changes.
import { get } from "../api.js";
import { element, number, table } from "../dom.js";

export async function diffView(view, route) {
  const [before, after] = route.segments;
  const diff = await get(
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
