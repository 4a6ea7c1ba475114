import type { GeminiModelSpec } from "../../config/load-config.js";
import { createRemoteProvider, type RemoteProvider } from "../remote-provider.js";
import { GeminiRemoteModel } from "./gemini-remote-model.js";

/** Google's Gemini API, or any server speaking it (infergate's own Gemini routes included). */
export function createGeminiProvider(env: NodeJS.ProcessEnv = process.env): RemoteProvider<GeminiModelSpec> {
  return createRemoteProvider<GeminiModelSpec>(
    (ref, pool, basePath, apiKey) => new GeminiRemoteModel(ref, pool, basePath, apiKey),
    env,
  );
}
