/**
 * bench:local-serving — a local GGUF served by `infergate serve`, with each of the llamacpp engine's runtimes
 * (`in-process`, `llama-server`), against the same GGUF served by llama.cpp's own `llama-server` (built from the
 * llama.cpp source node-llama-cpp ships; see src/engines/llamacpp/llama-server-build.ts): same threads, same
 * parallel sequences, same per-sequence context, the same load generator (`infergate bench`'s) and the same
 * prompts. All servers stay up and each case runs on one after the other, the order turning each case, so the
 * machine's drift hits all; the whole set of cases runs `--rounds` times, and each ratio is taken within a round
 * (side by side) and reported as its median and range over the rounds. Then the single-stream decode loop:
 * node-llama-cpp's `sequence.evaluate` and infergate's engine in-process against `llama-bench` tg.
 *
 *   npm run bench:local-serving [-- --model models/lm-base-q8_0.gguf --threads 1 --parallel 8 --tokens 128 --rounds 3]
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomFill } from "node:crypto";
import { once } from "node:events";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { getLlama } from "node-llama-cpp";
import { openTarget } from "../src/bench/bench-target.js";
import type { Distribution } from "../src/bench/distribution.js";
import { benchmarkTarget } from "../src/bench/run-benchmark.js";
import { syntheticWorkload, type Workload } from "../src/bench/workload.js";
import { loadConfig } from "../src/config/load-config.js";
import type { GenerateChunk } from "../src/core/types.js";
import { createEngines } from "../src/engines/engines.js";
import { llamaCppTools } from "../src/engines/llamacpp/llama-server-build.js";
import { ModelRegistry } from "../src/models/model-registry.js";
import { freePort } from "../test/support/free-port.js";
import { median, writeResults } from "./bench-output.js";
import { root, startGatewayProcess, treeCpuMicros } from "./gateway-process.js";

/** A bad option ends the run with what is wrong, before anything is built or started. */
function refuse(message: string): never {
  console.error(`bench:local-serving: ${message}`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        model: { type: "string", default: join(root, "models/lm-base-q8_0.gguf") },
        threads: { type: "string", default: "1" },
        parallel: { type: "string", default: "8" },
        tokens: { type: "string", default: "128" },
        concurrency: { type: "string", default: "1,8,16" },
        prompts: { type: "string", default: "16,512" },
        "requests-per-stream": { type: "string", default: "4" },
        rounds: { type: "string", default: "3" },
      },
    });
  } catch (error) {
    return refuse((error as Error).message);
  }
})();
const modelPath = values.model;
const threads = Number(values.threads);
const parallel = Number(values.parallel);
const outputTokens = Number(values.tokens);
const concurrencies = values.concurrency.split(",").map(Number);
const promptLengths = values.prompts.split(",").map(Number);
const requestsPerStream = Number(values["requests-per-stream"]);
const rounds = Number(values.rounds);
for (const [name, value] of Object.entries({
  threads,
  parallel,
  tokens: outputTokens,
  rounds,
  "requests-per-stream": requestsPerStream,
}))
  if (!Number.isInteger(value) || value < 1) refuse(`--${name} must be a whole number of at least 1`);
for (const [name, list] of Object.entries({ concurrency: concurrencies, prompts: promptLengths }))
  if (!list.every((value) => Number.isInteger(value) && value >= 1))
    refuse(`--${name} must be a comma-separated list of whole numbers of at least 1`);
/** Requests per case at the least, so that a single stream's percentiles rest on more than a handful. */
const MIN_REQUESTS = 24;
const requestsAt = (concurrency: number) => Math.max(MIN_REQUESTS, concurrency * requestsPerStream);
/** Each sequence's context, the same on both servers (llama-server splits `-c` among its slots). */
const CONTEXT_PER_SEQUENCE = 2048;

const tools = await llamaCppTools();

// Prompts of exact token lengths, by the model's own tokenizer; every server gets the very same texts. Each case
// of each round has prompts of its own, each sent once per server: llama-server keeps evaluated prompts in memory
// (its prompt cache), and a prompt seen in an earlier case would skip its prefill there and nowhere else.
const llama = await getLlama({ gpu: false, build: "never" });
const tokenizerModel = await llama.loadModel({ modelPath });
const caseKey = (round: number, length: number, concurrency: number) => `${round}/${length}/${concurrency}`;
const workloads = new Map<string, Workload>();
for (let round = 0; round < rounds; round++) {
  for (const length of promptLengths) {
    for (const concurrency of concurrencies) {
      const count = requestsAt(concurrency) + concurrency;
      const seed = round * 1_000_000 + length * 1000 + concurrency;
      const spec = { inputTokens: length, spread: 0, outputTokens, count, seed };
      workloads.set(
        caseKey(round, length, concurrency),
        syntheticWorkload(spec, (text) => tokenizerModel.tokenize(text).length + 1),
      );
    }
  }
}
await tokenizerModel.dispose();

