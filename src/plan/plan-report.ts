import type { Attainment } from "./candidates.js";
import { relativeMiss } from "./choose.js";
import type { Objective } from "./objectives.js";
import { capacityLine, figure } from "./plan-config.js";
import type { PlanFile } from "./plan-file.js";

type Facts = NonNullable<PlanFile["choice"]["chosen"]>;

/** The candidates, each with its verdict: chosen, a fallback, or rejected with the objectives it missed. */
function rows(file: PlanFile): { facts: Facts; verdict: string }[] {
  const { chosen, fallbacks, rejected } = file.choice;
  return [
    ...(chosen ? [{ facts: chosen, verdict: "chosen" }] : []),
    ...fallbacks.map((facts, i) => ({ facts, verdict: i < 3 ? `fallback ${i + 1}` : "meets (not chained)" })),
    ...rejected.map((facts) => ({ facts, verdict: `rejected: ${misses(facts.attainments)}` })),
  ];
}

/** "min_accuracy 0.262 < 0.95 (short by 72%)", per missed objective. */
export function misses(attainments: readonly Attainment[]): string {
  return attainments
    .filter((attainment) => !attainment.met)
    .map((attainment) => {
      if (attainment.note) return attainment.note;
      if (attainment.value === undefined) return `${attainment.objective} not measured`;
      const sign = attainment.bound === "min" ? "<" : ">";
      const by = `${(relativeMiss(attainment) * 100).toFixed(0)}%`;
      return `${attainment.objective} ${figure(attainment.value)} ${sign} ${figure(attainment.limit)} (${attainment.bound === "min" ? "short" : "over"} by ${by})`;
    })
    .join("; ");
}

function qualityCell(facts: Facts, metric: string | null): string {
  const quality = metric ? facts.quality[metric] : undefined;
  if (!quality) return "–";
  return quality.low === quality.high
    ? figure(quality.value)
    : `${figure(quality.value)} (${figure(quality.low)}–${figure(quality.high)})`;
}

function cells(facts: Facts, metric: string | null): string[] {
  return [
    facts.name,
    qualityCell(facts, metric),
    `${figure(facts.e2e_p99_ms)} ms`,
    facts.ttft_p99_ms > 0 ? `${figure(facts.ttft_p99_ms)} ms` : "–",
    facts.cost_per_1k_usd === null ? "–" : `$${facts.cost_per_1k_usd.toPrecision(3)}`,
    facts.memory_mb === null ? "–" : `${facts.memory_mb.toFixed(0)} MB`,
  ];
}

function headline(file: PlanFile, objectives: readonly Objective[]): string {
  const load = file.rate === undefined ? "one request at a time" : `${file.rate} requests/s (open loop)`;
  const wanted = objectives
    .map((objective) => `${objective.name} ${objective.bound === "min" ? "≥" : "≤"} ${objective.limit}`)
    .join(", ");
  return `plan for route '${file.route}' on ${file.dataset} at ${load}; objectives: ${wanted}`;
}

function outcome(file: PlanFile): string {
  const { chosen, rejected } = file.choice;
  if (chosen) {
    const plan = file.plan;
    const chain = plan && plan.fallbacks.length > 0 ? `, falling back to ${plan.fallbacks.join(", ")}` : "";
    return `serve ${chosen.name}${chain}: infergate --config plan.yaml serve; check it with infergate plan --verify DIR`;
  }
  const closest = rejected.slice(0, 3).map((facts) => `${facts.name} (${misses(facts.attainments)})`);
  return `no candidate meets every objective (exit 3); closest: ${closest.join(", ")}`;
}

/** The per-domain accuracies that justified (or not) each specialist rule. */
function domainLines(file: PlanFile): { header: string[]; rows: string[][]; notes: string[] } | undefined {
  const domains = file.domains;
  if (!domains) return undefined;
  const names = Object.keys(domains.table[0]?.accuracy ?? {});
  const header = ["domain", "items", ...names.map((name) => `${name} accuracy`), "specialist"];
  const rows = domains.table.map((row) => {
    const planned = domains.specialists.find((specialist) => specialist.domain === row.domain);
    const unrouted = domains.without_rule.find((specialist) => specialist.domain === row.domain);
    const verdict = planned
      ? `${planned.model} (McNemar p = ${planned.p_value.toPrecision(2)})`
      : unrouted
        ? `${unrouted.model} would be better (p = ${unrouted.p_value.toPrecision(2)}): no rule given`
        : "–";
    return [
      row.domain,
      String(row.items),
      ...names.map((name) => (row.accuracy[name] ?? 0).toFixed(3)),
      verdict,
    ];
  });
  const notes =
    domains.without_rule.length > 0
      ? [
          `domains without a rule (give --domain-rules FILE or --domain-classifier ID): ${domains.without_rule.map((pick) => pick.domain).join(", ")}`,
        ]
      : [];
  return { header, rows, notes };
}

