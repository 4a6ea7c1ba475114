import type { InfergateConfig, ModelSpec } from "../config/load-config.js";
import { InvalidRequestError, ModelNotFoundError, UnknownPrecisionError } from "../core/errors.js";
import type { Precision, Task } from "../core/types.js";

/** One model at one precision (none for a remote model): what an engine loads. */
export interface ModelRef {
  spec: ModelSpec;
  precision?: Precision;
  /** Absolute path of the variant's weights, or a remote model's base URL. */
  source: string;
}

/** `id:precision`, or `id` for a remote model: how responses, metrics and logs name a model. */
export function modelLabel(ref: ModelRef): string {
  return ref.precision === undefined ? ref.spec.id : `${ref.spec.id}:${ref.precision}`;
}

/**
 * The models a config declares, looked up by id or by `id:precision`.
 *
 * @example
 * const ref = registry.resolve("lm-base:q4_0"); // {spec, precision: "q4_0", source: "/…/lm-base-q4_0.gguf"}
 */
export class ModelRegistry {
  readonly #byId: ReadonlyMap<string, ModelSpec>;

  constructor(private readonly config: InfergateConfig) {
    this.#byId = new Map(config.models.map((model) => [model.id, model]));
  }

  list(): readonly ModelSpec[] {
    return this.config.models;
  }

  get(id: string): ModelSpec {
    const spec = this.#byId.get(id);
    if (!spec) throw new ModelNotFoundError(id, [...this.#byId.keys()]);
    return spec;
  }

  /** `id`, or `id:precision`; an explicit `precision` argument wins over the suffix. */
  resolve(ref: string, precision?: string): ModelRef {
    const colon = ref.lastIndexOf(":");
    const id = colon === -1 ? ref : ref.slice(0, colon);
    const suffix = colon === -1 ? undefined : ref.slice(colon + 1);
    if (id === "") throw new InvalidRequestError("model id is empty", "model");
    const spec = this.get(id);
    if (!("variants" in spec)) {
      const asked = precision ?? suffix;
      if (asked !== undefined) throw new UnknownPrecisionError(spec.id, asked, []);
      return { spec, source: spec.base_url };
    }
    const chosen = precision ?? suffix ?? spec.default_precision;
    const source = (spec.variants as Partial<Record<string, string>>)[chosen];
    if (source === undefined) throw new UnknownPrecisionError(spec.id, chosen, Object.keys(spec.variants));
    return { spec, precision: chosen as Precision, source };
  }

  /** The model a command uses for `task` when none is named: the config's default, else the first of that task. */
  defaultFor(task: Task): ModelSpec {
    const id = this.config.defaults[task];
    if (id) return this.get(id);
    const spec = this.config.models.find((model) => model.task === task);
    if (!spec) throw new ModelNotFoundError(`(default for ${task})`, [...this.#byId.keys()]);
    return spec;
  }
}
