import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { type BenchTarget, openTarget } from "../bench/bench-target.js";
import { buildReport, type Report } from "../bench/compare.js";
import { measureIsolated } from "../bench/isolated-run.js";
import type { Slo } from "../bench/load-metrics.js";
import { classificationPromptFor, type PromptedClassification } from "../bench/prompted-classifier.js";
import { EXTRACTION_ANSWER_TOKENS, extractionPrompt } from "../bench/prompted-extractor.js";
import { DEFAULT_CLASSIFY_TEMPLATE } from "../bench/quality/classification-prompt.js";
import { htmlReport } from "../bench/report/html-report.js";
import { markdownReport } from "../bench/report/markdown-report.js";
import { terminalReport } from "../bench/report/terminal-report.js";
import { benchmarkTarget, type LoadPlan, type TargetReport } from "../bench/run-benchmark.js";
import type { Strategy } from "../bench/scheduler.js";
import { parseSweep, type SweepSpec, sweepTarget } from "../bench/sweep.js";
import {
  bundledClassificationWorkload,
  bundledGenerationWorkload,
  bundledHeldOutDocuments,
  bundledTaggingWorkload,
  loadJsonlWorkload,
  parseSynthetic,
  subsample,
  syntheticWorkload,
  type Workload,
} from "../bench/workload.js";
import { InvalidRequestError } from "../core/errors.js";
import { TASKS, type Task } from "../core/types.js";
import { createEngines } from "../engines/engines.js";
import { openRunStore } from "../store/data-dir.js";
import { CliContext, type GlobalOptions } from "./cli-context.js";
import { type LiveAbOptions, runLiveAb } from "./live-ab-command.js";
import { collect, decimal, integer } from "./parse-options.js";
import { Progress } from "./progress.js";
import { ProgressChannel } from "./progress-channel.js";
import {
  addQualityOptions,
  promptedClassification,
  type QualityOptions,
  scoredWorkload,
} from "./quality-options.js";

interface BenchOptions extends QualityOptions {
  target?: string[];
  model?: string;
  api: "openai" | "gemini";
  endpointApi?: Task;
  apiKeyEnv?: string;
  dataset?: string;
  concurrency?: number;
  rate?: number;
  poisson?: boolean;
  requests?: number;
  duration?: number;
  warmup: number;
  maxTokens: number;
  temperature: number;
  slo?: Slo;
  baseline?: string;
  out?: string;
  json?: boolean;
  records?: boolean;
  /** Commander's `--no-save`: false skips the run store. */
  save: boolean;
  machinePricePerHour?: number;
  memorySamples: number;
  coldStarts?: number;
  sweep?: SweepSpec;
  perplexityDocuments?: number;
  synthetic?: string;
}

/** One target on one workload; without a workload, the target's default one. */
interface Run {
  spec: string;
  workload?: Workload;
  classification?: PromptedClassification;
  /** Overrides --cold-starts (the headline runs reuse models whose cold start the first sections measured). */
  coldStarts?: number;
}

/** The bundled comparison `infergate compare` runs with no --target: precisions side by side, per task. */
const DEFAULT_TARGETS = [
  "lm-base:f16",
  "lm-base:q8_0",
  "lm-base:q4_0",
  "lm-small:q8_0",
  "spam-encoder:fp32",
  "spam-encoder:fp16",
  "spam-encoder:int8",
];

/**
 * Then the headline question: the general LMs prompted as spam classifiers (loglik) beside the specialist, on the
 * same emails. A seeded sample with texts cut to 256 tokens (what the encoder was trained on) keeps the default
 * run within its time budget on two cores.
 */
const HEADLINE_TARGETS = ["lm-base:q8_0", "lm-small:q8_0", "spam-encoder:int8"];
const HEADLINE_ITEMS = 200;
const HEADLINE_INPUT_TOKENS = 256;

function headlineRuns(): Run[] {
  const workload = subsample(bundledClassificationWorkload(), HEADLINE_ITEMS);
  const classification: PromptedClassification = {
    prompt: { template: DEFAULT_CLASSIFY_TEMPLATE, labels: workload.labels ?? [], shots: [] },
    scoring: "loglik",
    maxInputTokens: HEADLINE_INPUT_TOKENS,
  };
  return HEADLINE_TARGETS.map((spec) => ({ spec, workload, classification, coldStarts: 0 }));
}

