import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { type BenchTarget, openTarget } from "../bench/bench-target.js";
import { buildReport, type Report } from "../bench/compare.js";
import { classificationPromptFor } from "../bench/prompted-classifier.js";
import { benchmarkTarget, type TargetReport } from "../bench/run-benchmark.js";
import { loadJsonlWorkload, type Workload } from "../bench/workload.js";
import { InvalidRequestError } from "../core/errors.js";
import { candidateName, parseCandidateName } from "../plan/candidate-name.js";
import { attain, candidatesOf, MAX_ERROR_RATE } from "../plan/candidates.js";
import { type Choice, choose } from "../plan/choose.js";
import { domainAnalysis, type SpecialistPick } from "../plan/domains.js";
import { type Objective, parseObjectives } from "../plan/objectives.js";
import { type DomainRule, type PlannedSpecialist, planYaml, servePlan } from "../plan/plan-config.js";
import {
  type CapacityStep,
  choiceFacts,
  type PlanFile,
  type PlannedQualityOptions,
} from "../plan/plan-file.js";
import { PLAN_MAX_TOKENS, planLoad } from "../plan/plan-load.js";
import { planMarkdown, planSummary } from "../plan/plan-report.js";
import { verifyPlan } from "../plan/verify.js";
import { weightBytes } from "../routing/precision-policy.js";
import { measureInOwnProcess } from "./bench-commands.js";
import { CliContext, type GlobalOptions } from "./cli-context.js";
import { decimal, integer } from "./parse-options.js";
import { Progress } from "./progress.js";
import {
  addQualityOptions,
  promptedClassification,
  type QualityOptions,
  scoredWorkload,
} from "./quality-options.js";

interface PlanOptions extends QualityOptions {
  dataset?: string;
  slo?: string;
  rate?: number;
  maxCostPer1k?: number;
  memoryLimitMb?: number;
  candidates?: string;
  route?: string;
  fromReport?: string;
  out?: string;
  verify?: string;
  duration?: number;
  pricePerCoreHour: number;
  memorySamples: number;
  domainRules?: string;
  domainClassifier?: string;
  capacityRates?: number[];
  parallel?: number[];
}

/** The exit status when no candidate meets the objectives: distinct from a failure to run (1) or verify (1). */
export const NO_PLAN_EXIT = 3;

/** A core-hour of a general-purpose cloud VM (2 vCPUs at about $0.08/h): the default price of local CPU time. */
const DEFAULT_PRICE_PER_CORE_HOUR = 0.04;

export function registerPlanCommand(program: Command): void {
  const plan = program
    .command("plan")
    .description(
      "measure candidates on your workload against objectives, choose the cheapest that meets them all, and write a serve config (plan.yaml); --verify DIR proves it through the gateway",
    )
    .option(
      "--dataset <file>",
      'JSONL workload: {"text"|"prompt", "label"? | "reference"?, "domain"?} per line',
    )
    .option(
      "--slo <list>",
      "objectives: min_accuracy=0.95 (met by the 95% interval's lower bound), min_<metric>=…, e2e_p99_ms=800, ttft_p95_ms=…",
    )
    .option(
      "--rate <r>",
      "the expected load: latencies are measured open loop at this many requests/s",
      decimal(0.01, 100_000),
    )
    .option(
      "--max-cost-per-1k <usd>",
      "objective: at most this many US dollars per 1,000 items",
      decimal(0, 1e9),
    )
    .option(
      "--memory-limit-mb <mb>",
      "objective: peak memory per request of a process serving the model",
      decimal(1, 1e9),
    )
    .option(
      "--candidates <list>",
      "models to weigh, id or id:precision, comma-separated (default: every configured variant of the task)",
    )
    .option("--route <name>", "the route plan.yaml serves the choice under (default: named after the task)")
    .option("--from-report <file>", "weigh the targets of a compare/bench report.json instead of measuring")
    .option("--out <dir>", "where plan.yaml, plan.md, plan.json and report.json go", "infergate-plan")
    .option(
      "--verify <dir>",
      "serve DIR/plan.yaml, drive its workload through the route, and check every objective",
    )
    .option(
      "--duration <s>",
      "with --verify: seconds to drive the route (default: the whole dataset once)",
      decimal(1, 3600),
    )
    .option(
      "--price-per-core-hour <usd>",
      "price of a CPU core-hour, for local models' cost",
      decimal(0, 1e6),
      DEFAULT_PRICE_PER_CORE_HOUR,
    )
    .option(
      "--memory-samples <n>",
      "requests measured one at a time for peak memory (with --memory-limit-mb)",
      integer(1, 100),
      3,
    )
    .option(
      "--domain-rules <file>",
      "YAML: domain → {match: REGEX, flags?} (or just REGEX): how a specialist the rows' domains justify claims its requests",
    )
    .option(
      "--parallel <list>",
      "llama.cpp candidates: measure each with these parallel sequences (e.g. 1,4,8), each a candidate of its own",
      parallelList,
    )
    .option(
      "--capacity-rates <list>",
      "drive the choice at each of these rates (requests/s, ascending) to find the most one replica sustains within the latency objectives",
      rateList,
    )
    .option(
      "--domain-classifier <id>",
      "a classify model whose labels are the domains: it sends each request to its domain's specialist",
    );
  addQualityOptions(plan).action(async (options: PlanOptions, command: Command) => {
    const global = command.optsWithGlobals<GlobalOptions>();
    process.exitCode = options.verify
      ? await verify(options.verify, options, global)
      : await planFrom(options, global);
  });
}

