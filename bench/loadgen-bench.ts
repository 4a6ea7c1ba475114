/**
 * bench:loadgen — how much load infergate's own load generator can offer, and what it adds to what it measures.
 *  1. requests/s it sustains against an instant local OpenAI-compatible server (a separate process), streaming,
 *     64 in flight, on its one event-loop thread;
 *  2. its timing overhead: E2E p50 as it reports it vs a bare undici loop reading the same responses, 1 in flight.
 *
 *   npm run bench:loadgen [-- --seconds 5]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "undici";
import { openTarget } from "../src/bench/bench-target.js";
import { benchmarkTarget } from "../src/bench/run-benchmark.js";
import { loadConfig } from "../src/config/load-config.js";
import { createEngines } from "../src/engines/engines.js";
import { ModelRegistry } from "../src/models/model-registry.js";
import { median, writeResults } from "./bench-output.js";
import { firstLine, root, startProcess } from "./gateway-process.js";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "5" } } });
const seconds = Number(values.seconds);
const upstream = startProcess([join(root, "bench/mock-upstream-main.ts")]);
const url = (JSON.parse(await firstLine(upstream)) as { url: string }).url;

await using engines = createEngines();
const target = await openTarget(url, {
  registry: new ModelRegistry(await loadConfig()),
  engines,
  model: "mock",
});
const workload = { name: "hi", items: [{ text: "hi" }] };
const settings = { maxTokens: 4, temperature: 0 };

const cpuBefore = process.cpuUsage();
const wallBefore = performance.now();
const load = await benchmarkTarget(target, workload, {
  strategy: { kind: "concurrent", concurrency: 64 },
  constraints: { durationS: seconds, warmupRequests: 2000 },
  settings,
});
const cpu = process.cpuUsage(cpuBefore);
const cpuShare = (cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore);

const body = JSON.stringify({
  model: "mock",
  prompt: "hi",
  max_tokens: 4,
  temperature: 0,
  stream: true,
  stream_options: { include_usage: true },
});
async function bareLoop(count: number): Promise<number[]> {
  const origin = new URL(url);
  const client = new Client(origin.origin);
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const response = await client.request({
      path: `${origin.pathname}/completions`,
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await response.body.text();
    samples.push(performance.now() - started);
  }
  await client.close();
  return samples;
}
const bare: number[] = [];
const ours: number[] = [];
for (let round = 0; round < 4; round++) {
  bare.push(median(await bareLoop(1500)));
  const report = await benchmarkTarget(target, workload, {
    strategy: { kind: "concurrent", concurrency: 1 },
    constraints: { requests: 1500, warmupRequests: 100 },
    settings,
  });
  ours.push(report.metrics.e2e_ms.p50);
}
upstream.kill("SIGTERM");

const figures = {
  requests_per_s_64_in_flight: load.metrics.requests_per_s,
  requests: load.metrics.requests,
  errors: load.metrics.errors,
  cpu_cores_used: cpuShare,
  e2e_p50_us: { bare_undici: median(bare) * 1000, infergate_loadgen: median(ours) * 1000 },
  overhead_per_request_us: (median(ours) - median(bare)) * 1000,
};
console.log("bench:loadgen  (instant mock OpenAI server in its own process; streamed completions)");
console.log(
  `  throughput   ${figures.requests_per_s_64_in_flight.toFixed(0)} req/s at 64 in flight, ${figures.errors} errors, ${figures.cpu_cores_used.toFixed(2)} cores used`,
);
console.log(
  `  overhead     E2E p50 ${figures.e2e_p50_us.infergate_loadgen.toFixed(0)} µs vs bare undici ${figures.e2e_p50_us.bare_undici.toFixed(0)} µs: +${figures.overhead_per_request_us.toFixed(1)} µs per request`,
);
console.log(`  written to ${writeResults("loadgen", figures)}`);
