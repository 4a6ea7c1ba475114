import type { ModelSpec } from "../config/load-config.js";
import { type ModelRef, modelLabel } from "../models/model-registry.js";
import { createGeminiProvider } from "../providers/gemini/gemini-provider.js";
import { createOpenAiCompatProvider } from "../providers/openai-compat/openai-compat-provider.js";
import type { Engine, LoadedModel, LoadOptions } from "./engine.js";
import { createLlamaCppEngine } from "./llamacpp/llamacpp-engine.js";
import { createOnnxEngine } from "./onnx/onnx-engine.js";
import { onnxWeightsFile } from "./onnx/onnx-weights-file.js";

type EngineName = ModelSpec["engine"];

/**
 * The runtimes, one per `engine` value in the config: in-process engines and remote providers alike. Loaded models are kept per `id:precision`,
 * so every caller shares one copy; concurrent loads of the same variant share one load.
 *
 * @example
 * await using engines = createEngines();
 * const model = await engines.load(registry.resolve("spam-encoder:int8"));
 * const [result] = await model.classify(["WIN A FREE CRUISE"]); // {label: "spam", score: 0.99, ...}
 */
export interface Engines extends AsyncDisposable {
  load(ref: ModelRef, options?: LoadOptions): Promise<LoadedModel>;
  /** Models loaded so far (failed loads are not kept). */
  loaded(): LoadedModel[];
  /** Closes a loaded variant (whatever thread count it was loaded with) and forgets it. */
  unload(ref: ModelRef): Promise<void>;
  close(): Promise<void>;
}

export function createEngines(): Engines {
  const llamacpp = createLlamaCppEngine();
  const openai = createOpenAiCompatProvider();
  const gemini = createGeminiProvider();
  const runtimes: { [E in EngineName]: Engine<Extract<ModelSpec, { engine: E }>> } = {
    llamacpp,
    onnx: createOnnxEngine(),
    openai,
    gemini,
  };
  const models = new Map<string, Promise<LoadedModel>>();
  const settled = new Map<string, LoadedModel>();

  const close = async () => {
    const all = [...settled.values()];
    models.clear();
    settled.clear();
    await Promise.all(all.map((model) => model.close()));
    await llamacpp[Symbol.asyncDispose]();
    await openai[Symbol.asyncDispose]();
    await gemini[Symbol.asyncDispose]();
  };

  return {
    load(ref, options = {}) {
      const key = `${modelLabel(ref)}:${options.threads ?? ""}`;
      let model = models.get(key);
      if (!model) {
        const engine = runtimes[ref.spec.engine] as Engine;
        model = engine.load(ref, options).then(
          (loaded) => {
            settled.set(key, loaded);
            return loaded;
          },
          (error: unknown) => {
            models.delete(key);
            throw error;
          },
        );
        models.set(key, model);
      }
      return model;
    },
    loaded: () => [...settled.values()],
    async unload(ref) {
      const prefix = `${modelLabel(ref)}:`;
      const keys = [...models.keys()].filter((key) => key.startsWith(prefix));
      const closing = keys.map((key) => models.get(key));
      for (const key of keys) {
        models.delete(key);
        settled.delete(key);
      }
      await Promise.all(closing.map(async (model) => (await model)?.close()));
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * The weights file behind a variant (an ONNX variant is a directory holding one file per precision);
 * undefined for a remote model.
 */
export function weightsFile(ref: ModelRef): string | undefined {
  switch (ref.spec.engine) {
    case "llamacpp":
      return ref.source;
    case "onnx":
      return onnxWeightsFile(ref.source, ref.precision ?? "fp32");
    case "openai":
    case "gemini":
      return undefined;
    default:
      return ref.spec satisfies never;
  }
}
