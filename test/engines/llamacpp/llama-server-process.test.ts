import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import type { Token } from "node-llama-cpp";
import { ModelLoadError, UnavailableError } from "../../../src/core/errors.js";
import { llamaCppTools } from "../../../src/engines/llamacpp/llama-server-build.js";
import { LlamaServerProcess } from "../../../src/engines/llamacpp/llama-server-process.js";
import { ServerSequence } from "../../../src/engines/llamacpp/server-sequence.js";
import { eventually, repoRoot } from "../../helpers.js";

describe("the llama-server runtime's child process", async () => {
  const tools = await llamaCppTools();
  const start = (modelPath: string, onRestart?: (reason: string) => void) =>
    LlamaServerProcess.start({
      binary: tools.server,
      modelPath,
      threads: 1,
      parallel: 1,
      contextSize: 256,
      flashAttention: "auto",
      ...(onRestart && { onRestart }),
    });
  const predicted = async (server: LlamaServerProcess) => {
    const body = await (
      await server.post("/completion", { prompt: "Whale, n.", n_predict: 3, ignore_eos: true })
    ).body.json();
    return (body as { tokens_predicted: number }).tokens_predicted;
  };

  test("killed, it is restarted: requests meanwhile are unavailable (503), then served again", async () => {
    const reasons: string[] = [];
    const server = await start(`${repoRoot}models/lm-base-q8_0.gguf`, (reason) => reasons.push(reason));
    try {
      assert.equal(await predicted(server), 3);
      const first = server.pid as number;
      process.kill(first, "SIGKILL");
      await eventually(() => reasons.length === 1);
      await assert.rejects(predicted(server), (error: unknown) => {
        assert.ok(error instanceof UnavailableError, String(error));
        assert.equal(error.status, 503);
        return true;
      });
      assert.match(reasons[0] ?? "", /^llama-server exited \(SIGKILL\)/);
      assert.ok(
        await eventually(
          () =>
            predicted(server).then(
              (n) => n === 3,
              () => false,
            ),
          30_000,
        ),
      );
      assert.notEqual(server.pid, first);
      assert.equal(server.restarts, 1);
    } finally {
      await server.stop();
    }
  });

  test("a file llama-server cannot load fails the start, with what it said", async () => {
    await assert.rejects(start(`${repoRoot}README.md`), (error: unknown) => {
      assert.ok(error instanceof ModelLoadError, String(error));
      assert.match(error.message, /llama-server exited: .*(gguf|model)/i);
      return true;
    });
  });

  test("a stream read to its end, or left at its last token, leaves its connection to the next request", async () => {
    const server = await start(`${repoRoot}models/lm-small-q8_0.gguf`);
    try {
      const sequence = new ServerSequence(server, 0, 2 as Token);
      const generate = async (limit: number, leaveAt: number) => {
        await sequence.clearHistory();
        let steps = 0;
        for await (const _ of sequence.generate([1, 450, 300] as Token[], { ignoreEos: true }, limit))
          if (++steps === leaveAt) break;
        return steps;
      };
      const before = server.connections;
      for (let round = 0; round < 2; round++) {
        assert.equal(await generate(4, 4), 4); // left at the limit, as the engine leaves it
        assert.equal(await generate(4, Infinity), 4); // read through llama-server's last event
      }
      // A stream that closes its connection makes the next open one; a health probe may have taken a second.
      assert.ok(server.connections - before <= 1, `${server.connections - before} connections opened`);
    } finally {
      await server.stop();
    }
  });

  test("its parent killed outright (SIGKILL), it goes too: no llama-server outlives the gateway", async () => {
    // A parent of its own, which starts a server, says its pid and waits to be killed.
    const parent = spawn(
      process.execPath,
      [
        ...["--import", "tsx", "--input-type=module", "-e"],
        `const { LlamaServerProcess } = await import(${JSON.stringify(`${repoRoot}src/engines/llamacpp/llama-server-process.ts`)});
         const server = await LlamaServerProcess.start(${JSON.stringify({ binary: tools.server, modelPath: `${repoRoot}models/lm-small-q8_0.gguf`, threads: 1, parallel: 1, contextSize: 256, flashAttention: "auto" })});
         console.log(server.pid);
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const [line] = (await once(createInterface({ input: parent.stdout }), "line")) as [string];
    const pid = Number(line);
    assert.ok(Number.isInteger(pid) && pid > 0, `the parent said ${line}`);
    process.kill(pid, 0); // up
    parent.kill("SIGKILL");
    await once(parent, "exit");
    assert.ok(
      await eventually(() => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      }, 5_000),
      `llama-server ${pid} outlived its parent`,
    );
  });

  test("stopped, it leaves no process behind and refuses requests", async () => {
    const server = await start(`${repoRoot}models/lm-small-q8_0.gguf`);
    const pid = server.pid as number;
    await server.stop();
    assert.throws(() => process.kill(pid, 0), { code: "ESRCH" });
    await assert.rejects(predicted(server), UnavailableError);
  });
});