/**
 * Last, tagging: the specialist tagger's precisions beside the general LM asked for the entities as JSON
 * (grammar-constrained), on the same seeded sample of the silver-labelled test passages.
 */
const TAGGING_TARGETS = ["ner-encoder:fp32", "ner-encoder:fp16", "ner-encoder:int8", "lm-base:q8_0"];
const TAGGING_ITEMS = 120;

function taggingRuns(): Run[] {
  const workload = subsample(bundledTaggingWorkload(), TAGGING_ITEMS);
  // lm-base's cold start was measured in the first section; a tagger's once is enough here.
  return TAGGING_TARGETS.map((spec) => ({ spec, workload, coldStarts: spec.startsWith("lm-") ? 0 : 1 }));
}
const DEFAULT_GENERATION_REQUESTS = 32;

export function registerBenchCommands(program: Command): void {
  const bench = program
    .command("bench")
    .description(
      "measure one model or endpoint under load: latency percentiles, throughput, errors, accuracy",
    )
    .requiredOption(
      "--target <target>",
      "a model (lm-base:q8_0) or an endpoint (http://127.0.0.1:8080/v1)",
      collect,
    );
  addLoadOptions(bench).action((options: BenchOptions, command: Command) => run(options, command, false));

  const compare = program
    .command("compare")
    .description("run the same workload on several targets, one at a time, and put them side by side")
    .option("--target <target>", "a model or endpoint (repeatable; default: the bundled models)", collect)
    .option("--baseline <target>", "the target the others are compared to (default: the first of each task)")
    .option(
      "--from-metrics <url>",
      "instead of running a workload: compare a live route's A/B arms from /metrics",
    )
    .option(
      "--from-log <file>",
      "instead of running a workload: compare a live route's A/B arms from its access log",
    )
    .option("--route <name>", "with --from-metrics or --from-log: the route whose arms to compare");
  addLoadOptions(compare).action((options: BenchOptions & LiveAbOptions, command: Command) =>
    options.fromMetrics || options.fromLog ? runLiveAb(options) : run(options, command, true),
  );
}

function addLoadOptions(command: Command): Command {
  return addQualityOptions(command)
    .option("--model <name>", "for an endpoint target: the model name to request")
    .option("--api <api>", "for an endpoint target: openai (default) or gemini", "openai")
    .option(
      "--endpoint-api <task>",
      "for an endpoint target: generate (default: prompted through its generation API), or classify (infergate's /v1/classify) or embed",
      (value: string) => {
        if (!(TASKS as readonly string[]).includes(value))
          throw new InvalidRequestError(
            `--endpoint-api must be one of ${TASKS.join(", ")}, got '${value}'`,
            "endpoint_api",
          );
        return value;
      },
    )
    .option("--api-key-env <var>", "for an endpoint target: env var holding its API key")
    .option(
      "--dataset <file>",
      'JSONL workload: {"prompt"|"text", "label"? | "reference"? (string or list), "match"?, "schema"?} per line (default: bundled)',
    )
    .option(
      "--synthetic <spec>",
      "generated prompts of chosen token lengths instead of a dataset: input=256[,spread=64][,seed=1]",
    )
    .option("--concurrency <n>", "closed loop: requests in flight at once (default 4)", integer(1, 10_000))
    .option("--rate <r>", "open loop: requests per second, sent on schedule", decimal(0.001, 1_000_000))
    .option("--poisson", "open loop with exponential gaps instead of even spacing")
    .option(
      "--requests <n>",
      `requests to measure (default: ${DEFAULT_GENERATION_REQUESTS} for generation, the whole dataset otherwise)`,
      integer(1),
    )
    .option("--duration <s>", "seconds to measure, instead of a request count", decimal(0.1, 86_400))
    .option("--warmup <n>", "requests sent first and left out of the figures", integer(0), 2)
    .option("--max-tokens <n>", "tokens to generate per request", integer(1, 32_768), 64)
    .option("--temperature <t>", "sampling temperature (0: greedy)", decimal(0, 2), 0)
    .option("--slo <list>", "goodput objectives, e.g. ttft_ms=200,itl_ms=20,e2e_ms=2000", parseSlo)
    .option(
      "--machine-price-per-hour <usd>",
      "price of this machine, for the cost per 1M tokens of local models",
      decimal(0, 1e6),
    )
    .option(
      "--memory-samples <n>",
      "requests measured one at a time for peak memory, in a process holding only the model (0: skip)",
      integer(0, 1000),
      5,
    )
    .option(
      "--cold-starts <n>",
      "fresh processes timed from spawn to first output (in-process; default: 3 for compare, 0 for bench)",
      integer(0, 100),
    )
    .option(
      "--sweep <spec>",
      "also run at each value and find the knee: concurrency=1,2,4,8, rate=5,10,20, or batch=1,4,16 (texts per encoder request; llama.cpp parallel sequences)",
      sweepOption,
    )
    .option(
      "--out <dir>",
      "write index.html (charts), report.json and report.md here (compare: infergate-report)",
    )
    .option(
      "--perplexity-documents <n>",
      "held-out documents (300 tokens each) to score local LMs' perplexity on (default: 12 for compare, 0 for bench)",
      integer(0, 10_000),
    )
    .option("--records", "keep every request's timings in the JSON report")
    .option("--no-save", "leave this run out of the run store (the dashboard's history; docs/dashboard.md)")
    .option("--json", "print the JSON report (docs/report.md) instead of tables");
}

