import { stat } from "node:fs/promises";
import type { OnnxModelSpec } from "../../config/load-config.js";
import { ModelLoadError } from "../../core/errors.js";
import type { Engine } from "../engine.js";
import { OnnxLoadedModel } from "./onnx-loaded-model.js";
import { onnxWeightsFile } from "./onnx-weights-file.js";

/**
 * ONNX encoders through transformers.js on ONNX Runtime, strictly offline: model ids are absolute local
 * directories (transformers.js layout), and nothing is ever fetched from a hub.
 */
export function createOnnxEngine(): Engine<OnnxModelSpec> {
  // Imported on first load, so commands and processes that never run an ONNX model never pay for ONNX Runtime.
  const transformers = async () => {
    const library = await import("@huggingface/transformers");
    library.env.allowRemoteModels = false;
    library.env.allowLocalModels = true;
    // Variant sources are absolute paths; joined onto "/" they stay what they are.
    library.env.localModelPath = "/";
    return library;
  };

  return {
    async load(ref) {
      const { AutoModel, AutoTokenizer, Tensor } = await transformers();
      const started = performance.now();
      const precision = ref.precision ?? ref.spec.default_precision;
      const file = onnxWeightsFile(ref.source, precision);
      try {
        const [tokenizer, model, weights] = await Promise.all([
          AutoTokenizer.from_pretrained(ref.source),
          AutoModel.from_pretrained(ref.source, { dtype: precision as "fp32", device: "cpu" }),
          stat(file),
        ]);
        return new OnnxLoadedModel(
          ref,
          {
            engine: "onnx",
            batch_size: ref.spec.batch_size,
            max_length: ref.spec.max_length,
            load_ms: Math.round(performance.now() - started),
          },
          tokenizer,
          model,
          weights.size,
          Tensor,
        );
      } catch (error) {
        const reason =
          (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message;
        throw new ModelLoadError(file, reason, { cause: error });
      }
    },
  };
}
