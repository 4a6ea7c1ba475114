import type { Report } from "../compare.js";
import { kneeLines, summaryTables } from "./summary-table.js";

/** The report as Markdown: a table per task, then the verdicts and how the load was generated. */
export function markdownReport(report: Report): string {
  const parts = [
    "# infergate report",
    "",
    `${report.created_at} · ${report.machine.cpus} × ${report.machine.cpu_model} · Node ${report.machine.node}`,
    "",
  ];
  for (const table of summaryTables(report)) {
    parts.push(`## ${table.title}`, "");
    parts.push(
      `| ${table.header.join(" | ")} |`,
      `|${table.header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    );
    for (const row of table.rows) parts.push(`| ${row.join(" | ")} |`);
    parts.push("");
  }
  if (report.verdicts.length > 0)
    parts.push("## Verdicts", "", ...report.verdicts.map((verdict) => `- ${verdict}`), "");
  const knees = kneeLines(report);
  if (knees.length > 0) parts.push("## Sweeps", "", ...knees.map((line) => `- ${line}`), "");
  parts.push("## Load", "", "```json", JSON.stringify(report.load, null, 2), "```", "");
  return parts.join("\n");
}
