import type { Report } from "../compare.js";
import { kneeLines, summaryTables } from "./summary-table.js";

/** The report as aligned plain-text tables and the verdict lines. */
export function terminalReport(report: Report): string {
  const blocks = summaryTables(report).map((table) => {
    const widths = table.header.map((title, column) =>
      Math.max(title.length, ...table.rows.map((row) => (row[column] ?? "").length)),
    );
    const line = (cells: readonly string[]) =>
      cells
        .map((cell, column) =>
          column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
        )
        .join("  ");
    return [table.title, line(table.header), ...table.rows.map(line)].join("\n");
  });
  if (report.verdicts.length > 0) blocks.push(report.verdicts.map((verdict) => `• ${verdict}`).join("\n"));
  const knees = kneeLines(report);
  if (knees.length > 0) blocks.push(knees.join("\n"));
  return `${blocks.join("\n\n")}\n`;
}
