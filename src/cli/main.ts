import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { ConfigError, InfergateError } from "../core/errors.js";
import { registerBenchCommands } from "./bench-commands.js";
import { registerCacheCommand } from "./cache-command.js";
import { registerEncoderCommands } from "./encoder-commands.js";
import { registerGenerateCommand } from "./generate-command.js";
import { registerModelsCommand } from "./models-command.js";
import { registerPlanCommand } from "./plan-command.js";
import { registerServeCommand } from "./serve-command.js";

const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

/** Exit codes: 0 ok, 1 the work failed, 2 the input (arguments, config, files) was wrong. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command("infergate")
    .description(
      "Measure local and remote language models on your own workload, then serve the winner.\n" +
        "With no --config, the bundled models are used (see `infergate models`).",
    )
    .version(version)
    .option("-c, --config <file>", "YAML config declaring the models (replaces the built-in one)")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  registerModelsCommand(program);
  registerGenerateCommand(program);
  registerEncoderCommands(program);
  registerServeCommand(program);
  registerBenchCommands(program);
  registerPlanCommand(program);
  registerCacheCommand(program);

  try {
    await program.parseAsync(argv, { from: "user" });
    // A command that decides its own status (plan: 3 for no plan, 1 for a failed verification) sets it.
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit through here with code 0; commander has already printed the message.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof InfergateError) {
      process.stderr.write(`infergate: ${error.message}\n`);
      return error instanceof ConfigError || error.status < 500 ? 2 : 1;
    }
    throw error;
  }
}
