/**
 * llama.cpp's own tools (llama-server, llama-bench), built once from the llama.cpp source node-llama-cpp ships as a
 * git bundle — the same release its addon was built from — so the peer a bench compares with runs the same code.
 * Offline: the bundle is cloned, cmake builds only the two tools; the result is cached per release under the user's
 * cache dir (about 12 minutes of two cores the first time, nothing after).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { defaultCacheDir } from "../src/engines/llamacpp/thread-calibration.js";

const run = promisify(execFile);
const llamaDir = fileURLToPath(new URL("../node_modules/node-llama-cpp/llama/", import.meta.url));
const TOOLS = ["llama-server", "llama-bench"] as const;
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

/** The built tools, building them first when this release has none cached. */
export async function llamaCppTools(log: (line: string) => void = console.error): Promise<LlamaCppTools> {
  const release = (JSON.parse(readFileSync(join(llamaDir, "llama.cpp.info.json"), "utf8")) as { tag: string })
    .tag;
  const root = join(defaultCacheDir(), "llama.cpp", release);
  const binDir = join(root, "build", "bin");
  const tools = { release, server: join(binDir, "llama-server"), bench: join(binDir, "llama-bench") };
  const stamp = join(root, "built");
  const recipe = BUILD_OPTIONS.join(" ");
  const built = existsSync(stamp) && readFileSync(stamp, "utf8").trim() === recipe;
  if (built && TOOLS.every((tool) => existsSync(join(binDir, tool)))) return tools;

  log(
    `building llama.cpp ${release} (llama-server, llama-bench) under ${root} — once, about 12 minutes on 2 cores`,
  );
  rmSync(stamp, { force: true });
  if (!existsSync(join(root, "src"))) {
    mkdirSync(root, { recursive: true });
    await run("git", ["clone", "--quiet", join(llamaDir, "gitRelease.bundle"), join(root, "src")]);
  }
  await run("cmake", ["-S", join(root, "src"), "-B", join(root, "build"), ...BUILD_OPTIONS]);
  const jobs = String(cpus().length);
  await run("cmake", ["--build", join(root, "build"), "--target", ...TOOLS, "-j", jobs], {
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const dropped of await dropFaultingVariants(tools.bench))
    log(`dropped ggml's ${dropped} CPU kernels: they die of SIGILL on this machine (kept as *.faults)`);
  writeFileSync(stamp, `${recipe}\n`);
  log(`built ${tools.server} and ${tools.bench}`);
  return tools;
}

/**
 * ggml loads the best CPU variant this CPU's CPUID claims, but a virtual machine can list instructions that do not
 * run: here, a Firecracker VM's Xeon lists AMX, and ggml's AMX kernels die of SIGILL in llama-bench and
 * llama-server (while node-llama-cpp's, on a libuv worker thread, run). A short prompt evaluation shows it; the
 * variant that faulted is set aside and the next best one is tried.
 */
async function dropFaultingVariants(bench: string): Promise<string[]> {
  const model = fileURLToPath(new URL("../models/lm-base-q8_0.gguf", import.meta.url));
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