async function run(options: BenchOptions, command: Command, comparing: boolean): Promise<void> {
  if (options.concurrency !== undefined && options.rate !== undefined) {
    throw new InvalidRequestError("give --concurrency or --rate, not both", "concurrency");
  }
  if (options.requests !== undefined && options.duration !== undefined) {
    throw new InvalidRequestError("give --requests or --duration, not both", "requests");
  }
  if (options.api !== "openai" && options.api !== "gemini")
    throw new InvalidRequestError(`--api must be openai or gemini`, "api");
  const runs: Run[] = options.target
    ? options.target.map((spec) => ({ spec }))
    : comparing
      ? [...DEFAULT_TARGETS.map((spec) => ({ spec })), ...headlineRuns(), ...taggingRuns()]
      : [];
  if (!comparing && runs.length !== 1)
    throw new InvalidRequestError("bench measures one --target; use compare for several", "target");
  const strategy: Strategy =
    options.rate !== undefined
      ? options.poisson
        ? { kind: "poisson", rate: options.rate }
        : { kind: "constant", rate: options.rate }
      : { kind: "concurrent", concurrency: options.concurrency ?? 4 };
  const settings = { maxTokens: options.maxTokens, temperature: options.temperature };
  const perplexityDocuments = options.perplexityDocuments ?? (comparing ? 12 : 0);
  await using context = await CliContext.open(command.optsWithGlobals<GlobalOptions>());
  const reports: TargetReport[] = [];
  let plan: LoadPlan | undefined;
  // The embedding model for semantic_similarity stays loaded for the whole run, in its own engines.
  await using embedEngines = createEngines();
  const embedModel = options.embedModel
    ? await embedEngines.load(context.registry.resolve(options.embedModel))
    : undefined;
  const embedder =
    embedModel && (async (texts: readonly string[]) => (await embedModel.embed(texts)).vectors);
  const noted = new Set<string>();
  const channel = ProgressChannel.fromEnv();
  for (const { spec, ...given } of runs) {
    const target = await openTarget(spec, {
      registry: context.registry,
      engines: context.engines,
      api: options.api,
      ...(options.model && { model: options.model }),
      ...(options.endpointApi && { task: options.endpointApi }),
      ...(options.apiKeyEnv && { apiKeyEnv: options.apiKeyEnv }),
    });
    const workload = given.workload ?? scoredWorkload(workloadFor(target, options), options);
    if (/ \(\d+ of \d+, seed \d+\)$/.test(workload.name) && !noted.has(workload.name)) {
      noted.add(workload.name);
      process.stderr.write(`a deterministic sample to stay within the time budget: ${workload.name}\n`);
    }
    const classification = given.classification ?? promptedClassification(options, workload);
    const requests =
      options.duration === undefined ? (options.requests ?? defaultRequests(target, workload)) : undefined;
    plan = {
      strategy,
      constraints: {
        ...(requests !== undefined && { requests }),
        ...(options.duration !== undefined && { durationS: options.duration }),
        warmupRequests: options.warmup,
      },
      settings,
      ...(options.slo && { slo: options.slo }),
      ...(options.machinePricePerHour !== undefined && { machinePricePerHour: options.machinePricePerHour }),
      ...(perplexityDocuments > 0 && {
        perplexity: { documents: bundledHeldOutDocuments().slice(0, perplexityDocuments), maxTokens: 300 },
      }),
      ...(classification && { classification }),
      ...(options.metrics && { metrics: options.metrics }),
      ...(options.lengthBuckets && { lengthBuckets: options.lengthBuckets }),
      ...(options.perturb && workload.task !== undefined && { perturb: options.perturb }),
      ...(embedder && { semantic: { embed: embedder, threshold: options.similarityThreshold } }),
    };
    const passes = plan.perturb ? 2 : 1;
    const total = ((requests ?? 0) + options.warmup) * passes;
    const progress = new Progress(target.name, total);
    // The channel counts measured requests only (warm-ups are not reported to it).
    channel?.send({
      type: "target",
      target: target.name,
      workload: workload.name,
      total: (requests ?? 0) * passes,
    });
    const report = await benchmarkTarget(target, workload, plan, (record) => {
      progress.advance(1);
      channel?.request(target.name, record);
    });
    progress.finish();
    if (options.sweep) {
      // Each point is a row of its own in the dashboard's progress: `NAME at concurrency=4`.
      const pointName = (value: number) => `${target.name} at ${options.sweep?.parameter}=${value}`;
      report.sweep = await sweepTarget(target, workload, plan, options.sweep, {
        withParallel: (parallel) => withParallel(spec, target, parallel, context),
        ...(channel && {
          onPoint: (value, total) =>
            channel.send({
              type: "target",
              target: pointName(value),
              workload: workload.name,
              total: total ?? 0,
            }),
          onRecord: (value, record) => channel.request(pointName(value), record),
        }),
      });
    }
    reports.push(report);
    // One target at a time: free its memory and threads before the next one runs.
    if (target.location === "in-process") {
      // A prompted classifier's memory is that of its prompt, evaluated with one token to follow; a prompted
      // extractor's, its prompt and an answer's worth of tokens.
      const texts = workload.items.slice(0, options.memorySamples).map((item) => item.text);
      const prompted = classification && target.task === "generate";
      const extracting = workload.task === "tag" && target.task === "generate";
      const memory = prompted
        ? { texts: texts.map(classificationPromptFor(target, classification)), maxTokens: 1 }
        : extracting
          ? {
              texts: texts.map((text) => extractionPrompt(text, workload.labels ?? [])),
              maxTokens: EXTRACTION_ANSWER_TOKENS,
            }
          : { texts, maxTokens: options.maxTokens };
      await context.engines.close();
      const coldStarts = given.coldStarts ?? options.coldStarts ?? (comparing ? 3 : 0);
      await measureInOwnProcess(report, spec, context.config.source, memory, coldStarts);
    }
  }
  if (!plan) return;
  const report = buildReport(reports, plan, options.baseline, options.records === true);
  await emit(report, reports, options, comparing);
  if (options.save) {
    const store = openRunStore(context.config.ui);
    try {
      const id = store.save(comparing ? "compare" : "bench", channel ? "ui" : "cli", report, reports);
      process.stderr.write(`saved as ${id} in ${store.path} (--no-save to skip)\n`);
      channel?.send({ type: "saved", run: id });
    } finally {
      store.close();
    }
  }
  await channel?.close();
}