const HEADERS = [
  "candidate",
  "quality (95% CI)",
  "E2E p99",
  "TTFT p99",
  "cost / 1k items",
  "memory",
  "verdict",
];

export function planSummary(file: PlanFile, objectives: readonly Objective[]): string {
  const metric = file.choice.quality_metric;
  const table = [
    HEADERS.map((header, i) => (i === 1 && metric ? `${metric} (95% CI)` : header)),
    ...rows(file).map(({ facts, verdict }) => [...cells(facts, metric), verdict]),
  ];
  const widths = HEADERS.map((_, i) => Math.max(...table.map((row) => (row[i] ?? "").length)));
  const lines = table.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  "),
  );
  const domains = domainLines(file);
  return [
    headline(file, objectives),
    ...lines,
    ...(domains
      ? [
          "",
          ...domains.rows.map((row) => `domain ${row[0]} (${row[1]} items): ${row.at(-1)}`),
          ...domains.notes,
        ]
      : []),
    `Pareto frontier (quality, cost, E2E p99): ${file.choice.pareto.join(", ")}`,
    outcome(file),
    "",
  ].join("\n");
}

export function planMarkdown(file: PlanFile, objectives: readonly Objective[]): string {
  const metric = file.choice.quality_metric;
  const header = HEADERS.map((h, i) => (i === 1 && metric ? `${metric} (95% CI)` : h));
  const plan = file.plan;
  return [
    "# infergate plan",
    "",
    headline(file, objectives),
    "",
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows(file).map(({ facts, verdict }) => `| ${[...cells(facts, metric), verdict].join(" | ")} |`),
    "",
    `A quality floor is met by the 95% interval's lower bound, not the point estimate; every latency was measured under the same load. Pareto frontier (quality up, cost and E2E p99 down): ${file.choice.pareto.join(", ")}.`,
    "",
    outcome(file),
    ...(() => {
      const domains = domainLines(file);
      if (!domains) return [];
      return [
        "",
        "## Domains",
        "",
        "Within each domain of the rows, a candidate significantly more accurate than the choice (paired McNemar, p < 0.05) that meets the latency objectives becomes that domain's specialist.",
        "",
        `| ${domains.header.join(" | ")} |`,
        `|${domains.header.map(() => "---").join("|")}|`,
        ...domains.rows.map((row) => `| ${row.join(" | ")} |`),
        ...domains.notes.map((note) => `\n${note}`),
      ];
    })(),
    ...(plan
      ? [
          "",
          "## Serving",
          "",
          `- route \`${plan.route}\`: ${plan.chosen}${plan.fallbacks.length > 0 ? `, fallbacks ${plan.fallbacks.join(", ")}` : ""}`,
          `- timeouts: first token ${plan.timeouts.first_token} ms, total ${plan.timeouts.total} ms (measured p99 × 3)`,
          `- capacity: ${capacityLine(plan)}`,
          ...(file.capacity_sweep
            ? [
                "",
                "| rate (requests/s) | E2E p99 | TTFT p99 | errors | latency objectives |",
                "|---|---|---|---|---|",
                ...file.capacity_sweep.map(
                  (step) =>
                    `| ${step.rate} | ${figure(step.e2e_p99_ms)} ms | ${figure(step.ttft_p99_ms)} ms | ${(step.error_rate * 100).toFixed(1)}% | ${step.held ? "held" : "missed"} |`,
                ),
              ]
            : []),
          ...(plan.memory
            ? [
                "",
                `- precision policy: server.memory.limit_mb ${plan.memory.limit_mb}; ${plan.memory.step_down_to.length > 0 ? `the choice may step down to ${plan.memory.step_down_to.join(", ")}` : "no smaller variant of the choice met every objective"}`,
              ]
            : []),
        ]
      : []),
    "",
  ].join("\n");
}
