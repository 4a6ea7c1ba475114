import { join } from "node:path";

/** The file transformers.js loads for each dtype of a model directory. */
const FILE_SUFFIX: Record<string, string> = {
  fp32: "",
  fp16: "_fp16",
  int8: "_int8",
  uint8: "_uint8",
  q8: "_quantized",
  q4: "_q4",
  q4f16: "_q4f16",
};

export function onnxWeightsFile(modelDirectory: string, precision: string): string {
  return join(modelDirectory, "onnx", `model${FILE_SUFFIX[precision] ?? ""}.onnx`);
}
