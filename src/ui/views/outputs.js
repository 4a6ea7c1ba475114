// The outputs matrix: items × targets of one workload, what each answered against the gold value.
import { element, table } from "../dom.js";

const answerOf = (item) => item?.parsed ?? item?.output ?? item?.entities?.join("; ") ?? "–";

/** `filter`: all, different (the targets answered differently) or wrong (any got it wrong); `link(name)` its URL. */
export function outputsMatrix(entries, filter, link) {
  const scored = entries.filter((entry) => entry.items.some((item) => item.correct !== undefined));
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
      element("a", { href: link(name), ...(name === filter ? { "aria-current": "true" } : {}) }, name),
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
