import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import type { UiConfig } from "../config/schema.js";
import { RunStore } from "./run-store.js";

/**
 * The run store's directory: `ui.data_dir` (made absolute by the config loader), else the user's state directory
 * as the XDG base-directory spec places it.
 */
export function dataDirFor(ui: UiConfig, env: NodeJS.ProcessEnv = process.env): string {
  if (ui.data_dir) return ui.data_dir;
  const state = env.XDG_STATE_HOME;
  return join(state && isAbsolute(state) ? state : join(homedir(), ".local", "state"), "infergate");
}

/** The run store `ui` configures, with its retention. */
export function openRunStore(ui: UiConfig, env?: NodeJS.ProcessEnv): RunStore {
  return RunStore.open(dataDirFor(ui, env), {
    maxRuns: ui.retention.max_runs,
    maxAgeDays: ui.retention.max_age_days,
  });
}