const server = await startLlamaServer();
const gatewayWith = (runtime: string) =>
  startGatewayProcess(
    `models:\n  - {id: local, task: generate, engine: llamacpp, runtime: ${runtime}, variants: {q8_0: ${JSON.stringify(modelPath)}}, threads: ${threads}, parallel: ${parallel}, context_size: ${CONTEXT_PER_SEQUENCE}}`,
  );
const gateway = await gatewayWith("in-process");
const served = await gatewayWith("llama-server");
await using engines = createEngines();
const registry = new ModelRegistry(await loadConfig());
const peers = {
  llama_server: await openTarget(`${server.url}/v1`, { registry, engines, model: "local" }),
  infergate: await openTarget(`${gateway.url}/v1`, { registry, engines, model: "local:q8_0" }),
  infergate_llama_server: await openTarget(`${served.url}/v1`, { registry, engines, model: "local:q8_0" }),
};
// The llama-server runtime's child is one of its gateway's processes, so its CPU counts.
const serverCpuMicros = {
  llama_server: () => treeCpuMicros(server.child.pid as number),
  infergate: gateway.cpuMicros,
  infergate_llama_server: served.cpuMicros,
};

interface Figures {
  output_tokens_per_s: number;
  ttft_ms: Distribution;
  itl_ms: Distribution;
  e2e_ms: Distribution;
  /**
   * The server's CPU time (every thread: decode, sampling, HTTP, streaming) per output token, warm-up included. On
   * two cores the load generator, the server's I/O and its decode thread share them, so what the serving path
   * spends beside the decode is taken from it.
   */
  server_cpu_us_per_output_token: number;
  /** Fairness: how much longer the slowest streams took than the typical one. */
  e2e_spread_p99_over_p50: number;
  errors: number;
  /** What the first failed request said, to tell a server's refusal from a client's mistake. */
  first_error?: string;
}
type Side = keyof typeof peers;
interface Case {
  prompt_tokens: number;
  concurrency: number;
  /** Each round's figures, the three servers side by side. */
  rounds: Record<Side, Figures>[];
}
const cases: Case[] = promptLengths.flatMap((length) =>
  concurrencies.map((concurrency) => ({ prompt_tokens: length, concurrency, rounds: [] })),
);
let order: Side[] = ["llama_server", "infergate", "infergate_llama_server"];
for (let round = 0; round < rounds; round++) {
  for (const entry of cases) {
    const { prompt_tokens: length, concurrency } = entry;
    const figures = {} as Record<Side, Figures>;
    for (const side of order) {
      let firstError: string | undefined;
      const cpuBefore = serverCpuMicros[side]();
      const report = await benchmarkTarget(
        peers[side],
        workloads.get(caseKey(round, length, concurrency)) as Workload,
        {
          strategy: { kind: "concurrent", concurrency },
          constraints: { requests: requestsAt(concurrency), warmupRequests: concurrency },
          settings: { maxTokens: outputTokens, temperature: 0 },
        },
        (record) => {
          firstError ??= record.error;
        },
      );
      const cpuMicros = serverCpuMicros[side]() - cpuBefore;
      const m = report.metrics;
      if (m.mean_output_tokens !== outputTokens)
        throw new Error(`${side} generated ${m.mean_output_tokens} tokens per request, not ${outputTokens}`);
      figures[side] = {
        output_tokens_per_s: m.output_tokens_per_s,
        ttft_ms: m.ttft_ms,
        itl_ms: m.itl_ms,
        e2e_ms: m.e2e_ms,
        server_cpu_us_per_output_token: cpuMicros / ((requestsAt(concurrency) + concurrency) * outputTokens),
        e2e_spread_p99_over_p50: m.e2e_ms.p99 / m.e2e_ms.p50,
        errors: m.errors,
        ...(firstError !== undefined && { first_error: firstError }),
      };
    }
    order = [...order.slice(1), ...order.slice(0, 1)];
    entry.rounds.push(figures);
    console.log(
      `  round ${round + 1} of ${rounds}: prompt ${length} tokens, ${concurrency} concurrent streams`,
    );
    printCase(figures);
  }
}
const summaries = cases.map((entry) => {
  const perRound = entry.rounds.map(runtimeRatios);
  return {
    ...entry,
    ratios: {
      in_process: ratioRanges(perRound.map((round) => round.in_process)),
      llama_server_runtime: ratioRanges(perRound.map((round) => round.llama_server_runtime)),
    },
  };
});
printSummary(summaries);
await gateway.stop();
await served.stop();
server.child.kill("SIGTERM");
await once(server.child, "exit");

