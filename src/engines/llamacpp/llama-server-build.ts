/**
 * llama.cpp's own tools (llama-server, llama-bench), built once from the llama.cpp source node-llama-cpp ships as a
 * git bundle — the same release its addon was built from — so the `llama-server` runtime and the peer a bench
 * compares with run the same code. Offline: the bundle is cloned, cmake builds only the two tools; the result is
 * cached per release under the user's cache dir (about 12 minutes of two cores the first time, nothing after).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { defaultCacheDir } from "./thread-calibration.js";

const run = promisify(execFile);
/** node-llama-cpp's `llama/` directory, wherever the package is installed. */
const llamaDir = fileURLToPath(new URL("../llama/", import.meta.resolve("node-llama-cpp")));
const TOOLS = ["llama-server", "llama-bench"] as const;
/**
 * Three fixes to llama-server's token stream, which the `llama-server` runtime reads token id by token id: (1) it held
 * back every token while the text so far ended in a byte that is not valid UTF-8 (a byte-fallback token), so from
 * such a byte on the stream lost tokens; with token ids asked for, each is now sent as it is sampled. (2) It parsed
 * every completion's text as a chat message as it streamed, even on `/completion`, which answers with text and
 * tokens only: a pass over the whole text per token, and invalid UTF-8 failed it, ending the stream with an error
 * ("does not match the expected Content-only format": 1 of 90 greedy 128-token completions of lm-base here). That
 * parse is skipped for `/completion`; the OpenAI-compatible endpoints, the bench's peer, are unchanged. (3) A stream's
 * end told cpp-httplib the stream was cancelled, which closed the connection: every request paid a connect and a
 * close, and a client could reuse a connection just closed. A stream now ends as done, keeping its connection.
 */
const SOURCE_PATCH = fileURLToPath(
  new URL("../../../vendor-patches/llama.cpp/server-token-stream.patch", import.meta.url),
);
/**
 * ggml's CPU kernels as node-llama-cpp's prebuilt binaries have them: every x86/ARM variant, the best one for this
 * CPU chosen at run time, so both sides run the same kernels. (A `-march=native` build died of SIGILL on this
 * machine's virtual Xeon, whose CPUID lists instructions the hypervisor does not let every path use.) Everything
 * that would reach the network (the prebuilt web UI, HTTPS) or is not needed is off.
 */
const BUILD_OPTIONS = [
  "-DCMAKE_BUILD_TYPE=Release",
  "-DGGML_NATIVE=OFF",
  "-DGGML_BACKEND_DL=ON",
  "-DGGML_CPU_ALL_VARIANTS=ON",
  "-DLLAMA_BUILD_TESTS=OFF",
  "-DLLAMA_BUILD_EXAMPLES=OFF",
  "-DLLAMA_USE_PREBUILT_UI=OFF",
  "-DLLAMA_BUILD_UI=OFF",
  "-DLLAMA_OPENSSL=OFF",
];

export interface LlamaCppTools {
  release: string;
  server: string;
  bench: string;
}

let building: Promise<LlamaCppTools> | undefined;

/**
 * The built tools, building them first when this release has none cached. One build at a time: callers in this
 * process share it, and another process (a cluster worker) waits for the one that holds the build's lock.
 */
export function llamaCppTools(log: (line: string) => void = console.error): Promise<LlamaCppTools> {
  building ??= buildOnce(log).finally(() => {
    building = undefined;
  });
  return building;
}

async function buildOnce(log: (line: string) => void): Promise<LlamaCppTools> {
  const release = (JSON.parse(readFileSync(join(llamaDir, "llama.cpp.info.json"), "utf8")) as { tag: string })
    .tag;
  const root = join(defaultCacheDir(), "llama.cpp", release);
  const binDir = join(root, "build", "bin");
  const tools = { release, server: join(binDir, "llama-server"), bench: join(binDir, "llama-bench") };
  const stamp = join(root, "built");
  const recipe = [
    ...BUILD_OPTIONS,
    `patch:${createHash("sha256").update(readFileSync(SOURCE_PATCH)).digest("hex").slice(0, 16)}`,
  ].join(" ");
  const built = () =>
    existsSync(stamp) &&
    readFileSync(stamp, "utf8").trim() === recipe &&
    TOOLS.every((tool) => existsSync(join(binDir, tool)));
  if (built()) return tools;

  mkdirSync(root, { recursive: true });
  const lock = join(root, "building.lock");
  while (!tryLock(lock)) {
    await sleep(2_000);
    if (built()) return tools;
  }
  try {
    // Another process may have finished the build between our last look and taking the lock.
    if (!built()) await build(root, stamp, tools, recipe, log);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return tools;
}

/** A directory as a lock (mkdir is atomic); one left by a build that died over an hour ago is taken over. */
function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    if (Date.now() - statSync(lock).mtimeMs < 3_600_000) return false;
    rmSync(lock, { recursive: true, force: true });
    return tryLock(lock);
  }
}

async function build(
  root: string,
  stamp: string,
  tools: LlamaCppTools,
  recipe: string,
  log: (line: string) => void,
): Promise<void> {
  const { release } = tools;
  log(
    `building llama.cpp ${release} (llama-server, llama-bench) under ${root} — once, about 12 minutes on 2 cores`,
  );
  rmSync(stamp, { force: true });
  const source = join(root, "src");
  if (!existsSync(source)) {
    await run("git", ["clone", "--quiet", join(llamaDir, "gitRelease.bundle"), source]);
  }
  // The release as cloned, then our patch on it (a source tree from an earlier patch is put back first).
  await run("git", ["-C", source, "checkout", "--quiet", "--", "."]);
  await run("git", ["-C", source, "apply", SOURCE_PATCH]);
  await run("cmake", ["-S", join(root, "src"), "-B", join(root, "build"), ...BUILD_OPTIONS]);
  const jobs = String(cpus().length);
  await run("cmake", ["--build", join(root, "build"), "--target", ...TOOLS, "-j", jobs], {
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const dropped of await dropFaultingVariants(tools.bench))
    log(`dropped ggml's ${dropped} CPU kernels: they die of SIGILL on this machine (kept as *.faults)`);
  writeFileSync(stamp, `${recipe}\n`);
  log(`built ${tools.server} and ${tools.bench}`);
}

/**
 * ggml loads the best CPU variant this CPU's CPUID claims, but a virtual machine can list instructions that do not
 * run: here, a Firecracker VM's Xeon lists AMX, and ggml's AMX kernels die of SIGILL in llama-bench and
 * llama-server (while node-llama-cpp's, on a libuv worker thread, run). A short prompt evaluation shows it; the
 * variant that faulted is set aside and the next best one is tried.
 */
async function dropFaultingVariants(bench: string): Promise<string[]> {
  const model = fileURLToPath(new URL("../../../models/lm-base-q8_0.gguf", import.meta.url));
  const dropped: string[] = [];
  for (;;) {
    try {
      await run(bench, ["-m", model, "-t", "1", "-p", "64", "-n", "0", "-r", "1"]);
      return dropped;
    } catch (error) {
      const { signal, stderr } = error as { signal?: string; stderr?: string };
      const variant = /loaded CPU backend from (\S+libggml-cpu-(\w+)\.so)/.exec(stderr ?? "");
      if (signal !== "SIGILL" || !variant?.[1] || !variant[2]) throw error;
      renameSync(variant[1], `${variant[1]}.faults`);
      dropped.push(variant[2]);
    }
  }
}
