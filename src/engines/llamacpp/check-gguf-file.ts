import { stat } from "node:fs/promises";
import type { Llama } from "node-llama-cpp";

/**
 * Reads a GGUF file's header and checks that the file holds every byte its tensors need, so a cut-short
 * download fails with a plain reason before llama.cpp maps it. Throws with that reason.
 */
export async function checkGgufFile(path: string, llama: Llama): Promise<void> {
  const { GgufInsights, readGgufFileInfo } = await import("node-llama-cpp");
  const info = await readGgufFileInfo(path, { logWarnings: false });
  if (info.splicedParts > 1) return;
  const [first] = info.fullTensorInfo ?? [];
  if (!first) throw new Error("the file declares no tensors");
  const dataStart = Number(BigInt(first.fileOffset) - BigInt(first.offset));
  const needed = dataStart + (await GgufInsights.from(info, llama)).modelSize;
  const { size } = await stat(path);
  if (size < needed) throw new Error(`the file is truncated: ${size} of ${needed} bytes`);
}
