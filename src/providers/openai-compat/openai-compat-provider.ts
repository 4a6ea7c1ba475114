import type { OpenAiModelSpec } from "../../config/load-config.js";
import { createRemoteProvider, type RemoteProvider } from "../remote-provider.js";
import { OpenAiRemoteModel } from "./openai-remote-model.js";

/** Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp's server, infergate itself). */
export function createOpenAiCompatProvider(
  env: NodeJS.ProcessEnv = process.env,
): RemoteProvider<OpenAiModelSpec> {
  return createRemoteProvider<OpenAiModelSpec>(
    (ref, pool, basePath, apiKey) => new OpenAiRemoteModel(ref, pool, basePath, apiKey),
    env,
  );
}
