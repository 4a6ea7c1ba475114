import assert from "node:assert/strict";
import { test } from "node:test";
import { OverloadedError } from "../../src/core/errors.js";
import { Admission } from "../../src/routing/admission.js";
import { ApiKeys, presentedKey } from "../../src/server/api-keys.js";

test("API keys: accepted only when equal to a configured key; empty config disables auth", () => {
  const keys = ApiKeys.fromEnv("KEYS", { KEYS: " alpha-key-1 , ,beta-key-2" });
  assert.equal(keys.enabled, true);
  assert.equal(keys.accepts("alpha-key-1"), true);
  assert.equal(keys.accepts("beta-key-2"), true);
  for (const wrong of ["alpha-key-", "alpha-key-12", "", undefined, " alpha-key-1"])
    assert.equal(keys.accepts(wrong), false);
  assert.equal(ApiKeys.fromEnv("KEYS", {}).enabled, false);
});

test("the presented key comes from Bearer, x-goog-api-key or ?key=", () => {
  assert.equal(presentedKey({ authorization: "Bearer abc" }), "abc");
  assert.equal(presentedKey({ "x-goog-api-key": "goog" }), "goog");
  assert.equal(presentedKey({}, new URLSearchParams("key=q")), "q");
  assert.equal(presentedKey({ authorization: "Basic abc" }), undefined);
});

test("admission: slots plus queue, then 429 with a Retry-After; leaving twice counts once", () => {
  const admission = new Admission("m", 2, 1);
  const leaves = [admission.enter(), admission.enter(), admission.enter()];
  assert.deepEqual([admission.inFlight, admission.queued], [3, 1]);
  assert.throws(
    () => admission.enter(),
    (error: unknown) =>
      error instanceof OverloadedError && error.status === 429 && error.retryAfterSeconds >= 1,
  );
  leaves[0]?.();
  leaves[0]?.();
  assert.deepEqual([admission.inFlight, admission.queued], [2, 0]);
  assert.doesNotThrow(() => admission.enter());
});
