import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config/load-config.js";
import type { GenerateChunk } from "../src/core/types.js";
import { ModelRegistry } from "../src/models/model-registry.js";

export const repoRoot = fileURLToPath(new URL("..", import.meta.url));
/** Labelled data bundled with the project (copied from the model build). */
export const bundledData = fileURLToPath(new URL("../data/", import.meta.url));

/** The built-in config's models; `runtime` sets where its GGUF models decode. */
export async function defaultRegistry(runtime?: LlamaRuntime): Promise<ModelRegistry> {
  const config = await loadConfig();
  if (!runtime) return new ModelRegistry(config);
  return new ModelRegistry({
    ...config,
    models: config.models.map((model) => (model.engine === "llamacpp" ? { ...model, runtime } : model)),
  });
}

/** The llamacpp engine's runtimes: every test of what a GGUF model does runs on each. */
export const LLAMA_RUNTIMES = ["in-process", "llama-server"] as const;
export type LlamaRuntime = (typeof LLAMA_RUNTIMES)[number];

export interface Collected {
  text: string;
  tokenIds: number[];
  chunks: GenerateChunk[];
  done: NonNullable<GenerateChunk["done"]>;
}

export async function collect(stream: AsyncIterable<GenerateChunk>): Promise<Collected> {
  const chunks: GenerateChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const done = chunks.at(-1)?.done;
  if (!done) throw new Error("stream ended without a final chunk");
  return {
    text: chunks.map((chunk) => chunk.text).join(""),
    tokenIds: chunks.flatMap((chunk) => [...chunk.tokenIds]),
    chunks,
    done,
  };
}

export interface LabelledText {
  text: string;
  label: string;
}

export function readSpamDev(): LabelledText[] {
  return readFileSync(`${bundledData}spam_dev.jsonl`, "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as LabelledText);
}

/** Polls `check` every 25 ms until it holds or `timeoutMs` passes; returns its last answer. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A local GGUF model's config entry for tests: one q8_0 variant, two sequences, one thread. */
export function localModel(id: string, file: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    task: "generate",
    engine: "llamacpp",
    variants: { q8_0: file },
    parallel: 2,
    threads: 1,
    ...extra,
  };
}

/** A remote model's config entry whose upstream nobody listens on: it loads, and every request to it is a 502. */
export function unreachableModel(id = "up") {
  return { id, task: "generate", engine: "openai", base_url: "http://127.0.0.1:9/v1", upstream_model: "m" };
}