const decode = await decodeLoops();
const rates = decode.tokens_per_s;
const us = decode.per_token_us;
console.log(
  `  decode loop, 1 stream   llama-bench tg${outputTokens} ${rates.llama_bench.toFixed(0)} tok/s   node-llama-cpp evaluate ${rates.node_llama_cpp.toFixed(0)} tok/s (${(rates.node_llama_cpp / rates.llama_bench).toFixed(2)}x)   infergate engine ${rates.infergate_engine.toFixed(0)} tok/s (${(rates.infergate_engine / rates.llama_bench).toFixed(2)}x)`,
);
console.log(
  `  per token               llama-bench ${us.llama_bench.toFixed(0)} µs   node-llama-cpp ${us.node_llama_cpp.toFixed(0)} µs: decodeBatch call ${us.decode_batch_call.toFixed(0)} µs + sampleToken call ${us.sample_token_call.toFixed(0)} µs + JS; a libuv worker round trip alone ${us.thread_pool_round_trip.toFixed(0)} µs`,
);
const written = writeResults("local-serving", {
  model: modelPath,
  llama_cpp_release: tools.release,
  threads,
  parallel,
  output_tokens: outputTokens,
  rounds,
  cases: summaries,
  decode_loop: decode,
});
console.log(`  written to ${written}`);

function ratios(ours: Figures, peer: Figures) {
  return {
    output_tokens_per_s: ours.output_tokens_per_s / peer.output_tokens_per_s,
    ttft_p50: ours.ttft_ms.p50 / peer.ttft_ms.p50,
    ttft_p99: ours.ttft_ms.p99 / peer.ttft_ms.p99,
    itl_p50: ours.itl_ms.p50 / peer.itl_ms.p50,
    e2e_p50: ours.e2e_ms.p50 / peer.e2e_ms.p50,
    e2e_p99: ours.e2e_ms.p99 / peer.e2e_ms.p99,
    server_cpu_per_output_token: ours.server_cpu_us_per_output_token / peer.server_cpu_us_per_output_token,
  };
}

type Ratios = ReturnType<typeof ratios>;

/** Each of infergate's runtimes against the bare llama-server, in one round. */
function runtimeRatios(figures: Record<Side, Figures>): { in_process: Ratios; llama_server_runtime: Ratios } {
  return {
    in_process: ratios(figures.infergate, figures.llama_server),
    llama_server_runtime: ratios(figures.infergate_llama_server, figures.llama_server),
  };
}
interface Range {
  median: number;
  min: number;
  max: number;
}

/** Each ratio over the rounds: its median, and the least and greatest a round gave. */
function ratioRanges(perRound: Ratios[]): Record<keyof Ratios, Range> {
  const keys = Object.keys(perRound[0] ?? {}) as (keyof Ratios)[];
  return Object.fromEntries(
    keys.map((key) => {
      const values = perRound.map((round) => round[key]);
      return [key, { median: median(values), min: Math.min(...values), max: Math.max(...values) }];
    }),
  ) as Record<keyof Ratios, Range>;
}

/**
 * What "as fast as llama-server" means here: at 8 streams, output tokens/s at least 0.95x and E2E p99 at most 1.2x
 * llama-server's; at one stream, TTFT p50 and ITL p50 within 10% of its. Judged on the median over the rounds.
 */
function targetsOf(
  concurrency: number,
): { key: keyof Ratios; label: string; holds: (ratio: number) => boolean }[] {
  if (concurrency === 1)
    return [
      { key: "ttft_p50", label: "TTFT p50 <= 1.1x", holds: (ratio) => ratio <= 1.1 },
      { key: "itl_p50", label: "ITL p50 <= 1.1x", holds: (ratio) => ratio <= 1.1 },
    ];
  if (concurrency === 8)
    return [
      { key: "output_tokens_per_s", label: "tok/s >= 0.95x", holds: (ratio) => ratio >= 0.95 },
      { key: "e2e_p99", label: "E2E p99 <= 1.2x", holds: (ratio) => ratio <= 1.2 },
    ];
  return [];
}

