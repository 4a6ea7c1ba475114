import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Secret, Service } from "kubernetes-models/v1";
import { parse, stringify } from "yaml";
import { parseConfig } from "../../src/config/load-config.js";
import { gatewayMetricInfo } from "../../src/telemetry/grafana-dashboard.js";
import { repoRoot } from "../helpers.js";
import { chartDir, helm, type Rendered, renderChart } from "../support/helm.js";

const run = promisify(execFile);

/** Each rendered kind, validated against its schema (Kubernetes 1.x, KEDA, the Prometheus Operator). */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
};

const ciDir = join(chartDir, "ci");
const cases = readdirSync(ciDir).filter((file) => file.endsWith("-values.yaml"));

interface Container {
  startupProbe?: unknown;
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}

const ofKind = (objects: Rendered[], kind: string) => objects.filter((object) => object.kind === kind);
const one = (objects: Rendered[], kind: string) => {
  const found = ofKind(objects, kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0] as Rendered;
};

describe("the Helm chart (deploy/helm/infergate), over chart-testing's ci/ values matrix", () => {
  test("the matrix covers KEDA, HPA and no autoscaler, with and without a PDB, Redis in-chart and external", () => {
    assert.deepEqual(cases.sort(), [
      "fixed-replicas-values.yaml",
      "hpa-values.yaml",
      "keda-values.yaml",
      "no-pdb-values.yaml",
    ]);
  });

  for (const file of cases) {
    const values = join(ciDir, file);
    test(`${file}: helm lint --strict`, async () => {
      const { stdout } = await helm(["lint", "--strict", chartDir, "-f", values]);
      assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });

    test(`${file}: every object validates against its schema; the chart's policies hold`, async () => {
      const objects = await renderChart(values);
      for (const object of objects) {
        const model = MODELS[`${object.apiVersion}/${object.kind}`];
        assert.ok(model, `no schema for ${object.apiVersion} ${object.kind}`);
        new model(object as never).validate();
      }
      const deployment = one(objects, "Deployment");
      const pod = (deployment.spec as { template: { spec: Record<string, unknown> } }).template.spec;
      const [gateway] = pod.containers as Container[];
      assert.ok(gateway?.startupProbe && gateway.readinessProbe && gateway.livenessProbe, "all three probes");

      // The grace period covers preStop and then the whole drain the config allows.
      const config = parse(String((one(objects, "ConfigMap").data as Record<string, string>)["config.yaml"]));
      const drainS = (config.server?.drain_timeout_ms ?? 30000) / 1000;
      const preStopS = Number(gateway?.lifecycle?.preStop?.exec?.command.at(-1));
      const grace = Number(pod.terminationGracePeriodSeconds);
      assert.ok(preStopS > 0 && preStopS < grace, `preStop ${preStopS} s inside the grace period ${grace} s`);
      assert.ok(grace >= preStopS + drainS, `grace ${grace} s ≥ preStop ${preStopS} s + drain ${drainS} s`);

      // The gateway accepts the config the chart writes (its models volume holding what the repo bundles).
      assert.equal(config.server.host, "0.0.0.0");
      const bundled = (path: string) => path.replace(/^\/models\//, `${repoRoot}models/`);
      for (const model of config.models as { variants?: Record<string, string> }[])
        for (const [precision, path] of Object.entries(model.variants ?? {}))
          (model.variants as Record<string, string>)[precision] = bundled(path);
      parseConfig(config, "/etc/infergate", "the chart's ConfigMap");

      const autoscalers = [...ofKind(objects, "ScaledObject"), ...ofKind(objects, "HorizontalPodAutoscaler")];
      assert.ok(autoscalers.length <= 1, "at most one autoscaler");
      const replicas = (deployment.spec as { replicas?: number }).replicas;
      const [autoscaler] = autoscalers;
      if (autoscaler) {
        assert.equal(replicas, undefined, "no replicas under an autoscaler");
        const target = (autoscaler.spec as { scaleTargetRef: { name: string } }).scaleTargetRef;
        assert.equal(target.name, deployment.metadata.name);
      } else assert.ok(Number(replicas) >= 1);

      const service = ofKind(objects, "Service").find((s) => s.metadata.name === deployment.metadata.name);
      assert.ok(service, "the gateway's Service");
      const servicePorts = ((service.spec as { ports: { name: string }[] }).ports ?? []).map(
        (port) => port.name,
      );
      for (const monitor of ofKind(objects, "ServiceMonitor"))
        for (const endpoint of (monitor.spec as { endpoints: { port: string }[] }).endpoints)
          assert.ok(
            servicePorts.includes(endpoint.port),
            `ServiceMonitor port ${endpoint.port} is on the Service`,
          );

      for (const policy of ofKind(objects, "NetworkPolicy").filter(
        (p) => p.metadata.name === deployment.metadata.name,
      ))
        assert.match(JSON.stringify(policy.spec), /"except":\["169\.254\.169\.254\/32"\]/);
    });
  }

  test("KEDA: both load queries parse (promtool) and query only metrics the gateway exports", async () => {
    const objects = await renderChart(join(ciDir, "keda-values.yaml"));
    const triggers = (one(objects, "ScaledObject").spec as { triggers: { metadata: { query: string } }[] })
      .triggers;
    const queries = triggers.map((trigger) => trigger.metadata.query);
    assert.equal(queries.length, 2);
    const dir = mkdtempSync(join(tmpdir(), "infergate-promtool-"));
    const rules = join(dir, "rules.yaml");
    const records = queries.map((expr, index) => ({ record: `infergate:autoscaler_query:${index}`, expr }));
    writeFileSync(rules, stringify({ groups: [{ name: "autoscaler", rules: records }] }));
    const { stdout } = await run("promtool", ["check", "rules", rules]);
    assert.match(stdout, /SUCCESS: 2 rules found/);

    const exported = new Set((await gatewayMetricInfo()).map((metric) => metric.name));
    for (const query of queries)
      for (const name of query.match(/infergate_[a-z_]+/g) ?? [])
        assert.ok(exported.has(name), `${name} is exported by the gateway`);
  });

  test("refused: both autoscalers, no API keys, two Redis", async () => {
    const keda = join(ciDir, "keda-values.yaml");
    const refusals: [string[], RegExp][] = [
      [["-f", keda, "--set", "autoscaling.hpa.enabled=true"], /enable keda or hpa, not both/],
      [["--set", "secrets.apiKeys="], /set secrets\.apiKeys or secrets\.existingSecret/],
      [["-f", keda, "--set", "redis.url=redis://elsewhere:6379"], /external url or enable inChart, not both/],
    ];
    for (const [args, reason] of refusals)
      await assert.rejects(helm(["template", "ci", chartDir, ...args]), (error: Error) =>
        reason.test(error.message),
      );
  });

  test("the values schema refuses what the templates cannot use", async () => {
    await assert.rejects(
      helm(["template", "ci", chartDir, "--set", "secrets.apiKeys=k", "--set", "config.server.port=9000"]),
      /values don't meet the specifications of the schema/,
    );
  });

  test("a changed config rolls the pods: the checksum annotation follows the ConfigMap", async () => {
    const values = join(ciDir, "no-pdb-values.yaml");
    const checksum = async (extra: string[]) => {
      const deployment = one(await renderChart(values, extra), "Deployment");
      const template = (
        deployment.spec as { template: { metadata: { annotations: Record<string, string> } } }
      ).template;
      return template.metadata.annotations["checksum/config"];
    };
    const before = await checksum([]);
    assert.match(String(before), /^[0-9a-f]{64}$/);
    assert.equal(await checksum([]), before);
    assert.notEqual(await checksum(["--set", "config.server.drain_timeout_ms=45000"]), before);
  });
});
