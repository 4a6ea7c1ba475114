import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { cpus, homedir, hostname } from "node:os";
import { basename, join } from "node:path";
import type { LlamaModel, Token } from "node-llama-cpp";

export interface ThreadCalibration {
  threads: number;
  /** Decode speed measured for each thread count tried. */
  tokensPerSecond: Record<string, number>;
  /** How long the calibration took (0 when read from the cache). */
  tookMs: number;
  cached: boolean;
}

const PROBE_TOKENS = 16;

/**
 * Thread counts worth trying: 1, 2, 4, ... up to the math cores, and the core count itself. llama.cpp's
 * threads spin-wait, so on a shared or small machine more threads can be far slower (30x on a 2-vCPU VM);
 * the count is measured, never assumed.
 */
export function candidateThreadCounts(cores: number): number[] {
  const counts = new Set<number>();
  for (let n = 1; n <= cores; n *= 2) counts.add(n);
  counts.add(Math.max(1, cores));
  return [...counts].sort((a, b) => a - b);
}

/**
 * The fastest thread count for `model` on this machine, up to one fewer than its cores, measured by decoding a few
 * greedy tokens per candidate, and remembered per machine and model file in `cacheDir`.
 */
export async function calibrateThreads(
  /** The model, or how to load it: loaded only to measure, when nothing is remembered, and disposed after. */
  model: LlamaModel | (() => Promise<LlamaModel>),
  modelPath: string,
  cores: number,
  cacheDir: string = defaultCacheDir(),
): Promise<ThreadCalibration> {
  const file = join(cacheDir, "thread-calibration.json");
  const key = await cacheKey(modelPath, cores);
  const cache = await readCache(file);
  const hit = cache[key];
  if (hit) return { ...hit, tookMs: 0, cached: true };

  const started = performance.now();
  const tokensPerSecond: Record<string, number> = {};
  let best = { threads: 1, speed: 0 };
  // One core stays with the event loop: llama.cpp's threads spin-wait, and a probe with the event loop idle can
  // favour a count that collapses once requests keep it busy (seen on 2 vCPUs: lm-base f16 probed 925 tok/s on 2
  // threads, then served 93 tok/s on them against 580 on one).
  const probed = typeof model === "function" ? await model() : model;
  try {
    for (const threads of candidateThreadCounts(Math.max(1, cores - 1))) {
      const speed = await measureDecodeSpeed(probed, threads);
      tokensPerSecond[threads] = Math.round(speed);
      if (speed > best.speed) best = { threads, speed };
      // Past the knee more threads only get slower; stop paying for probes.
      if (speed < best.speed * 0.5) break;
    }
  } finally {
    if (probed !== model) await probed.dispose();
  }
  const result = { threads: best.threads, tokensPerSecond };
  await writeCache(file, { ...cache, [key]: result });
  return { ...result, tookMs: Math.round(performance.now() - started), cached: false };
}

async function measureDecodeSpeed(model: LlamaModel, threads: number): Promise<number> {
  const context = await model.createContext({ contextSize: 256, sequences: 1, threads });
  try {
    const sequence = context.getSequence();
    const prompt: Token[] = model.tokenize("The quick brown fox jumps over the lazy dog");
    let count = 0;
    let started = 0;
    for await (const _token of sequence.evaluate(prompt, { temperature: 0 })) {
      // The first token includes prompt processing; time decode only.
      if (count === 0) started = performance.now();
      if (++count > PROBE_TOKENS) break;
    }
    return (PROBE_TOKENS * 1000) / (performance.now() - started);
  } finally {
    await context.dispose();
  }
}

export function defaultCacheDir(): string {
  if (process.env.INFERGATE_CACHE_DIR) return process.env.INFERGATE_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "infergate");
}

async function cacheKey(modelPath: string, cores: number): Promise<string> {
  const info = await stat(modelPath);
  const cpu = cpus()[0]?.model ?? "unknown-cpu";
  // "v2": calibrations from before the event loop kept a core are measured again.
  return ["v2", hostname(), cpu, cores, basename(modelPath), info.size, Math.round(info.mtimeMs)].join("|");
}

type CalibrationCache = Record<string, { threads: number; tokensPerSecond: Record<string, number> }>;

async function readCache(file: string): Promise<CalibrationCache> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
  try {
    return JSON.parse(text) as CalibrationCache;
  } catch {
    process.emitWarning(`ignoring unreadable thread calibration cache ${file}`);
    return {};
  }
}

/** Written whole then renamed, so a crash never leaves a half-written cache. */
async function writeCache(file: string, cache: CalibrationCache): Promise<void> {
  try {
    await mkdir(join(file, ".."), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(cache, null, 2));
    await rename(temporary, file);
  } catch (error) {
    // A read-only home must not stop a model from loading; the next load measures again.
    process.emitWarning(`cannot save thread calibration to ${file}: ${(error as Error).message}`);
  }
}
