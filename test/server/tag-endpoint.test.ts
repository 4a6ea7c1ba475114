import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createEngines } from "../../src/engines/engines.js";
import { defaultRegistry, repoRoot } from "../helpers.js";
import { authorized, type RunningGateway, startGateway } from "./gateway-harness.js";

const texts = readFileSync(join(repoRoot, "data/ner/test.jsonl"), "utf8")
  .split("\n")
  .filter(Boolean)
  .slice(0, 20)
  .map((line) => (JSON.parse(line) as { text: string }).text)
  .concat(["😀 Ahab sailed from Nantucket to Boston on March 4, 1841, with $5,000."]);

describe("tagging through the gateway (/v1/tag) and the CLI (infergate tag): the engine's entities, exactly", () => {
  let running: RunningGateway;
  const engines = createEngines();
  before(async () => {
    running = await startGateway();
  });
  after(async () => {
    await running.close();
    await engines.close();
  });

  test("/v1/tag and infergate tag --json answer what the engine answers", async () => {
    const model = await engines.load((await defaultRegistry()).resolve("ner-encoder:int8"));
    const expected = await model.tag(texts);
    assert.ok(expected.some((result) => result.entities.length > 0));

    const response = await fetch(`${running.url}/v1/tag`, {
      method: "POST",
      headers: authorized(),
      body: JSON.stringify({ model: "ner-encoder", input: texts }),
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { model: string; data: { index: number; entities: unknown }[] };
    assert.equal(body.model, "ner-encoder:int8");
    assert.deepEqual(
      body.data.map((row) => row.entities),
      expected.map((result) => result.entities),
    );
    assert.deepEqual(
      body.data.map((row) => row.index),
      texts.map((_, index) => index),
    );

    const file = join(mkdtempSync(join(tmpdir(), "infergate-tag-")), "rows.jsonl");
    writeFileSync(file, `${texts.map((text) => JSON.stringify({ text })).join("\n")}\n`);
    const cli = spawnSync(
      process.execPath,
      ["--import", "tsx", join(repoRoot, "src/cli/infergate.ts"), "tag", "--json", "--input", file],
      { cwd: repoRoot, encoding: "utf8", timeout: 120_000 },
    );
    assert.equal(cli.status, 0, cli.stderr);
    const lines = cli.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { model: string; precision: string; entities: unknown });
    assert.deepEqual(
      lines.map((line) => line.entities),
      expected.map((result) => result.entities),
    );
    assert.ok(lines.every((line) => line.model === "ner-encoder" && line.precision === "int8"));
  });

  test("a route over taggers serves /v1/tag: an A/B split of two precisions, each answer its arm's", async () => {
    const routed = await startGateway({
      raw: {
        models: ["fp32", "int8"].map((precision) => ({
          id: `ner-${precision}`,
          task: "tag",
          engine: "onnx",
          variants: { [precision]: "models/ner-encoder" },
          default_precision: precision,
        })),
        routes: [
          {
            name: "entities",
            targets: [
              { model: "ner-fp32", weight: 50 },
              { model: "ner-int8", weight: 50 },
            ],
          },
        ],
      },
    });
    try {
      const served = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const response = await fetch(`${routed.url}/v1/tag`, {
          method: "POST",
          headers: authorized(),
          body: JSON.stringify({ model: "entities", input: texts.at(-1) }),
        });
        assert.equal(response.status, 200);
        const arm = response.headers.get("x-infergate-model") ?? "";
        served.add(arm);
        const precision = arm.split(":")[1] ?? "";
        const model = await engines.load((await defaultRegistry()).resolve(`ner-encoder:${precision}`));
        const body = (await response.json()) as { data: { entities: unknown }[] };
        assert.deepEqual(body.data[0]?.entities, (await model.tag([texts.at(-1) as string]))[0]?.entities);
      }
      assert.deepEqual([...served].sort(), ["ner-fp32:fp32", "ner-int8:int8"]);
    } finally {
      await routed.close();
    }
  });

  test("what cannot be tagged is a 400 naming why", async () => {
    for (const [body, pattern] of [
      [{ model: "ner-encoder", input: "" }, /input/],
      [{ model: "ner-encoder", input: [] }, /input/],
      [{ model: "spam-encoder", input: "x" }, /cannot tag/],
      [{ model: "lm-base", input: "x" }, /cannot tag/],
    ] as const) {
      const response = await fetch(`${running.url}/v1/tag`, {
        method: "POST",
        headers: authorized(),
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 400, JSON.stringify(body));
      const error = ((await response.json()) as { error: { message: string } }).error;
      assert.match(error.message, pattern);
    }
  });
});
