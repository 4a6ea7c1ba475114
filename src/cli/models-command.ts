import { statSync } from "node:fs";
import type { Command } from "commander";
import { weightsFile } from "../engines/engines.js";
import { CliContext, type GlobalOptions } from "./cli-context.js";
import { formatBytes, printTable } from "./output.js";

export function registerModelsCommand(program: Command): void {
  program
    .command("models")
    .description("list the configured models: ids, tasks, engines, precision variants with their file sizes")
    .option("--json", "print JSON instead of a table")
    .action(async (options: { json?: boolean }, command: Command) => {
      await using context = await CliContext.open(command.optsWithGlobals<GlobalOptions>());
      const models = context.registry.list().map((spec) => ({
        id: spec.id,
        task: spec.task,
        engine: spec.engine,
        ...("variants" in spec
          ? {
              default_precision: spec.default_precision,
              variants: Object.keys(spec.variants).map((precision) => {
                const file = weightsFile(context.registry.resolve(spec.id, precision)) ?? "";
                return { precision, file, bytes: statSync(file, { throwIfNoEntry: false })?.size ?? null };
              }),
            }
          : { base_url: spec.base_url, upstream_model: spec.upstream_model, variants: [] }),
        domains: spec.domains,
      }));
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ config: context.config.source, models }, null, 2)}\n`);
        return;
      }
      printTable(
        ["id", "task", "engine", "variants (* default)", "domains"],
        models.map((model) => [
          model.id,
          model.task,
          model.engine,
          "base_url" in model
            ? `remote: ${model.upstream_model} at ${model.base_url}`
            : model.variants
                .map(
                  (v) =>
                    `${v.precision}${v.precision === model.default_precision ? "*" : ""} ${v.bytes === null ? "(missing)" : formatBytes(v.bytes)}`,
                )
                .join(", "),
          model.domains.join(", "),
        ]),
      );
    });
}