function printSummary(summaries: (Case & { ratios: Record<string, Record<keyof Ratios, Range>> })[]): void {
  const shown = (range: Range) =>
    `${range.median.toFixed(2)}x (${range.min.toFixed(2)}-${range.max.toFixed(2)})`;
  console.log(`  over ${rounds} round${rounds === 1 ? "" : "s"}, against llama-server: median (range)`);
  for (const entry of summaries) {
    console.log(`  prompt ${entry.prompt_tokens} tokens, ${entry.concurrency} concurrent streams`);
    for (const [name, range] of Object.entries(entry.ratios)) {
      const targets = targetsOf(entry.concurrency)
        .map(({ key, label, holds }) => `${label} ${holds(range[key].median) ? "met" : "MISSED"}`)
        .join(", ");
      console.log(
        `    ${name.padEnd(22)} tok/s ${shown(range.output_tokens_per_s)}   TTFT p50 ${shown(range.ttft_p50)}   ITL p50 ${shown(range.itl_p50)}   E2E p99 ${shown(range.e2e_p99)}${targets ? `   targets: ${targets}` : ""}`,
      );
    }
  }
}

function printCase(figures: Record<Side, Figures>): void {
  const row = (name: string, f: Figures) =>
    `    ${name.padEnd(26)} ${f.output_tokens_per_s.toFixed(0).padStart(6)} tok/s   TTFT p50 ${f.ttft_ms.p50.toFixed(1)} p99 ${f.ttft_ms.p99.toFixed(1)} ms   ITL p50 ${f.itl_ms.p50.toFixed(2)} ms   E2E p50 ${f.e2e_ms.p50.toFixed(0)} p99 ${f.e2e_ms.p99.toFixed(0)} ms   spread ${f.e2e_spread_p99_over_p50.toFixed(2)}   CPU ${f.server_cpu_us_per_output_token.toFixed(0)} µs/token${f.errors ? `   ${f.errors} errors (first: ${f.first_error})` : ""}`;
  const ratioRow = (name: string, r: Ratios) =>
    `    ${name.padEnd(26)} ${r.output_tokens_per_s.toFixed(2)}x tok/s   TTFT p50 ${r.ttft_p50.toFixed(2)}x p99 ${r.ttft_p99.toFixed(2)}x   ITL p50 ${r.itl_p50.toFixed(2)}x   E2E p50 ${r.e2e_p50.toFixed(2)}x p99 ${r.e2e_p99.toFixed(2)}x   CPU/token ${r.server_cpu_per_output_token.toFixed(2)}x`;
  console.log(row("llama-server", figures.llama_server));
  console.log(row("in-process", figures.infergate));
  console.log(row("llama-server runtime", figures.infergate_llama_server));
  const { in_process, llama_server_runtime } = runtimeRatios(figures);
  console.log(ratioRow("in-process / llama-server", in_process));
  console.log(ratioRow("runtime / llama-server", llama_server_runtime));
}

