/**
 * bench:cache — end-to-end latency through HTTP of a cache hit against a miss, on lm-base q8_0, for the memory
 * store and the Redis store (a redis-server started here on a free loopback port); the gateway runs in its
 * own process, requests go one at a time over one keep-alive connection.
 *
 *   npm run bench:cache [-- --hits 3000 --misses 20]
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "undici";
import { startRedis } from "../test/support/redis-server.js";
import { percentile, writeResults } from "./bench-output.js";
import { type GatewayProcess, root, startGatewayProcess } from "./gateway-process.js";

const { values } = parseArgs({
  options: { hits: { type: "string", default: "3000" }, misses: { type: "string", default: "20" } },
});
const hits = Number(values.hits);
const WARM_UP_MS = 8000;
const misses = Number(values.misses);
const model = `models:
  - {id: lm-base, task: generate, engine: llamacpp, variants: {q8_0: ${join(root, "models/lm-base-q8_0.gguf")}}}`;

interface Latencies {
  p50: number;
  p99: number;
  max: number;
}

interface Figures {
  miss: Latencies;
  hit: Latencies;
  /** The gateway's own account of the hits (its access log): receipt to last byte written. */
  hit_in_gateway: Latencies;
}

async function measure(gateway: GatewayProcess): Promise<Figures> {
  const url = gateway.url;
  const client = new Client(url, { keepAliveTimeout: 60_000 });
  const ask = async (prompt: string, expected: string) => {
    const started = performance.now();
    const response = await client.request({
      path: "/v1/completions",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "lm-base", prompt, max_tokens: 32, temperature: 0 }),
    });
    await response.body.text();
    const elapsed = performance.now() - started;
    const cache = response.headers["x-infergate-cache"];
    if (response.statusCode !== 200 || cache !== expected)
      throw new Error(`expected a ${expected}, got ${response.statusCode} ${cache}`);
    return elapsed;
  };
  // Misses first: each is a 32-token generation (~20 ms), which a fresh process's first seconds barely move.
  const missTimes: number[] = [];
  for (let i = 0; i < misses; i++) missTimes.push(await ask(`Whale, n. ${i}`, "miss"));
  // Then hits, once the process is in its steady state: for its first seconds a fresh gateway shows
  // millisecond stalls on any route, /healthz included (JIT tiers, heap growth), which a serving gateway is past.
  const warmUntil = performance.now() + WARM_UP_MS;
  while (performance.now() < warmUntil) await ask("Whale, n. 0", "hit");
  const hitTimes: number[] = [];
  for (let i = 0; i < hits; i++) hitTimes.push(await ask(`Whale, n. ${i % misses}`, "hit"));
  await client.close();
  await gateway.stop(); // flushes the access log
  const logged = readFileSync(gateway.logFile, "utf8")
    .split("\n")
    .filter((line) => line.includes('"cache":"hit"'))
    .map((line) => (JSON.parse(line) as { durationMs: number }).durationMs)
    .slice(-hits);
  return { miss: summary(missTimes), hit: summary(hitTimes), hit_in_gateway: summary(logged) };
}

function summary(times: number[]): Latencies {
  return { p50: percentile(times, 50), p99: percentile(times, 99), max: Math.max(...times) };
}

const memoryGateway = await startGatewayProcess(`${model}\ncache: {store: memory}`);
const memory = await measure(memoryGateway);

const redis = await startRedis();
const keys = `bench:${randomBytes(32).toString("base64")}`;
const redisGateway = await startGatewayProcess(`${model}\ncache: {store: redis, redis_url: "${redis.url}"}`, {
  env: { INFERGATE_CACHE_KEYS: keys },
});
const redisFigures = await measure(redisGateway);
await redis.stop();

const figures = { lm_base_q8_0_32_tokens_ms: { memory, redis: redisFigures }, hits, misses };
const line = (name: string, f: Figures) =>
  `  ${name.padEnd(7)} miss p50 ${f.miss.p50.toFixed(2)} ms   hit p50 ${f.hit.p50.toFixed(3)} ms  p99 ${f.hit.p99.toFixed(3)} ms  max ${f.hit.max.toFixed(2)} ms   (${(f.miss.p50 / f.hit.p50).toFixed(0)}x faster); inside the gateway p50 ${f.hit_in_gateway.p50.toFixed(3)} ms  p99 ${f.hit_in_gateway.p99.toFixed(3)} ms`;
console.log("bench:cache  (lm-base q8_0, 32 tokens, greedy; one connection; the gateway in its own process)");
console.log(line("memory", memory));
console.log(line("redis", redisFigures));
console.log(`  written to ${writeResults("cache", figures)}`);
