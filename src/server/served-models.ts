import type { ServerConfig } from "../config/schema.js";
import { UnsupportedTaskError } from "../core/errors.js";
import type { Task } from "../core/types.js";
import type { LoadedModel } from "../engines/engine.js";
import type { Engines } from "../engines/engines.js";
import { type ModelRegistry, modelLabel } from "../models/model-registry.js";
import { publishModelLoaded } from "../telemetry/events.js";
import type { ModelLoadState, ModelMemory } from "../telemetry/metrics.js";
import { Admission } from "./admission.js";

/** A model admitted for one request; `release` must be called when the request is done. */
export interface Admitted {
  model: LoadedModel;
  /** `id:precision` (`id` for a remote model), the label metrics and responses use. */
  name: string;
  release(): void;
}

/**
 * The models a gateway serves: loaded through the shared engines, each behind its own admission bound.
 */
export class ServedModels {
  readonly #admissions = new Map<string, Admission>();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly engines: Engines,
    private readonly config: ServerConfig,
  ) {}

  /** Loads every model's default variant (calibrating threads), so no request pays a cold start. */
  async warmUp(): Promise<void> {
    for (const spec of this.registry.list()) {
      const started = performance.now();
      const ref = this.registry.resolve(spec.id);
      await this.engines.load(ref);
      publishModelLoaded({ model: modelLabel(ref), loadMs: performance.now() - started });
    }
  }

  /** Resolves `ID` or `ID:PRECISION`, loads it if need be, and takes a place in its queue. */
  async admit(modelField: string, task: Task): Promise<Admitted> {
    const ref = this.registry.resolve(modelField);
    if (task === "generate" && ref.spec.task !== "generate")
      throw new UnsupportedTaskError(ref.spec.id, task);
    const name = modelLabel(ref);
    const model = await this.engines.load(ref);
    let admission = this.#admissions.get(name);
    if (!admission) {
      admission = new Admission(name, Number(model.runtime.parallel ?? 1), this.config.max_queue_per_model);
      this.#admissions.set(name, admission);
    }
    return { model, name, release: admission.enter() };
  }

  ids(): string[] {
    return this.registry
      .list()
      .flatMap((spec) => [
        spec.id,
        ...("variants" in spec
          ? Object.keys(spec.variants).map((precision) => `${spec.id}:${precision}`)
          : []),
      ]);
  }

  *loadStates(): Iterable<ModelLoadState> {
    for (const admission of this.#admissions.values()) {
      yield { model: admission.model, inFlight: admission.inFlight, queued: admission.queued };
    }
  }

  async memory(): Promise<ModelMemory[]> {
    return Promise.all(
      this.engines.loaded().map(async (model) => ({
        model: modelLabel(model.ref),
        ...(await model.memory()),
      })),
    );
  }
}
