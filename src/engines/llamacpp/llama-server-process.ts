import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import type { RequestSignal } from "../../core/abort.js";
import { ModelLoadError, UnavailableError, UpstreamError } from "../../core/errors.js";
import { postJson, type UpstreamResponse } from "../../providers/upstream-http.js";

export interface LlamaServerOptions {
  /** The llama-server executable. */
  binary: string;
  modelPath: string;
  threads: number;
  /** Slots: requests decoded together in shared batches. */
  parallel: number;
  /** Tokens each slot holds. */
  contextSize: number;
  flashAttention: "auto" | boolean;
  /** Told of each restart after an unexpected exit, with what the server last wrote to stderr. */
  onRestart?: (reason: string) => void;
}

/** stderr lines kept, to say why the server failed. */
const STDERR_LINES = 20;
/** A model loads within this, or the start fails. */
const READY_TIMEOUT_MS = 10 * 60_000;
/** Waits between restarts: doubling from the first, up to the last. */
const RESTART_BACKOFF_MS = [250, 30_000] as const;
/** Up this long, a server that exits again is restarted after the shortest wait. */
const STABLE_MS = 60_000;
/** A running server is asked for /health this often; this many unanswered probes in a row and it is killed. */
const PROBE_INTERVAL_MS = 5_000;
const PROBE_TIMEOUT_MS = 2_000;
const FAILED_PROBES = 3;

/**
 * llama.cpp's own server as a child process serving one model, on a Unix socket of its own (no port to find,
 * nothing reachable from outside). Started healthy or not at all; an unexpected exit is restarted with backoff, and
 * requests meanwhile fail as unavailable (503), which the gateway's retries and fallbacks handle.
 */
export class LlamaServerProcess {
  readonly #dir = mkdtempSync(join(tmpdir(), "infergate-llama-"));
  readonly #socket = join(this.#dir, "server.sock");
  readonly #pool: Pool;
  #child: ChildProcess | undefined;
  #stderr: string[] = [];
  #healthy = false;
  /** Set by the first stop(): from then on, nothing is restarted. */
  #stopped: Promise<void> | undefined;
  #restarts = 0;
  /** Restarts since the server last stayed up for STABLE_MS: the backoff's exponent. */
  #unstable = 0;
  #probe: NodeJS.Timeout | undefined;
  #connections = 0;

