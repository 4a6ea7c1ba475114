/**
 * bench:gateway — what infergate adds on the wire, measured side by side in one run:
 *  1. proxy throughput: requests/s at 32 connections against an instant mock OpenAI upstream, direct vs through
 *     infergate (non-streaming);
 *  2. added latency at 1 connection: p50/p99 direct vs through (non-streaming);
 *  3. streaming: time to the first content event, direct vs through;
 *  4. a local model over HTTP: aggregate tokens/s of 8 concurrent streams on lm-base q8_0 through the gateway
 *     vs the in-process engine;
 *  5. routing: the same upstream asked for directly and through a route with an A/B split, a sticky key,
 *     retries, a breaker and timeouts (at 1 connection, interleaved), and the route's bookkeeping per request
 *     measured in-process against an instant model.
 * The mock upstream, the gateway and this load generator are three processes.
 *
 *   npm run bench:gateway [-- --seconds 10 --workers 2]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, openSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { Client } from "undici";
import samplePrompts from "../data/sample-prompts.json" with { type: "json" };
import { loadConfig, parseConfig } from "../src/config/load-config.js";
import type { RouteConfig } from "../src/config/schema.js";
import { createEngines } from "../src/engines/engines.js";
import { ModelRegistry } from "../src/models/model-registry.js";
import { Route } from "../src/routing/route.js";
import type { ServingModel } from "../src/routing/serving.js";
import { median, writeResults } from "./bench-output.js";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "10" }, workers: { type: "string", default: "1" } },
});
const seconds = Number(values.seconds);
const workers = Number(values.workers);
const root = new URL("..", import.meta.url).pathname;

const upstream = await startProcess(["--import", "tsx", join(root, "bench/mock-upstream-main.ts")]);
const upstreamUrl = (JSON.parse(await firstLine(upstream)) as { url: string }).url;
const port = await freePort();
const configPath = join(mkdtempSync(join(tmpdir(), "infergate-bench-")), "config.yaml");
writeFileSync(
  configPath,
  `models:
  - {id: up, task: generate, engine: openai, base_url: "${upstreamUrl}", upstream_model: mock, parallel: 100000}
  - {id: lm-base, task: generate, engine: llamacpp, variants: {q8_0: ${join(root, "models/lm-base-q8_0.gguf")}}}
server: {port: ${port}, max_queue_per_model: 100000}
routes:
  - name: routed
    targets: [{model: up, weight: 100}]
    sticky_key: "header:x-user-id"
    fallback: [lm-base]
    retry: {attempts: 2}
    breaker: {failures: 5, half_open_after_ms: 2000}
    timeout_ms: {first_token: 2000, total: 30000}
`,
);
// Logging as in production: an access-log line per request, to a file.
const gatewayLog = join(configPath, "..", "gateway.log");
const gateway = await startProcess(
  [
    "--import",
    "tsx",
    join(root, "src/cli/infergate.ts"),
    "--config",
    configPath,
    "serve",
    "--workers",
    String(workers),
  ],
  { INFERGATE_API_KEYS: "" },
  openSync(gatewayLog, "w"),
);
// A crash must not leave the servers running (and this process's output pipe open).
process.on("exit", () => {
  upstream.kill("SIGTERM");
  gateway.kill("SIGTERM");
});
await waitFor(
  async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok === true,
);
const direct = upstreamUrl;
const through = `http://127.0.0.1:${port}/v1`;
const completion = JSON.stringify({ model: "up", prompt: "hi", max_tokens: 4 });
const directCompletion = JSON.stringify({ model: "mock", prompt: "hi", max_tokens: 4 });

async function throughput(base: string, body: string, duration: number): Promise<number> {
  const result = await autocannon({
    url: `${base}/completions`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections: 32,
    duration,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

/** Sequential requests on one keep-alive connection; microsecond timings from performance.now(). */
async function latencies(
  base: string,
  body: string,
  count: number,
  firstContent = false,
  headers: Record<string, string> = {},
): Promise<number[]> {
  const url = new URL(base);
  const client = new Client(url.origin, { keepAliveTimeout: 60_000 });
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const response = await client.request({
      path: `${url.pathname}/completions`,
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    if (firstContent) {
      for await (const chunk of response.body) {
        if (String(chunk).includes('"text":"H')) break;
      }
      samples.push(performance.now() - started);
      await response.body.dump();
    } else {
      await response.body.text();
      samples.push(performance.now() - started);
    }
  }
  await client.close();
  return samples;
}

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

// Warm both paths (JIT, connection pools) before measuring.
await throughput(direct, directCompletion, 2);
await throughput(through, completion, 3);

const rps = { direct: [] as number[], through: [] as number[] };
for (let round = 0; round < 2; round++) {
  rps.direct.push(await throughput(direct, directCompletion, seconds / 2));
  rps.through.push(await throughput(through, completion, seconds / 2));
}

const single = { direct: [] as number[], through: [] as number[] };
for (let round = 0; round < 4; round++) {
  single.direct.push(...(await latencies(direct, directCompletion, 1500)));
  single.through.push(...(await latencies(through, completion, 1500)));
}

const streamDirect = JSON.stringify({ model: "mock", prompt: "hi", max_tokens: 4, stream: true });
const streamThrough = JSON.stringify({ model: "up", prompt: "hi", max_tokens: 4, stream: true });
const firstByte = { direct: [] as number[], through: [] as number[] };
for (let round = 0; round < 4; round++) {
  firstByte.direct.push(...(await latencies(direct, streamDirect, 500, true)));
  firstByte.through.push(...(await latencies(through, streamThrough, 500, true)));
}

const routedCompletion = JSON.stringify({ model: "routed", prompt: "hi", max_tokens: 4 });
const routing = { model: [] as number[], route: [] as number[] };
for (let round = 0; round < 6; round++) {
  routing.model.push(...(await latencies(through, completion, 1500)));
  routing.route.push(
    ...(await latencies(through, routedCompletion, 1500, false, { "x-user-id": `u${round}` })),
  );
}
const routedRps = await throughput(through, routedCompletion, seconds / 2);
const inProcessRouting = await routeBookkeeping();

// Local model: the gateway's HTTP streams vs the engine in this process, one after the other.
const TOKENS = 256;
async function httpTokensPerSecond(): Promise<number> {
  const started = performance.now();
  const counts = await Promise.all(
    samplePrompts.map(async (prompt) => {
      const response = await fetch(`${through}/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "lm-base",
          prompt,
          max_tokens: TOKENS,
          temperature: 0,
          stream: true,
          stream_options: { include_usage: true },
        }),
      });
      const text = await response.text();
      return Number(/"completion_tokens":(\d+)/.exec(text)?.[1] ?? 0);
    }),
  );
  return (counts.reduce((a, b) => a + b, 0) * 1000) / (performance.now() - started);
}
const registry = new ModelRegistry(await loadConfig());
await using engines = createEngines();
const engine = await engines.load(registry.resolve("lm-base:q8_0"));
async function engineTokensPerSecond(): Promise<number> {
  const started = performance.now();
  const counts = await Promise.all(
    samplePrompts.map(async (prompt) => {
      let completionTokens = 0;
      for await (const chunk of engine.generate({ prompt, maxTokens: TOKENS, temperature: 0 })) {
        completionTokens = chunk.done?.usage.completionTokens ?? completionTokens;
      }
      return completionTokens;
    }),
  );
  return (counts.reduce((a, b) => a + b, 0) * 1000) / (performance.now() - started);
}
const local = { http: [] as number[], engine: [] as number[] };
await httpTokensPerSecond();
await engineTokensPerSecond();
for (let round = 0; round < 5; round++) {
  local.http.push(await httpTokensPerSecond());
  local.engine.push(await engineTokensPerSecond());
}

gateway.kill("SIGTERM");
upstream.kill("SIGTERM");
await Promise.all([once(gateway, "exit"), once(upstream, "exit")]);

const us = (ms: number) => Math.round(ms * 1000);
const figures = {
  gateway_workers: workers,
  proxy_requests_per_s_32_connections: {
    direct: median(rps.direct),
    through_infergate: median(rps.through),
    samples: rps,
  },
  latency_1_connection_us: {
    direct: { p50: us(percentile(single.direct, 50)), p99: us(percentile(single.direct, 99)) },
    through_infergate: { p50: us(percentile(single.through, 50)), p99: us(percentile(single.through, 99)) },
    added: {
      p50: us(percentile(single.through, 50) - percentile(single.direct, 50)),
      p99: us(percentile(single.through, 99) - percentile(single.direct, 99)),
    },
  },
  stream_first_content_us: {
    direct_p50: us(percentile(firstByte.direct, 50)),
    through_p50: us(percentile(firstByte.through, 50)),
    added_p50: us(percentile(firstByte.through, 50) - percentile(firstByte.direct, 50)),
  },
  routing: {
    latency_1_connection_p50_us: {
      model: us(percentile(routing.model, 50)),
      route: us(percentile(routing.route, 50)),
      added: us(percentile(routing.route, 50) - percentile(routing.model, 50)),
    },
    route_requests_per_s_32_connections: routedRps,
    in_process_bookkeeping_us_per_request: inProcessRouting,
  },
  local_lm_base_q8_0_8_streams_tokens_per_s: {
    http: median(local.http),
    in_process: median(local.engine),
    ratio: median(local.http) / median(local.engine),
    samples: local,
  },
};
const latency = figures.latency_1_connection_us;
console.log(
  `bench:gateway  (mock upstream, infergate with ${workers} worker(s) and the load generator are separate processes)`,
);
console.log(
  `  proxy, 32 connections     direct ${figures.proxy_requests_per_s_32_connections.direct.toFixed(0)} req/s   through infergate ${figures.proxy_requests_per_s_32_connections.through_infergate.toFixed(0)} req/s`,
);
console.log(
  `  latency, 1 connection     direct p50 ${latency.direct.p50} µs p99 ${latency.direct.p99} µs; through p50 ${latency.through_infergate.p50} µs p99 ${latency.through_infergate.p99} µs; added p50 ${latency.added.p50} µs, p99 ${latency.added.p99} µs`,
);
console.log(
  `  stream, first content     direct ${figures.stream_first_content_us.direct_p50} µs; through ${figures.stream_first_content_us.through_p50} µs; added ${figures.stream_first_content_us.added_p50} µs (p50)`,
);
console.log(
  `  routing                   p50 via route ${figures.routing.latency_1_connection_p50_us.route} µs vs model ${figures.routing.latency_1_connection_p50_us.model} µs (added ${figures.routing.latency_1_connection_p50_us.added} µs); ${routedRps.toFixed(0)} req/s at 32 connections; bookkeeping in-process ${inProcessRouting.toFixed(1)} µs/request`,
);
console.log(
  `  lm-base q8_0, 8 streams   HTTP ${figures.local_lm_base_q8_0_8_streams_tokens_per_s.http.toFixed(0)} tok/s   in-process ${figures.local_lm_base_q8_0_8_streams_tokens_per_s.in_process.toFixed(0)} tok/s   (${(figures.local_lm_base_q8_0_8_streams_tokens_per_s.ratio * 100).toFixed(1)}%)`,
);
console.log(`  written to ${writeResults("gateway", figures)} (gateway log: ${gatewayLog})`);

/**
 * A route's own cost per request: plan, policies (retry, breaker, timeouts), fallback bookkeeping and
 * events, against an instant in-process model, minus the same calls made on the model directly.
 */
async function routeBookkeeping(): Promise<number> {
  const config = parseConfig(
    {
      models: [
        {
          id: "instant",
          task: "generate",
          engine: "openai",
          base_url: "http://127.0.0.1:1/v1",
          upstream_model: "x",
        },
        {
          id: "spare",
          task: "generate",
          engine: "openai",
          base_url: "http://127.0.0.1:1/v1",
          upstream_model: "y",
        },
      ],
      routes: [
        {
          name: "routed",
          targets: [{ model: "instant" }],
          sticky_key: "header:x-user-id",
          fallback: ["spare"],
          retry: { attempts: 2 },
          breaker: { failures: 5, half_open_after_ms: 2000 },
          timeout_ms: { first_token: 2000, total: 30000 },
        },
      ],
    },
    root,
    "bench",
  );
  const at = performance.now();
  const model: ServingModel = {
    runtime: {},
    async *generate() {
      yield { text: "Hi", tokenIds: [1], at };
      yield {
        text: "",
        tokenIds: [],
        at,
        done: { usage: { promptTokens: 1, completionTokens: 1 }, finishReason: "stop" },
      };
    },
    tokenize: () => [],
    embed: () => Promise.reject(new Error("unused")),
    classify: () => Promise.reject(new Error("unused")),
  };
  const source = { admitModel: async () => ({ model, name: "instant", release() {} }) };
  const route = new Route(config.routes[0] as RouteConfig, "generate", source);
  const request = { prompt: "hi", maxTokens: 4, temperature: 0 };
  const signal = new AbortController().signal;
  const drain = async (stream: AsyncIterable<unknown>) => {
    for await (const _ of stream);
  };
  const timeOf = async (once: (i: number) => Promise<void>, n: number) => {
    const started = performance.now();
    for (let i = 0; i < n; i++) await once(i);
    return ((performance.now() - started) * 1000) / n;
  };
  const direct = () => drain(model.generate(request, signal));
  const routed = (i: number) => {
    const admitted = route.admit("generate", {
      headers: { "x-user-id": `u${i % 1000}` },
      record: { model: "" },
    });
    return drain(admitted.model.generate(request, signal));
  };
  const N = 50_000;
  await timeOf(direct, N);
  await timeOf(routed, N);
  const rounds = { direct: [] as number[], routed: [] as number[] };
  for (let round = 0; round < 5; round++) {
    rounds.direct.push(await timeOf(direct, N));
    rounds.routed.push(await timeOf(routed, N));
  }
  return median(rounds.routed) - median(rounds.direct);
}

async function startProcess(
  args: string[],
  env: Record<string, string> = {},
  stdout: "pipe" | number = "pipe",
): Promise<ChildProcess> {
  return spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", stdout, "inherit"],
  });
}

async function firstLine(child: ChildProcess): Promise<string> {
  for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) return line;
  throw new Error("process printed nothing");
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address ? address.port : 0;
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("gateway did not become ready");
}