/** The in-process model `spec` names, reloaded with `parallel` sequences (a batch sweep of a language model). */
async function withParallel(
  spec: string,
  target: BenchTarget,
  parallel: number,
  context: CliContext,
): Promise<BenchTarget> {
  if (target.location !== "in-process") {
    throw new InvalidRequestError(
      "a batch sweep of a language model reloads it: it needs an in-process target",
      "sweep",
    );
  }
  const ref = context.registry.resolve(spec);
  if (ref.spec.engine !== "llamacpp")
    throw new InvalidRequestError(`${spec} has no parallel sequences to sweep`, "sweep");
  // A distinct id keeps the copy apart from the original in the engines' cache.
  const variant = { ...ref.spec, id: `${ref.spec.id}@parallel=${parallel}`, parallel };
  return { ...target, model: await context.engines.load({ ...ref, spec: variant }) };
}

/** Cold starts and peak memory per request, in fresh processes holding only this model. */
export async function measureInOwnProcess(
  report: TargetReport,
  model: string,
  configPath: string,
  memory: { texts: string[]; maxTokens: number },
  coldStarts: number,
): Promise<void> {
  const memoryTexts = memory.texts;
  const runs = Math.max(coldStarts, memoryTexts.length > 0 ? 1 : 0);
  if (runs === 0) return;
  const isolated = await measureIsolated(
    { model, configPath, maxTokens: memory.maxTokens },
    runs,
    memoryTexts,
  );
  if (coldStarts > 0 && isolated.coldStartMs) {
    report.metrics.cold_start_ms = isolated.coldStartMs;
    report.metrics.cold_start = isolated.coldStarts;
  }
  if (isolated.memory.length > 0) {
    const middle = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    const growth = isolated.memory.map((sample) => sample.growthBytes);
    report.metrics.peak_rss_bytes_per_request = middle(isolated.memory.map((sample) => sample.peakRssBytes));
    report.metrics.peak_rss_growth_bytes_per_request = { p50: middle(growth), max: Math.max(0, ...growth) };
  }
}