  private constructor(private readonly options: LlamaServerOptions) {
    this.#pool = new Pool("http://llama-server", {
      socketPath: this.#socket,
      connections: options.parallel + 2,
      // A generation may take minutes; a stream's tokens arrive as they are decoded.
      headersTimeout: 0,
      bodyTimeout: 0,
      // Well inside llama-server's own 5 s, so a connection it is about to close is never reused.
      keepAliveTimeout: 2_000,
      keepAliveMaxTimeout: 2_000,
    });
    this.#pool.on("connect", () => this.#connections++);
  }

  /** Resolves once the model is loaded and the server answers /health. */
  static async start(options: LlamaServerOptions): Promise<LlamaServerProcess> {
    const server = new LlamaServerProcess(options);
    try {
      await server.#spawn();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Connections opened to the child so far: streams read to their end leave theirs for the next request. */
  get connections(): number {
    return this.#connections;
  }

  /** Restarts after unexpected exits so far. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Running and answering /health. */
  get up(): boolean {
    return this.#healthy;
  }

  /** The server's resident memory now, in bytes (Linux: /proc); 0 while it is down. */
  async residentBytes(): Promise<number> {
    const pid = this.#healthy ? this.#child?.pid : undefined;
    if (pid === undefined) return 0;
    const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  }

  /**
   * POSTs `body` to `path`. While the server is down (restarting) this fails at once as unavailable, rather than
   * wait for a model to load again: the gateway's retries and fallbacks take it from there.
   */
  async post(path: string, body: unknown, signal?: RequestSignal): Promise<UpstreamResponse> {
    if (!this.#healthy)
      throw new UnavailableError(
        `llama-server for ${this.options.modelPath} is ${this.#stopped ? "stopped" : "restarting"}`,
      );
    const json = JSON.stringify(body);
    const send = () =>
      postJson(this.#pool, {
        path,
        headers: { "content-type": "application/json" },
        json,
        signal,
        upstream: "llama-server",
      });
    try {
      return await send().catch((error: unknown) => {
        // A kept-alive connection the server closed as it was reused: the request never reached it (had it, it
        // would have answered), so it is sent once more, on a new connection.
        if (this.#healthy && unreached(error)) return send();
        throw error;
      });
    } catch (error) {
      if (unreached(error))
        throw new UnavailableError(
          `llama-server for ${this.options.modelPath}: ${(error as Error).message.replace(/^cannot reach llama-server: /, "no answer: ")}`,
        );
      throw error;
    }
  }

  /** Stops the server (once: later calls wait for the same stop). */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    clearInterval(this.#probe);
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      // llama-server finishes what it decodes on SIGTERM; a stuck one is killed.
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await this.#pool.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #spawn(): Promise<void> {
    const { options } = this;
    const flashAttention = options.flashAttention === "auto" ? "auto" : options.flashAttention ? "on" : "off";
    rmSync(this.#socket, { force: true });
    const [command, args] = diesWithParent(options.binary, [
      ...["--model", options.modelPath, "--host", this.#socket],
      ...["--threads", String(options.threads), "--threads-batch", String(options.threads)],
      ...["--parallel", String(options.parallel)],
      ...["--ctx-size", String(options.contextSize * options.parallel)],
      ...["--flash-attn", flashAttention, "--no-webui"],
      // No prompt cache in host memory (up to 8 GiB by default): a fresh request evaluates its whole prompt.
      ...["--cache-ram", "0"],
    ]);
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    this.#child = child;
    this.#stderr = [];
    let partial = "";
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      this.#stderr.push(...lines.filter(Boolean));
      if (this.#stderr.length > STDERR_LINES) this.#stderr.splice(0, this.#stderr.length - STDERR_LINES);
    });
    const started = Date.now();
    child.once("exit", (code, signal) => {
      const wasHealthy = this.#healthy;
      this.#healthy = false;
      clearInterval(this.#probe);
      // An exit before the first start succeeded fails that start; one after stop() is expected.
      if (this.#stopped || !wasHealthy) return;
      const reason = `llama-server exited (${signal ?? `code ${code}`}): ${this.#stderr.slice(-3).join(" | ")}`;
      this.#restartAfter(Date.now() - started >= STABLE_MS, reason);
    });
    return this.#untilHealthy(child).then(
      () => {
        this.#healthy = true;
        this.#probe = this.#probeWhileRunning(child);
      },
      (error: unknown) => {
        child.kill("SIGKILL");
        throw error;
      },
    );
  }

  /** A server that stops answering /health is killed; its exit restarts it. */
  #probeWhileRunning(child: ChildProcess): NodeJS.Timeout {
    let failed = 0;
    const probe = setInterval(async () => {
      const status = await this.#health(PROBE_TIMEOUT_MS);
      failed = status === 200 ? 0 : failed + 1;
      if (failed >= FAILED_PROBES && child.exitCode === null) {
        this.#stderr.push(`infergate: /health unanswered ${failed} times in a row; killed`);
        child.kill("SIGKILL");
      }
    }, PROBE_INTERVAL_MS);
    probe.unref();
    return probe;
  }

  /** The status /health answers with, or undefined when it does not answer within `timeoutMs`. */
  #health(timeoutMs: number): Promise<number | undefined> {
    return this.#pool
      .request({ path: "/health", method: "GET", headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
      .then(async (response) => {
        await response.body.dump();
        return response.statusCode;
      })
      .catch(() => undefined);
  }

  #restartAfter(wasStable: boolean, reason: string): void {
    if (wasStable) this.#unstable = 0;
    const [first, most] = RESTART_BACKOFF_MS;
    const wait = Math.min(most, first * 2 ** this.#unstable);
    this.#unstable++;
    this.#restarts++;
    this.options.onRestart?.(reason);
    void sleep(wait).then(async () => {
      if (this.#stopped) return;
      try {
        await this.#spawn();
      } catch (error) {
        // The new process died before it was ready: wait longer, try again.
        this.#restartAfter(false, (error as Error).message);
      }
    });
  }

  async #untilHealthy(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new ModelLoadError(this.options.modelPath, `llama-server exited: ${this.#why()}`);
      if ((await this.#health(PROBE_TIMEOUT_MS)) === 200) return;
      if (Date.now() > deadline)
        throw new ModelLoadError(this.options.modelPath, `llama-server not ready: ${this.#why()}`);
      await sleep(50);
    }
  }

  #why(): string {
    return this.#stderr.slice(-5).join(" | ") || "it said nothing";
  }
}

/** util-linux's `setpriv`, where this Linux has it (Debian and most distributions ship it in their base system). */
const SETPRIV =
  process.platform === "linux" ? ["/usr/bin/setpriv", "/bin/setpriv"].find(existsSync) : undefined;

/**
 * The child's command line, made to die with this process: `setpriv` sets the parent-death signal and then execs
 * the server (the same pid), so a gateway that crashes or is killed outright (SIGKILL, the OOM killer) leaves no
 * llama-server behind holding a model's memory and its slots. The signal follows the thread that spawned the
 * child, here the main thread, which lives as long as the process. Without setpriv (not Linux) the server is
 * spawned as is: stop() still ends it, a hard kill of the gateway does not.
 */
function diesWithParent(binary: string, args: string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ["--pdeathsig", "KILL", "--", binary, ...args]] : [binary, args];
}

/** The request failed before any answer: the connection was refused or closed. */
function unreached(error: unknown): boolean {
  return error instanceof UpstreamError && error.code === "IG_UPSTREAM_UNAVAILABLE";
}