/** llama-server on a free loopback port, the same shape as infergate's context; resolves once /health is ok. */
async function startLlamaServer(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    tools.server,
    [
      ...["-m", modelPath, "--host", "127.0.0.1", "--port", String(port)],
      ...["-t", String(threads), "-tb", String(threads), "-np", String(parallel)],
      ...["-c", String(CONTEXT_PER_SEQUENCE * parallel), "--no-webui"],
    ],
    { stdio: ["ignore", "ignore", "ignore"] },
  );
  process.on("exit", () => child.kill("SIGTERM"));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if ((await fetch(`${url}/health`).catch(() => undefined))?.ok) return { url, child };
    if (i === 300 || child.exitCode !== null)
      throw new Error(`llama-server did not become ready (${tools.server})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Single-stream decode rates: llama-bench tg, node-llama-cpp's evaluate loop, infergate's engine. */
async function decodeLoops() {
  const { stdout } = await promisify(execFile)(tools.bench, [
    ...[
      "-m",
      modelPath,
      "-t",
      String(threads),
      "-p",
      "0",
      "-n",
      String(outputTokens),
      "-r",
      "5",
      "-o",
      "json",
    ],
  ]);
  const llamaBench = (JSON.parse(stdout) as { avg_ts: number }[])[0]?.avg_ts ?? 0;

  const ref = registry.resolve("lm-base:q8_0");
  if (ref.spec.engine !== "llamacpp") throw new Error("lm-base is configured as a GGUF model");
  const spec = { ...ref.spec, parallel };
  const engine = await engines.load({ ...ref, spec, source: modelPath }, { threads });
  const rawModel = await llama.loadModel({ modelPath });
  // The shape infergate's engine gives its context (and llama-server its slots): `parallel` sequences, flash
  // attention where the backend has it; one of them decodes.
  const rawContext = await rawModel.createContext({
    contextSize: CONTEXT_PER_SEQUENCE,
    sequences: parallel,
    threads,
    flashAttention: "auto",
  });
  const calls = timeAddonCalls(rawContext, ["decodeBatch", "sampleToken"]);
  const sequence = rawContext.getSequence();
  const prompt = "The history of the city";
  const raw = async () => {
    await sequence.clearHistory();
    let count = 0;
    const started = performance.now();
    for await (const _ of sequence.evaluate(rawModel.tokenize(prompt), {
      temperature: 0,
      yieldEogToken: true,
    }))
      if (++count >= outputTokens) break;
    return (count * 1000) / (performance.now() - started);
  };
  const ours = async () => {
    const started = performance.now();
    let last: GenerateChunk | undefined;
    for await (const chunk of engine.generate({
      prompt,
      maxTokens: outputTokens,
      temperature: 0,
      ignoreEos: true,
    }))
      last = chunk;
    return ((last?.done?.usage.completionTokens ?? 0) * 1000) / (performance.now() - started);
  };
  const rawRates: number[] = [];
  const engineRates: number[] = [];
  await raw();
  await ours();
  calls.reset();
  for (let round = 0; round < 7; round++) {
    rawRates.push(await raw());
    engineRates.push(await ours());
  }
  const perCall = calls.meanUs();
  const roundTrip = await threadPoolRoundTripUs();
  await rawContext.dispose();
  await rawModel.dispose();
  return {
    tokens_per_s: {
      llama_bench: llamaBench,
      node_llama_cpp: median(rawRates),
      infergate_engine: median(engineRates),
    },
    // Where node-llama-cpp's token goes: each step is two calls into the addon, each a trip to a libuv worker
    // thread and back (llama-bench decodes and samples on one thread, no trip at all).
    per_token_us: {
      llama_bench: 1e6 / llamaBench,
      node_llama_cpp: 1e6 / median(rawRates),
      decode_batch_call: perCall.decodeBatch ?? 0,
      sample_token_call: perCall.sampleToken ?? 0,
      thread_pool_round_trip: roundTrip,
    },
  };
}

/**
 * Wall time of each call of the named addon methods, through a proxy in front of the context's addon object
 * (node-llama-cpp's internal `_ctx`: a bench's look inside, nothing the engine relies on).
 */
function timeAddonCalls(context: object, names: string[]) {
  const holder = context as { _ctx: object };
  const totals = new Map<string, { ms: number; calls: number }>();
  const addon = holder._ctx;
  holder._ctx = new Proxy(addon, {
    get(target, name) {
      const value = Reflect.get(target, name);
      if (typeof value !== "function") return value;
      if (typeof name !== "string" || !names.includes(name)) return value.bind(target);
      return async (...args: unknown[]) => {
        const started = performance.now();
        try {
          return await value.apply(target, args);
        } finally {
          const total = totals.get(name) ?? { ms: 0, calls: 0 };
          total.ms += performance.now() - started;
          total.calls++;
          totals.set(name, total);
        }
      };
    },
  });
  return {
    reset: () => totals.clear(),
    meanUs: () =>
      Object.fromEntries([...totals].map(([name, { ms, calls }]) => [name, (ms * 1000) / calls])) as Record<
        string,
        number
      >,
  };
}

/** One trip to a libuv worker thread and back, doing nothing there (a 1-byte randomFill): the median of 2,000. */
async function threadPoolRoundTripUs(): Promise<number> {
  const buffer = Buffer.alloc(1);
  const trips: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const started = performance.now();
    await new Promise((resolve) => randomFill(buffer, resolve));
    trips.push((performance.now() - started) * 1000);
  }
  return median(trips);
}
