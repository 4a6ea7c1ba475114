import { once } from "node:events";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { Client, Pool } from "undici";
import samplePrompts from "../data/sample-prompts.json" with { type: "json" };
import { loadConfig, parseConfig } from "../src/config/load-config.js";
import type { RouteConfig } from "../src/config/schema.js";
import { createEngines } from "../src/engines/engines.js";
import { ModelRegistry } from "../src/models/model-registry.js";
import { Route } from "../src/routing/route.js";
import type { ServingModel } from "../src/routing/serving.js";
import { median, percentile, writeResults } from "./bench-output.js";
import { firstLine, root, startGatewayProcess, startProcess, treeCpuMicros } from "./gateway-process.js";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "10" }, workers: { type: "string", default: "1" } },
});
const seconds = Number(values.seconds);
const workers = Number(values.workers);

const upstream = startProcess([join(root, "bench/mock-upstream-main.ts")]);
const upstreamUrl = (JSON.parse(await firstLine(upstream)) as { url: string }).url;
const gateway = await startGatewayProcess(
  `models:
  - {id: up, task: generate, engine: openai, base_url: "${upstreamUrl}", upstream_model: mock, parallel: 100000}
  - {id: lm-base, task: generate, engine: llamacpp, variants: {q8_0: ${join(root, "models/lm-base-q8_0.gguf")}}}
routes:
  - name: routed
    targets: [{model: up, weight: 100}]
    sticky_key: "header:x-user-id"
    fallback: [lm-base]
    retry: {attempts: 2}
    breaker: {failures: 5, half_open_after_ms: 2000}
    timeout_ms: {first_token: 2000, total: 30000}`,
  { workers },
);
const bare = startProcess([join(root, "bench/bare-proxy-main.mjs"), upstreamUrl], {}, "pipe", true);
const bareUrl = `${(JSON.parse(await firstLine(bare)) as { url: string }).url}/v1`;
const direct = upstreamUrl;
const through = `${gateway.url}/v1`;
const completion = JSON.stringify({ model: "up", prompt: "hi", max_tokens: 4 });
const directCompletion = JSON.stringify({ model: "mock", prompt: "hi", max_tokens: 4 });

