import assert from "node:assert/strict";
import { test } from "node:test";
import { StopStrings } from "../../src/core/stop-strings.js";

test("passes text through when there are no stop strings", () => {
  const stops = new StopStrings();
  assert.deepEqual(stops.push("abc"), { text: "abc", stopped: false });
  assert.equal(stops.flush(), "");
});

test("cuts at a stop string inside one piece", () => {
  const stops = new StopStrings(["END"]);
  assert.deepEqual(stops.push("helloENDworld"), { text: "hello", stopped: true, stop: "END" });
});

test("holds back a possible stop prefix and cuts when it completes across pieces", () => {
  const stops = new StopStrings(["\n\n", "STOP"]);
  assert.deepEqual(stops.push("Hello\n"), { text: "Hello", stopped: false });
  assert.deepEqual(stops.push("\nWorld"), { text: "", stopped: true, stop: "\n\n" });
  const split = new StopStrings(["STOP"]);
  assert.deepEqual(split.push("abST"), { text: "ab", stopped: false });
  assert.deepEqual(split.push("O"), { text: "", stopped: false });
  assert.deepEqual(split.push("P!"), { text: "", stopped: true, stop: "STOP" });
});

test("releases held text when the prefix does not complete, and on flush", () => {
  const stops = new StopStrings(["STOP"]);
  assert.deepEqual(stops.push("xST"), { text: "x", stopped: false });
  assert.deepEqual(stops.push("AR"), { text: "STAR", stopped: false });
  assert.deepEqual(stops.push("S"), { text: "", stopped: false });
  assert.equal(stops.flush(), "S");
});

test("the earliest of several stop strings wins, and is named", () => {
  const stops = new StopStrings(["b", "a"]);
  assert.deepEqual(stops.push("xxabxx"), { text: "xx", stopped: true, stop: "a" });
});
