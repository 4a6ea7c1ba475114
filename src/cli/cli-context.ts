import { type InfergateConfig, loadConfig } from "../config/load-config.js";
import type { Precision, Task } from "../core/types.js";
import type { LoadedModel } from "../engines/engine.js";
import { createEngines, type Engines } from "../engines/engines.js";
import { type ModelRef, ModelRegistry } from "../models/model-registry.js";

export interface GlobalOptions {
  config?: string;
}

export interface ModelOptions {
  model?: string;
  precision?: string;
  threads?: number;
}

/** What every command needs: the config, the registry over it, and engines that are closed when done. */
export class CliContext implements AsyncDisposable {
  readonly engines: Engines = createEngines();

  private constructor(
    readonly config: InfergateConfig,
    readonly registry: ModelRegistry,
  ) {}

  static async open(options: GlobalOptions): Promise<CliContext> {
    const config = await loadConfig(options.config);
    return new CliContext(config, new ModelRegistry(config));
  }

  /** `--model` (id or id:precision) and `--precision`, else the config's default for `task`. */
  resolve(task: Task, options: ModelOptions): ModelRef {
    return this.registry.resolve(options.model ?? this.registry.defaultFor(task).id, options.precision);
  }

  async load(task: Task, options: ModelOptions): Promise<{ ref: ModelRef; model: LoadedModel }> {
    const ref = this.resolve(task, options);
    const model = await this.engines.load(
      ref,
      options.threads === undefined ? {} : { threads: options.threads },
    );
    return { ref, model };
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.engines.close();
  }
}

export function describeRef(ref: ModelRef): { model: string; precision: Precision | null } {
  return { model: ref.spec.id, precision: ref.precision ?? null };
}
