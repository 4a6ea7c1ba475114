/**
 * bench:soak — `infergate serve` (as installed, its own process) held at 80% of its measured capacity for ten
 * minutes, through a route with retries and a breaker, the memory cache on, against the mock upstream in a
 * process of its own. Half the prompts repeat (cache hits), half are new (misses that fill the cache, which is
 * bounded small so it is full before the warm-up ends and evicts from then on). Every interval prints and records
 * throughput, latency percentiles, errors and the gateway's resident memory (its mean over the interval, sampled
 * each second); the summary gives RSS growth after the warm-up (the median interval of the second half against
 * that of the first; target: under 5%), p99 drift (last interval against the first after warm-up) and the error count.
 * RSS under load moves with the requests in flight, so the leak verdict also compares like with like: the
 * gateway's RSS at rest (load stopped, 10 s to settle, 5 s of samples) after the warm-up and again at the end. Each
 * interval records the CPU share of the gateway, the upstream and this load generator, so an interval that fell
 * short of the offered rate can be put down to whoever was short of CPU.
 * Not part of CI: it takes the whole machine for the duration.
 *
 *   npm run bench:soak [-- --minutes 10 --warmup-s 60 --interval-s 30]
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { openTarget } from "../src/bench/bench-target.js";
import { benchmarkTarget } from "../src/bench/run-benchmark.js";
import type { Workload } from "../src/bench/workload.js";
import { loadConfig } from "../src/config/load-config.js";
import { createEngines } from "../src/engines/engines.js";
import { ModelRegistry } from "../src/models/model-registry.js";
import { median, writeResults } from "./bench-output.js";
import { firstLine, root, startGatewayProcess, startProcess, treeCpuMicros } from "./gateway-process.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    "warmup-s": { type: "string", default: "60" },
    "interval-s": { type: "string", default: "30" },
    share: { type: "string", default: "0.8" },
  },
});
const totalS = Number(values.minutes) * 60;
const warmupS = Number(values["warmup-s"]);
const intervalS = Number(values["interval-s"]);
const share = Number(values.share);

const upstream = startProcess([join(root, "bench/mock-upstream-main.ts")]);
const upstreamUrl = (JSON.parse(await firstLine(upstream)) as { url: string }).url;
const gateway = await startGatewayProcess(
  [
    "models:",
    `  - {id: mock, task: generate, engine: openai, base_url: "${upstreamUrl}", upstream_model: m}`,
    "routes:",
    "  - {name: soak, targets: [{model: mock}], retry: {attempts: 2}, breaker: {failures: 50, half_open_after_ms: 2000}}",
    "cache: {store: memory, max_bytes: 4194304}",
  ].join("\n"),
);
await using engines = createEngines();
const target = await openTarget(`${gateway.url}/v1`, {
  registry: new ModelRegistry(await loadConfig()),
  engines,
  model: "soak",
});

/** Half repeat (a pool of 256 prompts: cache hits), half are new (misses). */
let sequence = 0;
function workload(count: number): Workload {
  const items = Array.from({ length: count }, () => {
    const n = sequence++;
    return { text: n % 2 === 0 ? `repeated prompt ${n % 512}` : `new prompt ${n} ${Math.random()}` };
  });
  return { name: "soak (half repeated, half new)", items };
}
const settings = { maxTokens: 8, temperature: 0 };

// Capacity: what the gateway sustains closed-loop at 64 in flight, in this very setup.
const capacityRun = await benchmarkTarget(target, workload(200_000), {
  strategy: { kind: "concurrent", concurrency: 64 },
  constraints: { durationS: 10, warmupRequests: 2000 },
  settings,
});
const capacity = capacityRun.metrics.requests_per_s;
const rate = Math.round(capacity * share);
console.log(
  `bench:soak  capacity ${capacity.toFixed(0)} req/s (64 in flight); holding ${rate} req/s (${share * 100}%) for ${totalS} s, warm-up ${warmupS} s`,
);

interface Interval {
  at_s: number;
  requests_per_s: number;
  e2e_p50_ms: number;
  e2e_p99_ms: number;
  errors: number;
  /** Mean over the interval. */
  rss_bytes: number;
  /** The gateway's CPU time per request: whether a request costs more as the run goes on. */
  gateway_cpu_us_per_request: number;
  /** CPU time over wall time (1 = one core) of each process in the run. */
  cpu_share: { gateway: number; upstream: number; load_generator: number };
}

/** Mean RSS of the gateway at rest: no load, `settleS` to settle, then a sample a second for `sampleS`. */
async function restingRss(settleS = 10, sampleS = 5): Promise<number> {
  await sleep(settleS * 1000);
  const samples: number[] = [];
  for (let i = 0; i < sampleS; i++) {
    samples.push(gateway.rssBytes());
    await sleep(1000);
  }
  return samples.reduce((sum, sample) => sum + sample, 0) / samples.length;
}

