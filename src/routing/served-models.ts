import { setTimeout as sleep } from "node:timers/promises";
import { GatewayCache } from "../cache/gateway-cache.js";
import type { InfergateConfig } from "../config/load-config.js";
import { UnsupportedTaskError } from "../core/errors.js";
import type { Task } from "../core/types.js";
import type { LoadedModel } from "../engines/engine.js";
import type { Engines } from "../engines/engines.js";
import { type ModelRef, type ModelRegistry, modelLabel } from "../models/model-registry.js";
import { topics } from "../telemetry/events.js";
import type { BreakerReading, ModelLoadState, ModelMemory, ModelProcess } from "../telemetry/metrics.js";
import { Admission } from "./admission.js";
import { PrecisionPolicy } from "./precision-policy.js";
import { Route } from "./route.js";
import type { Admitted, RoutingInput, TargetSource } from "./serving.js";
import type { SharedState } from "./shared-state.js";

export interface ServedModelsOptions {
  /** The process's resident memory in bytes, for the precision policy (tests simulate pressure with it). */
  rss?: () => number;
  /** Told about failures of background work (switching precision, wiping the cache), for the log. */
  onError?: (error: unknown) => void;
  /** Where the cache's sealing keys are read from. */
  env?: NodeJS.ProcessEnv;
  /** The Redis replicas share breakers in (`shared_state`). */
  shared?: SharedState;
}

/**
 * The models a gateway serves, by the name a client sends: a declared model (`ID` or `ID:PRECISION`), each
 * behind its own admission bound, or a configured route over several. Requests without a precision go to the
 * variant the precision policy chooses.
 */
export class ServedModels implements TargetSource {
  /** The response and embedding cache, when one is configured. */
  readonly cache: GatewayCache | undefined;
  readonly #admissions = new Map<string, Admission>();
  readonly #routes: ReadonlyMap<string, Route>;
  readonly #precision: PrecisionPolicy;
  #memoryWatch: NodeJS.Timeout | undefined;
  #relieving = false;

  constructor(
    private readonly registry: ModelRegistry,
    private readonly engines: Engines,
    private readonly config: Pick<InfergateConfig, "server" | "routes" | "cache">,
    private readonly options: ServedModelsOptions = {},
  ) {
    this.#precision = new PrecisionPolicy(registry, config.server.memory, options.rss);
    this.cache =
      config.cache &&
      new GatewayCache(config.cache, options.env ?? process.env, (id, text) => this.#embedPrompt(id, text));
    this.#routes = new Map(
      config.routes.map((route) => [
        route.name,
        new Route(route, registry.get(route.targets[0]?.model ?? "").task, this, options.shared),
      ]),
    );
  }

  /** Loads every model's serving variant (calibrating threads), so no request pays a cold start. */
  async warmUp(): Promise<void> {
    for (const spec of this.registry.list()) {
      const started = performance.now();
      const { ref } = await this.#load(this.#precision.resolve(spec), true);
      topics.modelLoaded.publish({ model: modelLabel(ref), loadMs: performance.now() - started });
    }
    await this.cache?.connect();
    this.cache?.start((error) => this.options.onError?.(error));
    if (this.#precision.enabled) {
      this.#memoryWatch = setInterval(
        () => void this.#relieveMemory().catch((error: unknown) => this.options.onError?.(error)),
        this.config.server.memory.check_interval_ms,
      );
      this.#memoryWatch.unref();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#memoryWatch);
    await this.cache?.close();
  }

  /** Admits a request for `modelField`: a route's name, `ID` or `ID:PRECISION`. */
  async admit(modelField: string, task: Task, input: RoutingInput): Promise<Admitted> {
    const route = this.#routes.get(modelField);
    return route ? route.admit(task, input) : this.admitModel(modelField, task, input);
  }

  /**
   * Admits a request for a declared model (`ID` or `ID:PRECISION`) and takes a place in its queue; with a
   * cache, the model is served through it.
   */
  async admitModel(modelField: string, task: Task, input?: RoutingInput): Promise<Admitted> {
    const pinned = modelField.includes(":");
    const requested = pinned
      ? this.registry.resolve(modelField)
      : this.#precision.resolve(this.registry.get(modelField));
    if (task === "generate" && requested.spec.task !== "generate")
      throw new UnsupportedTaskError(requested.spec.id, task);
    const { ref, model } = await this.#load(requested, !pinned);
    const name = modelLabel(ref);
    let admission = this.#admissions.get(name);
    if (!admission) {
      admission = new Admission(
        name,
        Number(model.runtime.parallel ?? 1),
        this.config.server.max_queue_per_model,
      );
      this.#admissions.set(name, admission);
    }
    const release = admission.enter();
    const served = this.cache ? this.cache.models.wrap(model, name, ref.spec.id, input?.onCache) : model;
    return { model: served, name, release };
  }

