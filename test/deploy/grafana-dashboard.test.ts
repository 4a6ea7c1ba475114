import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { DASHBOARD_PATH, dashboardText } from "../../scripts/grafana-dashboard.js";
import { gatewayMetricInfo, type MetricInfo } from "../../src/telemetry/grafana-dashboard.js";

interface Panel {
  id: number;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: { expr: string }[];
}

/** Each query's metric names that the gateway does not export (a histogram's series by their suffixes). */
function unexported(panels: readonly Panel[], metrics: readonly MetricInfo[]): string[] {
  const exported = new Set(
    metrics.flatMap((metric) =>
      metric.type === "histogram"
        ? [`${metric.name}_bucket`, `${metric.name}_sum`, `${metric.name}_count`]
        : [metric.name],
    ),
  );
  return panels.flatMap((panel) =>
    panel.targets.flatMap(({ expr }) =>
      (expr.match(/\binfergate_[a-z0-9_]+/g) ?? []).filter((name) => !exported.has(name)),
    ),
  );
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, "utf8")) as { panels: Panel[]; uid: string };

test("deploy/grafana/infergate-dashboard.json is what `npm run grafana` writes from the metric definitions", async () => {
  assert.equal(readFileSync(DASHBOARD_PATH, "utf8"), await dashboardText(), "run npm run grafana");
});

test("every panel queries only metrics the gateway exports, and every metric has a panel", async () => {
  const metrics = await gatewayMetricInfo();
  assert.deepEqual(unexported(dashboard.panels, metrics), []);
  const queried = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)).join("\n");
  for (const metric of metrics) assert.ok(queried.includes(metric.name), `a panel for ${metric.name}`);
  // The check itself catches a panel that names a metric the gateway has never had.
  const stray = {
    id: 0,
    title: "stray",
    gridPos: { x: 0, y: 0, w: 1, h: 1 },
    targets: [{ expr: "rate(infergate_nothing_total[5m])" }],
  };
  assert.deepEqual(unexported([stray], metrics), ["infergate_nothing_total"]);
});

test("every panel's PromQL parses (promtool), with Grafana's interval variable filled in", async () => {
  const expressions = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr));
  const dir = mkdtempSync(join(tmpdir(), "infergate-grafana-"));
  const rules = join(dir, "rules.yaml");
  writeFileSync(
    rules,
    stringify({
      groups: [
        {
          name: "dashboard",
          rules: expressions.map((expr, index) => ({
            record: `infergate:dashboard_query:${index}`,
            expr: expr.replaceAll("$__rate_interval", "5m"),
          })),
        },
      ],
    }),
  );
  const { stdout } = await promisify(execFile)("promtool", ["check", "rules", rules]);
  assert.match(stdout, new RegExp(`SUCCESS: ${expressions.length} rules found`));
});

test("panels have unique ids and titles and do not overlap on the grid", () => {
  const ids = new Set(dashboard.panels.map((panel) => panel.id));
  assert.equal(ids.size, dashboard.panels.length);
  assert.equal(new Set(dashboard.panels.map((panel) => panel.title)).size, dashboard.panels.length);
  const cells = new Set<string>();
  for (const { gridPos } of dashboard.panels)
    for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++)
      for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `panels overlap at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
  assert.equal(dashboard.uid, "infergate-gateway");
});