/** Requests per second, and the gateway's CPU time per request over the same run. */
async function throughput(
  base: string,
  body: string,
  duration: number,
  endpoint = "completions",
): Promise<{ rps: number; gatewayCpuUs: number; bareCpuUs: number }> {
  const cpuBefore = gateway.cpuMicros();
  const bareCpuBefore = treeCpuMicros(bare.pid as number);
  const result = await autocannon({
    url: `${base}/${endpoint}`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections: 32,
    duration,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
  return {
    rps: result.requests.average,
    gatewayCpuUs: (gateway.cpuMicros() - cpuBefore) / result.requests.total,
    bareCpuUs: (treeCpuMicros(bare.pid as number) - bareCpuBefore) / result.requests.total,
  };
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

// Warm both paths (JIT, connection pools) before measuring.
await throughput(direct, directCompletion, 2);
await throughput(through, completion, 3);

await throughput(bareUrl, directCompletion, 2);

const rps = { direct: [] as number[], bare: [] as number[], through: [] as number[] };
const gatewayCpuUs: number[] = [];
const bareCpuUs: number[] = [];
for (let round = 0; round < 2; round++) {
  rps.direct.push((await throughput(direct, directCompletion, seconds / 2)).rps);
  const bareRun = await throughput(bareUrl, directCompletion, seconds / 2);
  rps.bare.push(bareRun.rps);
  bareCpuUs.push(bareRun.bareCpuUs);
  const run = await throughput(through, completion, seconds / 2);
  rps.through.push(run.rps);
  gatewayCpuUs.push(run.gatewayCpuUs);
}

// Streamed chat with the fields agents send (tools, response_format), through the full request model.
const chatBody = (model: string) =>
  JSON.stringify({
    model,
    messages: [
      { role: "system", content: "You are terse." },
      { role: "user", content: "hi" },
    ],
    max_tokens: 4,
    stream: true,
    tools: [
      { type: "function", function: { name: "lookup", parameters: { type: "object", properties: {} } } },
    ],
    tool_choice: "auto",
  });
const streamRps = { bare: [] as number[], through: [] as number[] };
await throughput(through, chatBody("up"), 2, "chat/completions");
for (let round = 0; round < 2; round++) {
  streamRps.bare.push((await throughput(bareUrl, chatBody("mock"), seconds / 2, "chat/completions")).rps);
  streamRps.through.push((await throughput(through, chatBody("up"), seconds / 2, "chat/completions")).rps);
}

// The Responses API bridged to chat (what the AI SDK's default provider sends): items translated, the upstream's
// chat stream rewritten as Responses events. Beside it, the bare proxy forwarding the same chat stream untouched.
const responsesBody = JSON.stringify({
  model: "up",
  instructions: "You are terse.",
  input: [{ role: "user", content: [{ type: "input_text", text: "hi" }] }],
  max_output_tokens: 4,
  stream: true,
  tools: [{ type: "function", name: "lookup", parameters: { type: "object", properties: {} } }],
  tool_choice: "auto",
});
const responsesRps = { bare: [] as number[], through: [] as number[] };
await throughput(through, responsesBody, 2, "responses");
for (let round = 0; round < 2; round++) {
  responsesRps.bare.push((await throughput(bareUrl, chatBody("mock"), seconds / 2, "chat/completions")).rps);
  responsesRps.through.push((await throughput(through, responsesBody, seconds / 2, "responses")).rps);
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
const { rps: routedRps } = await throughput(through, routedCompletion, seconds / 2);
const inProcessRouting = await routeBookkeeping();

// Local model: the gateway's HTTP streams vs the engine in this process, one after the other. The streams are
// read with undici's request(), the lightest client at hand: on two cores a heavier one (fetch's web streams)
// takes CPU from the model it measures.
const TOKENS = 256;
const throughUrl = new URL(through);
const streamClient = new Pool(throughUrl.origin, { connections: samplePrompts.length });
async function httpTokensPerSecond(): Promise<number> {
  const started = performance.now();
  const counts = await Promise.all(
    samplePrompts.map(async (prompt) => {
      const response = await streamClient.request({
        path: `${throughUrl.pathname}/completions`,
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
      const text = await response.body.text();
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

await streamClient.close();
upstream.kill("SIGTERM");
bare.kill("SIGTERM");
await Promise.all([gateway.stop(), once(upstream, "exit"), once(bare, "exit")]);

const us = (ms: number) => Math.round(ms * 1000);
const figures = {
  gateway_workers: workers,
  proxy_requests_per_s_32_connections: {
    direct: median(rps.direct),
    bare_node_proxy: median(rps.bare),
    through_infergate: median(rps.through),
    infergate_to_bare_proxy: median(rps.through) / median(rps.bare),
    gateway_cpu_us_per_request: median(gatewayCpuUs),
    bare_proxy_cpu_us_per_request: median(bareCpuUs),
    samples: rps,
  },
  streamed_chat_with_tools_requests_per_s_32_connections: {
    bare_node_proxy: median(streamRps.bare),
    through_infergate: median(streamRps.through),
    infergate_to_bare_proxy: median(streamRps.through) / median(streamRps.bare),
    samples: streamRps,
  },
  streamed_responses_bridged_to_chat_requests_per_s_32_connections: {
    bare_node_proxy_forwarding_chat: median(responsesRps.bare),
    through_infergate: median(responsesRps.through),
    infergate_to_bare_proxy: median(responsesRps.through) / median(responsesRps.bare),
    samples: responsesRps,
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
const proxy = figures.proxy_requests_per_s_32_connections;
const streamed = figures.streamed_chat_with_tools_requests_per_s_32_connections;
console.log(
  `  proxy, 32 connections     direct ${proxy.direct.toFixed(0)} req/s   bare Node proxy ${proxy.bare_node_proxy.toFixed(0)} req/s   through infergate ${proxy.through_infergate.toFixed(0)} req/s = ${proxy.infergate_to_bare_proxy.toFixed(2)}x the bare proxy (CPU per request: infergate ${proxy.gateway_cpu_us_per_request.toFixed(1)} µs with its access log, bare proxy ${proxy.bare_proxy_cpu_us_per_request.toFixed(1)} µs)`,
);
console.log(
  `  streamed chat + tools     bare Node proxy ${streamed.bare_node_proxy.toFixed(0)} req/s   through infergate ${streamed.through_infergate.toFixed(0)} req/s = ${streamed.infergate_to_bare_proxy.toFixed(2)}x`,
);
const responses = figures.streamed_responses_bridged_to_chat_requests_per_s_32_connections;
console.log(
  `  responses → chat, streamed bare Node proxy (chat as is) ${responses.bare_node_proxy_forwarding_chat.toFixed(0)} req/s   through infergate ${responses.through_infergate.toFixed(0)} req/s = ${responses.infergate_to_bare_proxy.toFixed(2)}x`,
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
console.log(`  written to ${writeResults("gateway", figures)} (gateway log: ${gateway.logFile})`);

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
    tag: () => Promise.reject(new Error("unused")),
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