async function planFrom(options: PlanOptions, global: GlobalOptions): Promise<number> {
  if (!options.dataset)
    throw new InvalidRequestError("plan needs --dataset FILE (JSONL, one item per line)", "dataset");
  if (!options.slo && options.maxCostPer1k === undefined && options.memoryLimitMb === undefined)
    throw new InvalidRequestError("plan needs objectives: --slo min_accuracy=…,e2e_p99_ms=…", "slo");
  const objectives = parseObjectives(options.slo ?? "", {
    ...(options.maxCostPer1k !== undefined && { maxCostPer1k: options.maxCostPer1k }),
    ...(options.memoryLimitMb !== undefined && { memoryLimitMb: options.memoryLimitMb }),
  });
  await using context = await CliContext.open(global);
  const dataset = resolve(options.dataset);
  const workload = scoredWorkload(loadJsonlWorkload(dataset), options);
  if (workload.task === "tag")
    throw new InvalidRequestError(
      `${options.dataset} is a tagging workload (its rows have entities): plan does not weigh taggers yet; compare them with infergate compare --dataset ${options.dataset}`,
      "dataset",
    );
  const task = workload.task === "classify" ? "classify" : "generate";
  const report = options.fromReport
    ? readReport(options.fromReport, options.rate)
    : await measure(context, workload, options, objectives);
  const choice = choose(candidatesOf(report.targets, options.pricePerCoreHour), objectives);
  const route = options.route ?? task;
  const out = resolve(options.out ?? "infergate-plan");
  await mkdir(out, { recursive: true });
  const file: PlanFile = {
    schema: "infergate.plan/1",
    created_at: new Date().toISOString(),
    dataset,
    task,
    ...(options.rate !== undefined && { rate: options.rate }),
    slo: options.slo ?? "",
    ...(options.maxCostPer1k !== undefined && { max_cost_per_1k: options.maxCostPer1k }),
    ...(options.memoryLimitMb !== undefined && { memory_limit_mb: options.memoryLimitMb }),
    price_per_core_hour: options.pricePerCoreHour,
    route,
    quality_options: qualityOptionsOf(options),
    choice: choiceFacts(choice),
  };
  await writeFile(join(out, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
  if (choice.chosen && workload.items.some((item) => item.domain !== undefined)) {
    file.domains = specialistsFor(report, workload, choice, objectives, options);
  }
  if (choice.chosen) {
    const capacity = options.capacityRates
      ? await measureCapacity(context, workload, choice.chosen.candidate.name, options, objectives)
      : undefined;
    if (capacity) file.capacity_sweep = capacity.sweep;
    const plan = servePlan(
      { ...choice, chosen: choice.chosen },
      {
        route,
        ...(options.rate !== undefined && { rate: options.rate }),
        ...(file.domains && { specialists: file.domains.specialists }),
        ...(capacity?.held && { capacity: capacity.held }),
        ...(options.memoryLimitMb !== undefined && {
          memory: {
            limitMb: options.memoryLimitMb,
            weightBytes: (name: string) =>
              weightBytes(context.registry.resolve(parseCandidateName(name).model)),
          },
        }),
      },
    );
    file.plan = plan;
    await writeFile(join(out, "plan.yaml"), planYaml(plan, context.registry, choice));
  }
  await writeFile(join(out, "plan.json"), `${JSON.stringify(file, null, 2)}\n`);
  await writeFile(join(out, "plan.md"), planMarkdown(file, objectives));
  process.stdout.write(planSummary(file, objectives));
  process.stderr.write(
    `plan written to ${out}/${choice.chosen ? "plan.yaml, " : ""}plan.md, plan.json and report.json\n`,
  );
  return choice.chosen ? 0 : NO_PLAN_EXIT;
}

/** Each candidate on the workload, one at a time, under the same load: open loop at --rate, else one at a time. */
async function measure(
  context: CliContext,
  workload: Workload,
  options: PlanOptions,
  objectives: readonly Objective[],
): Promise<Report> {
  const given = options.candidates
    ? options.candidates
        .split(",")
        .map((name) => name.trim())
        .filter(Boolean)
    : everyVariant(context, workload);
  const names = withParallelSweep(context, given, options.parallel);
  if (names.length === 0) throw new InvalidRequestError("no candidates to weigh", "candidates");
  if (options.rate === undefined && objectives.some((objective) => objective.metric.kind === "latency"))
    process.stderr.write(
      "no --rate: latency objectives are judged one request at a time, not at your load\n",
    );
  const classification = promptedClassification(options, workload);
  const plan = planLoad(options.rate, { requests: workload.items.length }, classification);
  const reports: TargetReport[] = [];
  for (const name of names) {
    const target = await openCandidate(context, name);
    const progress = new Progress(target.name, workload.items.length + 2);
    const report = await benchmarkTarget(target, workload, plan, () => progress.advance(1));
    progress.finish();
    reports.push(report);
    if (target.location === "in-process") {
      await context.engines.close();
      if (options.memoryLimitMb !== undefined) {
        const texts = workload.items.slice(0, options.memorySamples).map((item) => item.text);
        const prompted = classification && target.task === "generate";
        const memory = prompted
          ? { texts: texts.map(classificationPromptFor(target, classification)), maxTokens: 1 }
          : { texts, maxTokens: PLAN_MAX_TOKENS };
        // At the configured parallel sequences: the isolated process loads the model as the config has it.
        await measureInOwnProcess(report, parseCandidateName(name).model, context.config.source, memory, 0);
      }
    }
  }
  // Per-item correctness stays in the report: specialists are weighed by it, domain by domain.
  return buildReport(reports, plan, undefined, false, true);
}

/**
 * The choice driven open loop at each rate, lowest first, until a latency objective (or the error bound) breaks:
 * the highest rate that held is what one replica sustains, and the autoscaler's in-flight target follows from it.
 */
async function measureCapacity(
  context: CliContext,
  workload: Workload,
  name: string,
  options: PlanOptions,
  objectives: readonly Objective[],
): Promise<{ sweep: CapacityStep[]; held?: { rate: number; e2eMeanMs: number } }> {
  const latency = objectives.filter((objective) => objective.metric.kind === "latency");
  const target = await openCandidate(context, name);
  const classification = promptedClassification(options, workload);
  const sweep: CapacityStep[] = [];
  let held: { rate: number; e2eMeanMs: number } | undefined;
  for (const rate of options.capacityRates ?? []) {
    const plan = planLoad(rate, { requests: workload.items.length }, classification);
    const progress = new Progress(`${name} at ${rate}/s`, workload.items.length + 2);
    const report = await benchmarkTarget(target, workload, plan, () => progress.advance(1));
    progress.finish();
    const [measured] = candidatesOf([report], options.pricePerCoreHour);
    const ok =
      measured !== undefined &&
      measured.errorRate <= MAX_ERROR_RATE &&
      latency.every((objective) => attain(measured, objective).met);
    sweep.push({
      rate,
      e2e_p99_ms: report.metrics.e2e_ms.p99,
      ttft_p99_ms: report.metrics.ttft_ms.p99,
      error_rate: report.metrics.error_rate,
      held: ok,
    });
    if (!ok) break;
    held = { rate, e2eMeanMs: report.metrics.e2e_ms.mean };
  }
  await context.engines.close();
  return held ? { sweep, held } : { sweep };
}

function parallelList(value: string): number[] {
  const values = value.split(",").map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((v) => !(Number.isInteger(v) && v >= 1 && v <= 256)))
    throw new InvalidRequestError(
      `--parallel: expected sequence counts 1-256, e.g. 1,4,8, got '${value}'`,
      "parallel",
    );
  return values;
}

function rateList(value: string): number[] {
  const rates = value.split(",").map((part) => Number(part.trim()));
  if (rates.length === 0 || rates.some((rate) => !(rate > 0)))
    throw new InvalidRequestError(
      `--capacity-rates: expected positive rates, e.g. 10,20,40, got '${value}'`,
      "capacity_rates",
    );
  return [...rates].sort((a, b) => a - b);
}

/**
 * The domains where another candidate (one that meets the latency objectives and can be served) is
 * significantly more accurate than the choice, each with the rule that routes it: a pattern from
 * --domain-rules, or --domain-classifier's label. A domain that would gain but has no rule is reported, not routed.
 */
function specialistsFor(
  report: Report,
  workload: Workload,
  choice: Choice,
  objectives: readonly Objective[],
  options: PlanOptions,
): NonNullable<PlanFile["domains"]> {
  const correctness = report.targets.map((target) => ({
    name: target.target,
    correct: target.correct_by_item,
  }));
  if (correctness.some((candidate) => candidate.correct === undefined))
    throw new InvalidRequestError(
      "the rows have domains, but the report holds no per-item answers to weigh them by: let plan measure (no --from-report), or plan from a report plan wrote",
      "from_report",
    );
  const latency = new Set(objectives.filter((o) => o.metric.kind === "latency").map((o) => o.name));
  const weighed = [...(choice.chosen ? [choice.chosen] : []), ...choice.fallbacks, ...choice.rejected];
  const eligible = new Set(
    weighed
      .filter(
        (entry) =>
          entry.candidate.unservable === undefined &&
          entry.attainments.every(
            (a) => a.met || (!latency.has(a.objective) && a.objective !== "error_rate"),
          ),
      )
      .map((entry) => entry.candidate.name),
  );
  const { table, specialists } = domainAnalysis(
    workload.items.map((item) => item.domain),
    correctness.map(({ name, correct }) => ({ name, correct: correct ?? [] })),
    choice.chosen?.candidate.name ?? "",
    eligible,
  );
  const rules = options.domainRules ? readDomainRules(options.domainRules) : {};
  const planned: PlannedSpecialist[] = [];
  const withoutRule: SpecialistPick[] = [];
  for (const pick of specialists) {
    const rule =
      rules[pick.domain] ?? (options.domainClassifier ? { classifier: options.domainClassifier } : undefined);
    if (rule) planned.push({ ...pick, rule });
    else withoutRule.push(pick);
  }
  return { table, specialists: planned, without_rule: withoutRule };
}

function readDomainRules(path: string): Record<string, DomainRule> {
  const raw = parseYaml(readFileSync(resolve(path), "utf8")) as unknown;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new InvalidRequestError(
      `--domain-rules ${path}: expected a mapping of domain → {match: REGEX}`,
      "domain_rules",
    );
  const rules: Record<string, DomainRule> = {};
  for (const [domain, value] of Object.entries(raw)) {
    const rule =
      typeof value === "string" ? { match: value } : (value as { match?: unknown; flags?: unknown });
    if (typeof rule.match !== "string" || rule.match === "")
      throw new InvalidRequestError(
        `--domain-rules ${path}: domain '${domain}' needs a match pattern`,
        "domain_rules",
      );
    const flags = typeof rule.flags === "string" ? rule.flags : "i";
    try {
      new RegExp(rule.match, flags);
    } catch (error) {
      throw new InvalidRequestError(
        `--domain-rules ${path}: domain '${domain}': ${(error as Error).message}`,
        "domain_rules",
      );
    }
    rules[domain] = { match: rule.match, flags };
  }
  return rules;
}

/**
 * A candidate opened for measuring: a llama.cpp model named with `@parallel=N` is loaded with that many
 * parallel sequences (under an id of its own, apart from the configured one in the engines' cache).
 */
async function openCandidate(context: CliContext, name: string): Promise<BenchTarget> {
  const { model, parallel } = parseCandidateName(name);
  const target = await openTarget(model, { registry: context.registry, engines: context.engines });
  if (parallel === undefined) return target;
  const ref = context.registry.resolve(model);
  if (ref.spec.engine !== "llamacpp")
    throw new InvalidRequestError(
      `candidate '${name}': only llama.cpp models have parallel sequences`,
      "candidates",
    );
  const spec = { ...ref.spec, id: `${ref.spec.id}@parallel=${parallel}`, parallel };
  return { ...target, name, model: await context.engines.load({ ...ref, spec }) };
}

/** With --parallel: each llama.cpp candidate once per value (a short batch sweep); others as they are. */
function withParallelSweep(
  context: CliContext,
  names: readonly string[],
  values: readonly number[] | undefined,
): string[] {
  if (!values) return [...names];
  return names.flatMap((name) => {
    const { model, parallel } = parseCandidateName(name);
    const isLlama = context.registry.resolve(model).spec.engine === "llamacpp";
    return isLlama && parallel === undefined ? values.map((value) => candidateName(model, value)) : [name];
  });
}

/** Every configured variant that can take the workload: classifiers and LMs for labels, LMs for references. */
function everyVariant(context: CliContext, workload: Workload): string[] {
  const tasks = workload.task === "classify" ? ["classify", "generate"] : ["generate"];
  return context.registry
    .list()
    .filter((spec) => tasks.includes(spec.task))
    .flatMap((spec) =>
      "variants" in spec ? Object.keys(spec.variants).map((p) => `${spec.id}:${p}`) : [spec.id],
    );
}

function readReport(path: string, rate: number | undefined): Report {
  const report = JSON.parse(readFileSync(path, "utf8")) as Report;
  if (report.schema !== "infergate.report/1")
    throw new InvalidRequestError(
      `${path} is not an infergate report (schema ${String(report.schema)})`,
      "from_report",
    );
  const strategy = report.load.strategy;
  const measuredRate = strategy.kind === "concurrent" ? undefined : strategy.rate;
  if (rate !== undefined && measuredRate !== rate)
    throw new InvalidRequestError(
      `${path} was measured ${measuredRate === undefined ? `closed loop (concurrency ${strategy.kind === "concurrent" ? strategy.concurrency : "?"})` : `at ${measuredRate} requests/s`}, not at --rate ${rate}: candidates are judged only under the load they will meet`,
      "from_report",
    );
  return report;
}

function qualityOptionsOf(options: PlanOptions): PlannedQualityOptions {
  const kept: PlannedQualityOptions = { similarityThreshold: options.similarityThreshold };
  if (options.task) kept.task = options.task;
  if (options.labels) kept.labels = options.labels;
  if (options.scoring) kept.scoring = options.scoring;
  if (options.maxInputTokens !== undefined) kept.maxInputTokens = options.maxInputTokens;
  if (options.metrics) kept.metrics = options.metrics;
  return kept;
}

async function verify(dir: string, options: PlanOptions, global: GlobalOptions): Promise<number> {
  await using context = await CliContext.open(global);
  const folder = resolve(dir);
  const file = JSON.parse(readFileSync(join(folder, "plan.json"), "utf8")) as PlanFile;
  if (file.schema !== "infergate.plan/1" || !file.plan)
    throw new InvalidRequestError(
      `${folder}/plan.json holds no plan to verify (no candidate met the objectives)`,
      "verify",
    );
  const objectives = parseObjectives(file.slo, {
    ...(file.max_cost_per_1k !== undefined && { maxCostPer1k: file.max_cost_per_1k }),
    ...(file.memory_limit_mb !== undefined && { memoryLimitMb: file.memory_limit_mb }),
  });
  const rate = options.rate ?? file.rate;
  const result = await verifyPlan({
    config: join(folder, "plan.yaml"),
    route: file.route,
    task: file.task,
    workload: scoredWorkload(loadJsonlWorkload(file.dataset), file.quality_options),
    objectives,
    ...(rate !== undefined && { rate }),
    ...(options.duration !== undefined && { durationS: options.duration }),
    predicted: file.choice.chosen,
    registry: context.registry,
  });
  process.stdout.write(result.summary);
  await writeFile(join(folder, "verify.json"), `${JSON.stringify(result.facts, null, 2)}\n`);
  return result.passed ? 0 : 1;
}
