import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../helpers.js";

const entry = join(repoRoot, "src/cli/infergate.ts");

/**
 * The state directory every CLI run of this test process gets (`XDG_STATE_HOME`): the run store that `compare` and
 * `bench` save to lives there, not in the user's home.
 */
export const testStateHome = mkdtempSync(join(tmpdir(), "infergate-state-"));

export interface CliOptions {
  /** The working directory (default: the repository root). */
  cwd?: string;
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function command(args: readonly string[], options: CliOptions) {
  // tsx is resolved from here, not from the working directory (which may be a temporary one).
  return {
    argv: ["--import", import.meta.resolve("tsx"), entry, ...args],
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, XDG_STATE_HOME: testStateHome, ...options.env },
  };
}

/** `infergate ARGS`, run to its end. */
export function runCli(args: readonly string[], options: CliOptions = {}): CliResult {
  const { argv, cwd, env } = command(args, options);
  const result = spawnSync(process.execPath, argv, {
    cwd,
    env,
    input: options.input,
    encoding: "utf8",
    timeout: options.timeoutMs ?? 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The CLI without blocking this process: a test's own servers keep answering while it runs. */
export async function runCliAsync(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const { argv, cwd, env } = command(args, options);
  const child = spawn(process.execPath, argv, { cwd, env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}
