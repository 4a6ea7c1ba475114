import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { readSpamDev, repoRoot } from "../helpers.js";
import { runCli } from "../support/cli.js";

const entry = join(repoRoot, "src/cli/infergate.ts");
const infergate = (args: string[], input?: string) => runCli(args, input === undefined ? {} : { input });

const work = mkdtempSync(join(tmpdir(), "infergate-cli-"));
const expected = JSON.parse(readFileSync(join(repoRoot, "models/expected_greedy.json"), "utf8")) as {
  models: Record<string, { prompt: string; greedy_text: string }[]>;
};

describe("infergate CLI", () => {
  test("--help lists the commands; each command's --help has examples", () => {
    const top = infergate(["--help"]);
    assert.equal(top.code, 0);
    for (const command of ["models", "generate", "classify", "embed", "tag"])
      assert.match(top.stdout, new RegExp(`\\b${command}\\b`));
    const generate = infergate(["generate", "--help"]);
    assert.equal(generate.code, 0);
    assert.match(generate.stdout, /--max-tokens <n>/);
    assert.match(generate.stdout, /Examples:/);
  });

  test("models --json lists ids, tasks and variants with file sizes", () => {
    const { code, stdout } = infergate(["models", "--json"]);
    assert.equal(code, 0);
    const { models } = JSON.parse(stdout) as {
      models: { id: string; task: string; variants: { precision: string; bytes: number }[] }[];
    };
    assert.deepEqual(
      models.map((m) => [m.id, m.task, m.variants.map((v) => v.precision)]),
      [
        ["lm-base", "generate", ["f16", "q8_0", "q4_0"]],
        ["lm-small", "generate", ["f16", "q8_0"]],
        ["spam-encoder", "classify", ["fp32", "fp16", "int8"]],
        ["ner-encoder", "tag", ["fp32", "fp16", "int8"]],
      ],
    );
    assert.equal(models[0]?.variants[1]?.bytes, 13_482_400);
    assert.equal(models[2]?.variants[2]?.bytes, 2_803_632);
  });

  test("generate --json prints the documented object; greedy f16 text is the reference text", () => {
    const reference = expected.models["lm-base"]?.[2];
    assert.ok(reference);
    const { code, stdout } = infergate([
      "generate",
      "--json",
      "-m",
      "lm-base:f16",
      "-n",
      "24",
      reference.prompt,
    ]);
    assert.equal(code, 0);
    const result = JSON.parse(stdout);
    assert.deepEqual(Object.keys(result), ["model", "precision", "text", "usage", "timing"]);
    assert.equal(result.model, "lm-base");
    assert.equal(result.precision, "f16");
    assert.equal(result.text.trim(), reference.greedy_text.trim());
    assert.deepEqual(result.usage, { prompt_tokens: 5, completion_tokens: 24 });
    assert.ok(result.timing.ttft_ms > 0 && result.timing.total_ms >= result.timing.ttft_ms);
  });

  test("generate streams to stdout, reads the prompt from stdin, and reports speed on stderr", () => {
    const { code, stdout, stderr } = infergate(
      ["generate", "-m", "lm-small", "-n", "16"],
      "The President said",
    );
    assert.equal(code, 0);
    assert.ok(stdout.trim().length > 0);
    assert.match(
      stderr,
      /\[lm-small:q8_0\] \d+ prompt \+ 16 completion tokens, TTFT [\d.]+ ms, \d+ tokens\/s/,
    );
  });

  test("classify and embed: one text, and a JSONL file in order", () => {
    const single = infergate(["classify", "--json", readSpamDev()[0]?.text ?? ""]);
    assert.equal(single.code, 0);
    assert.deepEqual(Object.keys(JSON.parse(single.stdout)), ["model", "precision", "label", "score"]);

    const rows = readSpamDev().slice(0, 30);
    const file = join(work, "rows.jsonl");
    writeFileSync(file, `${rows.map((row) => JSON.stringify(row)).join("\n")}\n`);
    const labels = infergate(["classify", "--json", "--input", file, "-p", "fp32"]);
    assert.equal(labels.code, 0);
    const lines = labels.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    assert.equal(lines.length, rows.length);
    const correct = lines.filter((line, i) => line.label === rows[i]?.label).length;
    assert.ok(correct >= 28, `${correct}/30 correct`);
    assert.ok(lines.every((line) => line.model === "spam-encoder" && line.precision === "fp32"));

    const vectors = infergate(["embed", "--json", "--input", file]);
    assert.equal(vectors.code, 0);
    const embedded = vectors.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    assert.equal(embedded.length, rows.length);
    assert.equal(embedded[0].dimensions, 192);
    assert.equal(embedded[0].embedding.length, 192);
  });

  test("a reader that closes the pipe early (| head) is not an error", () => {
    const command = `node --import tsx ${entry} classify --input data/spam_dev.jsonl | head -n 1; exit \${PIPESTATUS[0]}`;
    const result = spawnSync("bash", ["-c", command], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^(ham|spam)\t[\d.]+\n$/);
    assert.equal(result.stderr, "");
  });

  test("bad input: one line on stderr naming the problem, exit code 2", () => {
    const badConfig = join(work, "bad.yaml");
    writeFileSync(
      badConfig,
      "models:\n  - {id: x, task: generate, engine: llamacpp, variants: {q8_0: nope.gguf}}\n",
    );
    const badRows = join(work, "bad.jsonl");
    writeFileSync(badRows, '{"text": "fine"}\n{"txt": "wrong field"}\n');
    for (const [args, message] of [
      [["generate", "-m", "lm-huge", "hi"], /unknown model 'lm-huge'/],
      [["generate", "-m", "lm-small:q4_0", "hi"], /model 'lm-small' has no 'q4_0' variant/],
      [["generate", ""], /prompt is empty/],
      [["generate", "--max-tokens", "0", "hi"], /--max-tokens.*expected an integer from 1/],
      [["generate", "--temperature", "hot", "hi"], /--temperature.*expected a number/],
      [["generate", "--bogus", "hi"], /unknown option '--bogus'/],
      [["--config", badConfig, "models"], /models\[0\] \(x\)\.variants\.q8_0: model file not found/],
      [["classify", "--input", join(work, "absent.jsonl")], /cannot read .*absent\.jsonl: ENOENT/],
      [["classify", "--input", badRows], /bad\.jsonl:2: expected an object with a non-empty "text" string/],
      [["classify", "-m", "lm-base", "hello"], /model 'lm-base' cannot classify/],
    ] as const) {
      const { code, stderr } = infergate([...args]);
      assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
      assert.match(stderr, message);
      assert.ok(!/\n\s+at /.test(stderr), `no stack trace: ${stderr}`);
    }
  });
});
