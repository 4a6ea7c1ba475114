import { statSync } from "node:fs";
import type { ModelSpec } from "../config/load-config.js";
import type { ServerConfig } from "../config/schema.js";
import { ModelLoadError } from "../core/errors.js";
import type { Precision } from "../core/types.js";
import { weightsFile } from "../engines/engines.js";
import type { ModelRef, ModelRegistry } from "../models/model-registry.js";
import { type PrecisionSwitchEvent, topics } from "../telemetry/events.js";

type LocalSpec = Extract<ModelSpec, { variants: unknown }>;

/**
 * Which precision each local model serves when a request names none. It starts at the configured default
 * and moves to the next smaller variant (by weights on disk: f16 → q8_0 → q4_0, fp32 → fp16 → int8) when the
 * process nears `server.memory.limit_mb`, when loading a variant would cross it, or when a load fails for lack
 * of memory. It never moves back up by itself: a model flapping between variants under pressure would be
 * worse than one that stays small until a restart.
 */
export class PrecisionPolicy {
  readonly #serving = new Map<string, Precision>();
  readonly #limitBytes: number | undefined;
  readonly #highWaterBytes: number;

  constructor(
    private readonly registry: ModelRegistry,
    settings: ServerConfig["memory"],
    private readonly rss: () => number = () => process.memoryUsage.rss(),
  ) {
    this.#limitBytes = settings.limit_mb === undefined ? undefined : settings.limit_mb * 1024 * 1024;
    this.#highWaterBytes = (this.#limitBytes ?? Infinity) * settings.high_water;
  }

  get enabled(): boolean {
    return this.#limitBytes !== undefined;
  }

  /** The variant a request for `spec` without a precision goes to now. */
  resolve(spec: ModelSpec): ModelRef {
    if (!("variants" in spec)) return this.registry.resolve(spec.id);
    return this.registry.resolve(spec.id, this.#serving.get(spec.id) ?? spec.default_precision);
  }

  *serving(): Iterable<{ model: string; precision: string }> {
    for (const spec of this.registry.list()) {
      if ("variants" in spec) yield { model: spec.id, precision: this.resolve(spec).precision ?? "" };
    }
  }

  /** Before `ref` loads: the variant to load instead when its weights would take the process past the limit. */
  fit(ref: ModelRef): ModelRef {
    let chosen = ref;
    for (;;) {
      if (this.rss() + weightBytes(chosen) < this.#highWaterBytes) return chosen;
      const smaller = this.#stepDown(chosen, "would_exceed_limit");
      if (!smaller) return chosen;
      chosen = smaller;
    }
  }

  /** After `ref` failed to load: the next smaller variant when the failure was for lack of memory. */
  afterLoadFailure(ref: ModelRef, error: unknown): ModelRef | undefined {
    return this.enabled && isOutOfMemory(error) ? this.#stepDown(ref, "load_failed") : undefined;
  }

  /**
   * When the process is near the limit: moves the largest of `loaded` that has a smaller variant down one
   * step, and returns the variant it left (for the caller to retire once idle).
   */
  relieve(loaded: readonly ModelRef[]): ModelRef | undefined {
    if (!this.enabled || this.rss() < this.#highWaterBytes) return undefined;
    const candidates = loaded
      .filter((ref) => ref.precision !== undefined && ref.precision === this.resolve(ref.spec).precision)
      .filter((ref) => smallerVariant(ref) !== undefined)
      .sort((a, b) => weightBytes(b) - weightBytes(a));
    const largest = candidates[0];
    if (!largest) return undefined;
    this.#stepDown(largest, "memory_pressure");
    return largest;
  }

  #stepDown(ref: ModelRef, reason: PrecisionSwitchEvent["reason"]): ModelRef | undefined {
    const smaller = smallerVariant(ref);
    if (!smaller || smaller.precision === undefined) return undefined;
    this.#serving.set(ref.spec.id, smaller.precision);
    topics.precisionSwitch.publish({
      model: ref.spec.id,
      from: ref.precision ?? "",
      to: smaller.precision,
      reason,
      rssBytes: this.rss(),
    });
    return smaller;
  }
}

/** The variant with the largest weights below `ref`'s, if any. */
function smallerVariant(ref: ModelRef): ModelRef | undefined {
  const spec = ref.spec as LocalSpec;
  if (!("variants" in spec)) return undefined;
  const own = weightBytes(ref);
  let best: ModelRef | undefined;
  for (const [precision, source] of Object.entries(spec.variants)) {
    if (source === undefined) continue;
    const candidate: ModelRef = { spec, precision: precision as Precision, source };
    const bytes = weightBytes(candidate);
    if (bytes < own && (!best || bytes > weightBytes(best))) best = candidate;
  }
  return best;
}

const sizes = new Map<string, number>();

export function weightBytes(ref: ModelRef): number {
  const file = weightsFile(ref);
  if (file === undefined) return 0;
  let size = sizes.get(file);
  if (size === undefined) {
    size = statSync(file).size;
    sizes.set(file, size);
  }
  return size;
}

/** node-llama-cpp's InsufficientMemoryError, or an allocation failure llama.cpp or ONNX Runtime reported. */
function isOutOfMemory(error: unknown): boolean {
  const cause = error instanceof ModelLoadError ? error.cause : error;
  if (cause instanceof Error && cause.name === "InsufficientMemoryError") return true;
  const message = error instanceof Error ? error.message : String(error);
  return /out of memory|insufficient memory|failed to allocate|bad_alloc|cannot allocate/i.test(message);
}
