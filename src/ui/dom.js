// Building blocks of the page: elements, sortable tables, number formats. No framework: the page is small.

export const number = (value, digits = 1) =>
  value === null || value === undefined || Number.isNaN(value) ? "–" : Number(value).toFixed(digits);
export const percent = (value) =>
  value === null || value === undefined || Number.isNaN(value) ? "–" : `${(value * 100).toFixed(1)}%`;

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

/**
 * A table whose columns sort on click (or Enter on the header's button). A column: `title`, `cell(row)` (text or a
 * node), optional `sort(row)` (ascending), `text` (left-aligned) and `className(row)` (a cell's colour).
 */
export function table(caption, columns, rows) {
  const body = element("tbody");
  const render = (sorted) => {
    body.replaceChildren(
      ...sorted.map((row) =>
        element(
          "tr",
          row.className ? { class: row.className } : {},
          ...columns.map((column) => {
            const classes = [column.text ? "text" : "", column.className?.(row) ?? ""].filter(Boolean);
            return element("td", classes.length ? { class: classes.join(" ") } : {}, column.cell(row));
          }),
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
    "div",
    { class: "scroll" },
    element("table", {}, element("caption", { class: "muted" }, caption), element("thead", {}, header), body),
  );
}

/** A labelled control's row: `<label>text <control></label>`. */
export const labelled = (text, control) => element("label", {}, `${text} `, control);

/** A `<select>` of `[value, label]` options with `chosen` selected. */
export function select(name, options, chosen) {
  const node = element("select", { name });
  for (const [value, label] of options)
    node.append(element("option", { value, ...(value === chosen ? { selected: "" } : {}) }, label));
  return node;
}
