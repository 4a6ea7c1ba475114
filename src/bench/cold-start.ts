import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { InvalidRequestError } from "../core/errors.js";
import { type Distribution, distributionOf } from "./distribution.js";

/** One fresh process: spawn → runtime up → model loaded → first token (or first answer), all from the spawn. */
export interface ColdStartSample {
  process_start_ms: number;
  loaded_ms: number;
  first_output_ms: number;
}

export interface ColdStart {
  samples: ColdStartSample[];
  /** Spawn to first output. */
  total_ms: Distribution;
}

/** What the child process prints when it is done: wall-clock times (epoch ms). */
export interface ColdStartTimes {
  started: number;
  loaded: number;
  first_output: number;
}

/**
 * Spawns `repeat` fresh processes, one after another, each loading `model` from `configPath` and answering one
 * request. Thread calibration comes from the per-machine cache, as it would on a real restart.
 */
export async function measureColdStart(
  model: string,
  configPath: string | undefined,
  repeat: number,
): Promise<ColdStart> {
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const child = fileURLToPath(new URL(`./cold-start-child${extension}`, import.meta.url));
  const samples: ColdStartSample[] = [];
  for (let i = 0; i < repeat; i++) {
    const spawned = performance.timeOrigin + performance.now();
    const output = await run(process.execPath, [...process.execArgv, child, model, configPath ?? ""]);
    const times = JSON.parse(output) as ColdStartTimes;
    samples.push({
      process_start_ms: times.started - spawned,
      loaded_ms: times.loaded - spawned,
      first_output_ms: times.first_output - spawned,
    });
  }
  return { samples, total_ms: distributionOf(samples.map((sample) => sample.first_output_ms)) };
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
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
            `cold-start process failed (exit ${code}): ${stderr.trim().split("\n").at(-1) ?? ""}`,
          ),
        );
    });
  });
}
