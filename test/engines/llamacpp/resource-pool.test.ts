import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RequestAbortedError } from "../../../src/core/errors.js";
import { ResourcePool } from "../../../src/engines/llamacpp/resource-pool.js";

describe("the sequence pool", () => {
  test("hands out the free item first in its list, so the ids in use stay packed at the low end", async () => {
    const pool = new ResourcePool(["s0", "s1", "s2", "s3"]);
    assert.deepEqual(await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]), ["s0", "s1", "s2"]);
    pool.release("s1");
    pool.release("s0");
    assert.equal(pool.available, 3);
    assert.equal(await pool.acquire(), "s0");
    assert.equal(await pool.acquire(), "s1");
    assert.equal(await pool.acquire(), "s3");
  });

  test("gives a released item to the longest waiter, and an aborted waiter leaves the queue", async () => {
    const pool = new ResourcePool(["only"]);
    const held = await pool.acquire();
    const abort = new AbortController();
    const leaving = pool.acquire(abort.signal);
    const next = pool.acquire();
    assert.equal(pool.waiting, 2);
    abort.abort();
    await assert.rejects(leaving, RequestAbortedError);
    pool.release(held);
    assert.equal(await next, "only");
    assert.equal(pool.waiting, 0);
  });

  test("refuses an item it did not hand out", () => {
    const pool = new ResourcePool(["a"]);
    assert.throws(() => pool.release("a"), /did not hand out/);
    assert.throws(() => pool.release("b"), /did not hand out/);
  });
});
