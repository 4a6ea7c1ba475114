import assert from "node:assert/strict";
import { test } from "node:test";
import { Aborter, offAbort, onAbort } from "../../src/core/abort.js";

test("an Aborter calls its listeners once, after the signal's own, with the reason set", () => {
  const aborter = new Aborter();
  const heard: string[] = [];
  aborter.signal.addEventListener("abort", () => heard.push("event"));
  onAbort(aborter.signal, () => heard.push(`hook ${String(aborter.signal.reason)}`));
  const removed = () => heard.push("removed");
  onAbort(aborter.signal, removed);
  offAbort(aborter.signal, removed);
  aborter.abort("gone");
  aborter.abort("again");
  assert.deepEqual(heard, ["event", "hook gone"]);
  assert.equal(aborter.signal.aborted, true);
});

test("a listener added after the abort is never called, as with addEventListener", () => {
  const aborter = new Aborter();
  aborter.abort();
  let called = false;
  onAbort(aborter.signal, () => {
    called = true;
  });
  assert.equal(called, false);
});

test("any other signal gets a real listener, and loses it again", () => {
  const controller = new AbortController();
  let calls = 0;
  const listener = () => calls++;
  onAbort(controller.signal, listener);
  offAbort(controller.signal, listener);
  onAbort(controller.signal, listener);
  controller.abort();
  controller.abort();
  assert.equal(calls, 1);
});
