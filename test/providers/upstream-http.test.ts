import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { RequestAbortedError, UpstreamError } from "../../src/core/errors.js";
import { postJson } from "../../src/providers/upstream-http.js";
import { eventually } from "../helpers.js";

describe("postJson and the upstream body", () => {
  let server: Server;
  let pool: Pool;
  let origin: string;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = () => {};
  /** Requests whose connection closed before their answer was finished. */
  let cutShort = 0;
  /** Connections the upstream has accepted. */
  let connections = 0;
  before(async () => {
    server = createServer((req, res) => {
      res.once("close", () => {
        if (!res.writableFinished) cutShort++;
      });
      req.resume();
      req.once("end", () => handler(req, res));
    });
    server.on("connection", () => connections++);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    pool = new Pool(origin);
  });
  after(async () => {
    // destroy, not close: a failing test may leave a request open, and close would wait for it for ever.
    await pool.destroy();
    server.closeAllConnections();
    server.close();
  });

  const post = (signal?: AbortSignal) =>
    postJson(pool, {
      path: "/x",
      headers: { "content-type": "application/json" },
      json: "{}",
      signal,
      upstream: origin,
    });

  /** An answer written in `pieces` pieces, 20 ms apart, never finished unless `finish`. */
  const trickle = (pieces: number, finish: boolean) => (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { "content-type": "text/plain" });
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      if (sent++ < pieces) res.write(`piece ${sent}\n`);
      else {
        clearInterval(timer);
        if (finish) res.end();
      }
    }, 20);
  };

  test("a whole answer is read as JSON; one that is not JSON is the upstream's fault (502)", async () => {
    handler = (_req, res) => res.end(JSON.stringify({ ok: true }));
    assert.deepEqual(await (await post()).body.json(), { ok: true });
    handler = (_req, res) => res.end("<html>");
    await assert.rejects((await post()).body.json(), (error) => {
      assert.ok(error instanceof UpstreamError);
      assert.equal(error.status, 502);
      return true;
    });
  });

  test("an answer is read piece by piece as it arrives", async () => {
    handler = trickle(3, true);
    const arrivals: string[] = [];
    for await (const chunk of (await post()).body) arrivals.push(chunk.toString());
    assert.deepEqual(arrivals, ["piece 1\n", "piece 2\n", "piece 3\n"]);
  });

  test("an answer broken off midway fails as IG_UPSTREAM_ERROR; no upstream at all as IG_UPSTREAM_UNAVAILABLE", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("only part");
      setTimeout(() => res.destroy(), 20);
    };
    await assert.rejects((await post()).body.text(), { code: "IG_UPSTREAM_ERROR", message: /broke off/ });
    const nowhere = new Pool("http://127.0.0.1:9");
    await assert.rejects(
      postJson(nowhere, { path: "/", headers: {}, json: "{}", upstream: "http://127.0.0.1:9" }),
      { code: "IG_UPSTREAM_UNAVAILABLE" },
    );
    await nowhere.close();
  });

  test("aborting mid-answer closes the upstream request and fails the read as aborted", async () => {
    handler = trickle(1000, false);
    const before = cutShort;
    const controller = new AbortController();
    const { body } = await post(controller.signal);
    const read = (async () => {
      for await (const _ of body);
    })();
    await sleep(60);
    controller.abort();
    await assert.rejects(read, (error) => error instanceof RequestAbortedError);
    assert.ok(await eventually(() => cutShort === before + 1), "the upstream request is still open");
  });

  test("a reader that stops early closes the upstream request rather than leave it hanging", async () => {
    handler = trickle(1000, false);
    const before = cutShort;
    for await (const _ of (await post()).body) break;
    assert.ok(await eventually(() => cutShort === before + 1), "the upstream request is still open");
  });

  test("a reader that stops once the upstream's answer is known to end lets it end, keeping the connection", async () => {
    handler = trickle(3, true);
    // Every connection free: each request after this finds one to reuse.
    const idle = () => pool.stats.free === pool.stats.connected;
    await (await post()).body.text();
    assert.ok(await eventually(idle));
    const [before, beforeCut] = [connections, cutShort];
    for (let round = 0; round < 3; round++) {
      const { body } = await post();
      for await (const _ of body) {
        body.endsOnItsOwn();
        break;
      }
      // The next request after this answer's end, as llama-server ends a stream right after its last event.
      assert.ok(await eventually(idle), "the answer did not end");
    }
    await (await post()).body.text();
    assert.equal(cutShort, beforeCut, "an answer was cut short");
    assert.equal(connections, before, "a connection was opened again");
  });
});