let restingAfterWarmup: number | undefined;
const intervals: Interval[] = [];
const started = performance.now();
// RSS swings with the collector by tens of MiB within seconds: sampled every second, averaged per interval.
let rssSamples: number[] = [];
const sampler = setInterval(() => rssSamples.push(gateway.rssBytes()), 1000);
for (let at = 0; at < totalS; at += intervalS) {
  if (at >= warmupS && restingAfterWarmup === undefined) {
    restingAfterWarmup = await restingRss();
    console.log(`  at rest after the warm-up: RSS ${(restingAfterWarmup / 2 ** 20).toFixed(1)} MiB`);
  }
  rssSamples = [];
  const cpuBefore = gateway.cpuMicros();
  const upstreamCpuBefore = treeCpuMicros(upstream.pid as number);
  const ownCpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const report = await benchmarkTarget(target, workload(Math.ceil(rate * intervalS * 1.2)), {
    strategy: { kind: "constant", rate, maxInFlight: 512 },
    constraints: { durationS: intervalS, warmupRequests: 0 },
    settings,
  });
  const m = report.metrics;
  const interval = {
    at_s: Math.round((performance.now() - started) / 1000),
    requests_per_s: m.requests_per_s,
    e2e_p50_ms: m.e2e_ms.p50,
    e2e_p99_ms: m.e2e_ms.p99,
    errors: m.errors,
    rss_bytes: rssSamples.reduce((sum, sample) => sum + sample, 0) / Math.max(1, rssSamples.length),
    gateway_cpu_us_per_request: (gateway.cpuMicros() - cpuBefore) / Math.max(1, m.requests),
    cpu_share: cpuShares(wallBefore, cpuBefore, upstreamCpuBefore, ownCpuBefore),
  };
  intervals.push(interval);
  console.log(
    `  ${String(interval.at_s).padStart(4)} s  ${interval.requests_per_s.toFixed(0).padStart(6)} req/s  E2E p50 ${interval.e2e_p50_ms.toFixed(2)} ms  p99 ${interval.e2e_p99_ms.toFixed(2)} ms  errors ${interval.errors}  RSS ${(interval.rss_bytes / 2 ** 20).toFixed(1)} MiB  gateway CPU ${interval.gateway_cpu_us_per_request.toFixed(0)} µs/req  CPU gateway ${interval.cpu_share.gateway.toFixed(2)} upstream ${interval.cpu_share.upstream.toFixed(2)} load ${interval.cpu_share.load_generator.toFixed(2)}${interval.at_s <= warmupS ? "  (warm-up)" : ""}`,
  );
}
clearInterval(sampler);
const restingAtEnd = await restingRss();
console.log(`  at rest at the end: RSS ${(restingAtEnd / 2 ** 20).toFixed(1)} MiB`);
await gateway.stop();
upstream.kill("SIGTERM");

const steady = intervals.filter((interval) => interval.at_s > warmupS);
const first = steady[0];
const last = steady.at(-1);
if (!first || !last || steady.length < 2)
  throw new Error(`the soak ran fewer than two intervals past the ${warmupS} s warm-up`);
// RSS swings by tens of MiB with the collector and with the requests in flight: growth compares the median
// interval of the second half of the steady run with that of the first half.
const half = Math.floor(steady.length / 2);
const rssEarly = median(steady.slice(0, half).map((interval) => interval.rss_bytes));
const rssLate = median(steady.slice(half).map((interval) => interval.rss_bytes));
const summary = {
  capacity_requests_per_s: capacity,
  held_requests_per_s: rate,
  duration_s: totalS,
  warmup_s: warmupS,
  rss_median_first_half_bytes: rssEarly,
  rss_median_second_half_bytes: rssLate,
  rss_growth: (rssLate - rssEarly) / rssEarly,
  rss_at_rest_bytes: { after_warmup: restingAfterWarmup, end: restingAtEnd },
  rss_at_rest_growth: restingAfterWarmup ? (restingAtEnd - restingAfterWarmup) / restingAfterWarmup : null,
  /** Intervals that held less than 95% of the offered rate. */
  short_intervals: steady.filter((interval) => interval.requests_per_s < 0.95 * rate).length,
  rss_max_bytes: Math.max(...steady.map((interval) => interval.rss_bytes)),
  e2e_p99_ms: { first_after_warmup: first.e2e_p99_ms, last: last.e2e_p99_ms },
  p99_drift: last.e2e_p99_ms / first.e2e_p99_ms,
  gateway_cpu_us_per_request: {
    first_after_warmup: first.gateway_cpu_us_per_request,
    last: last.gateway_cpu_us_per_request,
  },
  errors: intervals.reduce((sum, interval) => sum + interval.errors, 0),
  requests: intervals.reduce((sum, interval) => sum + interval.requests_per_s * intervalS, 0),
};
if (summary.rss_at_rest_growth !== null)
  console.log(
    `  RSS at rest ${((restingAfterWarmup ?? 0) / 2 ** 20).toFixed(1)} → ${(restingAtEnd / 2 ** 20).toFixed(1)} MiB: ${(summary.rss_at_rest_growth * 100).toFixed(1)}% (target < 5%); ${summary.short_intervals} of ${steady.length} intervals held under 95% of ${rate} req/s`,
  );
console.log(
  `  RSS (median interval) first half ${(rssEarly / 2 ** 20).toFixed(1)} MiB → second half ${(rssLate / 2 ** 20).toFixed(1)} MiB: ${(summary.rss_growth * 100).toFixed(1)}% (target < 5%); p99 ${first.e2e_p99_ms.toFixed(2)} → ${last.e2e_p99_ms.toFixed(2)} ms (${summary.p99_drift.toFixed(2)}x); ${summary.errors} errors in ${summary.requests.toFixed(0)} requests`,
);
console.log(`  written to ${writeResults("soak", { summary, intervals })}`);

/** Each process's CPU time over the wall time since `wallBefore` (1 = a whole core). */
function cpuShares(
  wallBefore: number,
  gatewayBefore: number,
  upstreamBefore: number,
  ownBefore: NodeJS.CpuUsage,
): Interval["cpu_share"] {
  const wallUs = (performance.now() - wallBefore) * 1000;
  const own = process.cpuUsage(ownBefore);
  return {
    gateway: (gateway.cpuMicros() - gatewayBefore) / wallUs,
    upstream: (treeCpuMicros(upstream.pid as number) - upstreamBefore) / wallUs,
    load_generator: (own.user + own.system) / wallUs,
  };
}
