import { Pool } from "undici";
import { ModelLoadError } from "../core/errors.js";
import type { Engine, LoadedModel } from "../engines/engine.js";
import type { ModelRef } from "../models/model-registry.js";
import type { RemoteModelSpec } from "./remote-model.js";

export interface RemoteProvider<S extends RemoteModelSpec> extends Engine<S>, AsyncDisposable {}

export type RemoteModelFactory<S extends RemoteModelSpec> = (
  ref: ModelRef & { spec: S },
  pool: Pool,
  basePath: string,
  apiKey: string | undefined,
) => LoadedModel;

/**
 * A provider over HTTP: models on one origin share one keep-alive pool; an API key configured by env-var name
 * must be set, or loading fails clearly.
 */
export function createRemoteProvider<S extends RemoteModelSpec>(
  createModel: RemoteModelFactory<S>,
  env: NodeJS.ProcessEnv = process.env,
): RemoteProvider<S> {
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
        pool = new Pool(url.origin, {
          connections: spec.max_connections,
          keepAliveTimeout: 30_000,
          connect: { timeout: spec.connect_timeout_ms },
        });
        pools.set(url.origin, pool);
      }
      return createModel(ref, pool, url.pathname.replace(/\/$/, ""), apiKey);
    },
    async [Symbol.asyncDispose]() {
      await Promise.all([...pools.values()].map((pool) => pool.close()));
      pools.clear();
    },
  };
}
