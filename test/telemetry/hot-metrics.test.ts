import assert from "node:assert/strict";
import { test } from "node:test";
import { AggregatorRegistry, Counter, Histogram, Registry } from "prom-client";
import { HotCounter, HotHistogram } from "../../src/telemetry/hot-metrics.js";

const BOUNDS = [0.001, 0.01, 0.1, 1];
const OBSERVATIONS: [string, string, number][] = [
  ["/v1/completions", "up", 0.0004],
  ["/v1/completions", "up", 0.001],
  ["/v1/completions", "up", 0.05],
  ["/v1/chat/completions", "up", 3],
  ["/v1/chat/completions", "lm-base:q8_0", 0.2],
];

/** The same observations through prom-client's own metrics and through the hot ones. */
function registries(): { reference: Registry; hot: Registry } {
  const reference = new Registry();
  const hot = new Registry();
  const labelNames = ["route", "model"] as const;
  const counter = new Counter({
    name: "t_requests_total",
    help: "Requests.",
    labelNames,
    registers: [reference],
  });
  const histogram = new Histogram({
    name: "t_duration_seconds",
    help: "Duration.",
    labelNames,
    buckets: BOUNDS,
    registers: [reference],
  });
  const hotCounter = new HotCounter(hot, "t_requests_total", "Requests.", labelNames);
  const hotHistogram = new HotHistogram(hot, "t_duration_seconds", "Duration.", labelNames, BOUNDS);
  for (const [route, model, seconds] of OBSERVATIONS) {
    counter.inc({ route, model }, 2);
    histogram.observe({ route, model }, seconds);
    hotCounter.inc(`${route}\0${model}`, () => ({ route, model }), 2);
    hotHistogram.observe(`${route}\0${model}`, () => ({ route, model }), seconds);
  }
  return { reference, hot };
}

test("hot counters and histograms expose exactly the text prom-client's own would", async () => {
  const { reference, hot } = registries();
  const text = await hot.metrics();
  assert.equal(text, await reference.metrics());
  assert.match(text, /t_duration_seconds_bucket\{le="0.1",route="\/v1\/completions",model="up"\} 3/);
});

test("cluster workers' hot series sum as prom-client's do", async () => {
  const { reference, hot } = registries();
  const twice = async (registry: Registry) =>
    AggregatorRegistry.aggregate([
      await registry.getMetricsAsJSON(),
      await registry.getMetricsAsJSON(),
    ]).metrics();
  assert.equal(await twice(hot), await twice(reference));
  assert.match(await twice(hot), /t_requests_total\{route="\/v1\/completions",model="up"\} 12/);
});

test("past 4,096 series, new label values are counted under one series labelled other", async () => {
  const registry = new Registry();
  const counter = new HotCounter(registry, "t_paths_total", "Paths.", ["route"]);
  for (let index = 0; index < 4100; index++) counter.inc(`/p${index}`, () => ({ route: `/p${index}` }));
  counter.inc("/p0", () => ({ route: "/p0" }));
  const text = await registry.metrics();
  assert.match(text, /t_paths_total\{route="other"\} 4\n/);
  assert.match(text, /t_paths_total\{route="\/p0"\} 2\n/);
  assert.equal(text.match(/^t_paths_total\{/gm)?.length, 4097);
});

test("a reset empties every series", async () => {
  const { hot } = registries();
  hot.resetMetrics();
  assert.doesNotMatch(await hot.metrics(), /route=/);
});