  /** Every name a client may send, with its task and, for a local LM, its context size. */
  catalog(): { id: string; task: Task; contextSize?: number; countsTokens?: boolean }[] {
    const entries = this.registry.list().flatMap((spec) => {
      const contextSize = "context_size" in spec ? spec.context_size : undefined;
      // A local LM counts its prompt's tokens; a Gemini upstream is asked to.
      const countsTokens =
        spec.task === "generate" && (spec.engine === "llamacpp" || spec.engine === "gemini");
      const names = [
        spec.id,
        ...("variants" in spec ? Object.keys(spec.variants).map((p) => `${spec.id}:${p}`) : []),
      ];
      return names.map((id) => ({
        id,
        task: spec.task,
        ...(contextSize !== undefined && { contextSize }),
        ...(countsTokens && { countsTokens }),
      }));
    });
    const routes = [...this.#routes.values()].map((route) => ({ id: route.name, task: route.task }));
    return [...entries, ...routes];
  }

  ids(): string[] {
    return this.catalog().map((entry) => entry.id);
  }

  /** The declared models' names (`ID`, `ID:PRECISION`), routes left out: what a benchmark can measure. */
  modelNames(): string[] {
    const routes = new Set(this.#routes.keys());
    return this.ids().filter((id) => !routes.has(id));
  }

  *loadStates(): Iterable<ModelLoadState> {
    for (const admission of this.#admissions.values()) {
      yield { model: admission.model, inFlight: admission.inFlight, queued: admission.queued };
    }
  }

  *breakers(): Iterable<BreakerReading> {
    for (const route of this.#routes.values()) yield* route.breakers();
  }

  precisions(): Iterable<{ model: string; precision: string }> {
    return this.#precision.serving();
  }

  *processes(): Iterable<ModelProcess> {
    for (const model of this.engines.loaded()) {
      const process = model.servingProcess?.();
      if (process) yield { model: modelLabel(model.ref), ...process };
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

  /**
   * Loads a variant; one the precision policy manages (`managed`: no precision was asked for) may be swapped
   * for a smaller one that fits the memory limit, or that loads where this one ran out of memory.
   */
  async #load(requested: ModelRef, managed: boolean): Promise<{ ref: ModelRef; model: LoadedModel }> {
    // Only a model's first load is fitted; later ones are the policy's own steps down.
    let ref =
      managed && this.#precision.enabled && !this.#anyVariantLoaded(requested)
        ? this.#precision.fit(requested)
        : requested;
    for (;;) {
      try {
        return { ref, model: await this.engines.load(ref) };
      } catch (error) {
        const smaller = managed ? this.#precision.afterLoadFailure(ref, error) : undefined;
        if (!smaller) throw error;
        ref = smaller;
      }
    }
  }

  /** One prompt's embedding, for the semantic cache, through the model's own admission bound. */
  async #embedPrompt(modelId: string, text: string): Promise<Float32Array> {
    const admitted = await this.admitModel(modelId, "embed");
    try {
      const { vectors } = await admitted.model.embed([text]);
      return vectors[0] as Float32Array;
    } finally {
      admitted.release();
    }
  }

  #anyVariantLoaded(ref: ModelRef): boolean {
    return this.engines.loaded().some((model) => model.ref.spec.id === ref.spec.id);
  }

  /** Near the memory limit: one model steps down; its old variant is closed once its requests are done. */
  async #relieveMemory(): Promise<void> {
    if (this.#relieving) return;
    const left = this.#precision.relieve(this.engines.loaded().map((model) => model.ref));
    if (!left) return;
    this.#relieving = true;
    try {
      await this.#load(this.#precision.resolve(left.spec), true);
      const admission = this.#admissions.get(modelLabel(left));
      while ((admission?.inFlight ?? 0) > 0) await sleep(25);
      this.#admissions.delete(modelLabel(left));
      await this.engines.unload(left);
    } finally {
      this.#relieving = false;
    }
  }
}
