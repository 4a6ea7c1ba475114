import assert from "node:assert/strict";
import { test } from "node:test";
import { Aborter, abortSignalOf, offAbort, onAbort } from "../../src/core/abort.js";
import { LinkedAbort } from "../../src/routing/linked-abort.js";

test("an Aborter calls its listeners once, with the reason set; one taken off is not called", () => {
  const aborter = new Aborter();
  const heard: string[] = [];
  onAbort(aborter, () => heard.push(`first ${String(aborter.reason)}`));
  const removed = () => heard.push("removed");
  onAbort(aborter, removed);
  offAbort(aborter, removed);
  onAbort(aborter, () => heard.push(`second ${String(aborter.aborted)}`));
  assert.equal(aborter.aborted, false);
  aborter.abort("gone");
  aborter.abort("again");
  assert.deepEqual(heard, ["first gone", "second true"]);
  assert.equal(aborter.reason, "gone");
});

test("without a reason, an AbortError, as AbortController gives", () => {
  const aborter = new Aborter();
  aborter.abort();
  assert.equal((aborter.reason as DOMException).name, "AbortError");
});

test("a listener added after the abort is never called, as with addEventListener", () => {
  const aborter = new Aborter();
  aborter.abort();
  let called = false;
  onAbort(aborter, () => {
    called = true;
  });
  assert.equal(called, false);
});

test("its real AbortSignal, for libraries that take one, aborts with it: made before or after the abort", () => {
  const early = new Aborter();
  const signal = abortSignalOf(early);
  assert.equal(signal, early.signal, "made once");
  let events = 0;
  signal.addEventListener("abort", () => events++);
  early.abort("why");
  assert.deepEqual([signal.aborted, signal.reason, events], [true, "why", 1]);
  const late = new Aborter();
  late.abort("before");
  assert.deepEqual([late.signal.aborted, late.signal.reason], [true, "before"]);
  const real = new AbortController().signal;
  assert.equal(abortSignalOf(real), real);
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

test("a LinkedAbort follows its parent, Aborter or AbortSignal, until unlinked; aborts on its own too", () => {
  const parent = new Aborter();
  const child = new LinkedAbort(parent);
  parent.abort("parent");
  assert.deepEqual([child.aborted, child.reason], [true, "parent"]);
  const controller = new AbortController();
  const unlinked = new LinkedAbort(controller.signal);
  unlinked.unlink();
  controller.abort();
  assert.equal(unlinked.aborted, false);
  const own = new LinkedAbort(new Aborter());
  own.abort("timeout");
  assert.equal(own.reason, "timeout");
  const born = new Aborter();
  born.abort("already");
  assert.equal(new LinkedAbort(born).reason, "already", "a parent aborted already");
});