function workloadFor(target: BenchTarget, options: BenchOptions): Workload {
  if (options.synthetic !== undefined && options.dataset !== undefined) {
    throw new InvalidRequestError("give --synthetic or --dataset, not both", "synthetic");
  }
  if (options.synthetic !== undefined) {
    const spec = parseSynthetic(options.synthetic, options.requests ?? DEFAULT_GENERATION_REQUESTS);
    const tokenize =
      target.location === "in-process" ? (text: string) => target.model.tokenize(text).length : undefined;
    return syntheticWorkload(spec, tokenize);
  }
  if (options.dataset) return loadJsonlWorkload(options.dataset);
  if (target.task === "generate") return bundledGenerationWorkload();
  return target.task === "tag" ? bundledTaggingWorkload() : bundledClassificationWorkload();
}

/** A scored workload is measured whole, so every target answers every item; plain generation, 32 requests. */
function defaultRequests(target: BenchTarget, workload: Workload): number {
  return target.task === "generate" && workload.task === undefined
    ? DEFAULT_GENERATION_REQUESTS
    : workload.items.length;
}

async function emit(
  report: Report,
  targets: readonly TargetReport[],
  options: BenchOptions,
  comparing: boolean,
): Promise<void> {
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(terminalReport(report));
  const out = options.out ?? (comparing ? "infergate-report" : undefined);
  if (out === undefined) return;
  const dir = resolve(out);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(dir, "report.md"), markdownReport(report));
  await writeFile(join(dir, "index.html"), htmlReport(report));
  // Every scored answer, one per line, for looking at what a target got wrong.
  const items = targets.flatMap(({ target, workload, items = [] }) =>
    items.map((item) => JSON.stringify({ target, workload, ...item })),
  );
  await writeFile(join(dir, "items.jsonl"), items.length > 0 ? `${items.join("\n")}\n` : "");
  process.stderr.write(`report written to ${dir}/index.html, report.json, report.md and items.jsonl\n`);
}

function sweepOption(value: string): SweepSpec {
  try {
    return parseSweep(value);
  } catch (error) {
    throw new InvalidRequestError(`--sweep: ${(error as Error).message}`, "sweep");
  }
}

function parseSlo(value: string): Slo {
  const slo: Slo = {};
  for (const part of value.split(",")) {
    const [key, raw] = part.split("=");
    const number = Number(raw);
    if ((key !== "ttft_ms" && key !== "itl_ms" && key !== "e2e_ms") || !(number > 0)) {
      throw new InvalidRequestError(`--slo: expected ttft_ms=N, itl_ms=N or e2e_ms=N, got '${part}'`, "slo");
    }
    slo[key] = number;
  }
  return slo;
}
