import { Pool } from "undici";
import type { OpenAiModelSpec } from "../../config/load-config.js";
import { ModelLoadError } from "../../core/errors.js";
import type { Engine } from "../../engines/engine.js";
import { OpenAiRemoteModel } from "./openai-remote-model.js";

export interface OpenAiCompatProvider extends Engine<OpenAiModelSpec>, AsyncDisposable {}

/**
 * Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp's server, infergate itself). Models on one origin
 * share one keep-alive pool.
 */
export function createOpenAiCompatProvider(env: NodeJS.ProcessEnv = process.env): OpenAiCompatProvider {
  const pools = new Map<string, Pool>();
  return {
    async load(ref) {
      const { spec } = ref;
      const url = new URL(spec.base_url);
      const apiKey = spec.api_key_env === undefined ? undefined : env[spec.api_key_env];
      if (spec.api_key_env !== undefined && !apiKey) {
        throw new ModelLoadError(spec.base_url, `the API key variable ${spec.api_key_env} is not set`);
      }
      let pool = pools.get(url.origin);
      if (!pool) {
        pool = new Pool(url.origin, { connections: spec.max_connections, keepAliveTimeout: 30_000 });
        pools.set(url.origin, pool);
      }
      return new OpenAiRemoteModel(ref, pool, url.pathname.replace(/\/$/, ""), apiKey);
    },
    async [Symbol.asyncDispose]() {
      await Promise.all([...pools.values()].map((pool) => pool.close()));
      pools.clear();
    },
  };
}
