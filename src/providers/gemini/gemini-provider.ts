import { Pool } from "undici";
import type { GeminiModelSpec } from "../../config/load-config.js";
import { ModelLoadError } from "../../core/errors.js";
import type { Engine } from "../../engines/engine.js";
import { GeminiRemoteModel } from "./gemini-remote-model.js";

export interface GeminiProvider extends Engine<GeminiModelSpec>, AsyncDisposable {}

/** Google's Gemini API, or any server speaking it (infergate's own Gemini routes included). */
export function createGeminiProvider(env: NodeJS.ProcessEnv = process.env): GeminiProvider {
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
      return new GeminiRemoteModel(ref, pool, url.pathname.replace(/\/$/, ""), apiKey);
    },
    async [Symbol.asyncDispose]() {
      await Promise.all([...pools.values()].map((pool) => pool.close()));
      pools.clear();
    },
  };
}
