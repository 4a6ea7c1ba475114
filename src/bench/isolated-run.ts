import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { InvalidRequestError } from "../core/errors.js";
import { type Distribution, distributionOf } from "./distribution.js";
import type { PeakMemorySample } from "./peak-memory.js";

/**
 * Measurements that need a process of their own, so nothing else the benchmark loaded is counted:
 * - cold start: spawn → runtime up → model loaded → first output, timed from the spawn;
 * - peak memory per request: the process's resident-set high-water mark while it serves one request, reset
 *   before each (a process holding just this model, as a server would).
 */
export interface ColdStartSample {
  process_start_ms: number;
  loaded_ms: number;
  first_output_ms: number;
}

export interface IsolatedResults {
  coldStarts: ColdStartSample[];
  coldStartMs?: Distribution;
  memory: PeakMemorySample[];
}

/** What the child is asked to do, on its standard input. */
export interface ChildTask {
  model: string;
  configPath: string;
  /** Texts to send one at a time, measuring peak memory for each. */
  memoryTexts: string[];
  maxTokens: number;
}

/** What the child prints when it is done: wall-clock times (epoch ms) and memory samples. */
export interface ChildResult {
  started: number;
  loaded: number;
  first_output: number;
  memory: PeakMemorySample[];
}

/**
 * Spawns `runs` fresh processes one after another; each loads the model, answers once (timed), and the first
 * also measures peak memory over `memoryTexts`. Thread calibration comes from the per-machine cache, as it would
 * on a real restart.
 */
export async function measureIsolated(
  task: Omit<ChildTask, "memoryTexts">,
  runs: number,
  memoryTexts: string[],
): Promise<IsolatedResults> {
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const child = fileURLToPath(new URL(`./isolated-run-child${extension}`, import.meta.url));
  const coldStarts: ColdStartSample[] = [];
  let memory: PeakMemorySample[] = [];
  for (let i = 0; i < runs; i++) {
    const spawned = performance.timeOrigin + performance.now();
    const input: ChildTask = { ...task, memoryTexts: i === 0 ? memoryTexts : [] };
    const result = JSON.parse(
      await run(process.execPath, [...process.execArgv, child], JSON.stringify(input)),
    ) as ChildResult;
    coldStarts.push({
      process_start_ms: result.started - spawned,
      loaded_ms: result.loaded - spawned,
      first_output_ms: result.first_output - spawned,
    });
    if (i === 0) memory = result.memory;
  }
  return {
    coldStarts,
    ...(coldStarts.length > 0 && {
      coldStartMs: distributionOf(coldStarts.map((sample) => sample.first_output_ms)),
    }),
    memory,
  };
}

function run(command: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(stdout.trim().split("\n").at(-1) ?? "");
      else
        reject(
          new InvalidRequestError(
            `isolated run failed (exit ${code}): ${stderr.trim().split("\n").at(-1) ?? ""}`,
          ),
        );
    });
    child.stdin.end(input);
  });
}
