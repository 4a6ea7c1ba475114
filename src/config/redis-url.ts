import { ConfigError } from "../core/errors.js";

/**
 * A section's Redis server: from its `redis_url_env` when set (a URL with a password stays out of the config
 * file), else its `redis_url`. A named variable that is unset, or holds no redis:// URL, fails the start.
 */
export function redisUrlOf(
  settings: { redis_url?: string | undefined; redis_url_env?: string | undefined },
  env: NodeJS.ProcessEnv,
  section: string,
): string | undefined {
  if (!settings.redis_url_env) return settings.redis_url;
  const url = env[settings.redis_url_env];
  if (!url || !/^rediss?:\/\/./.test(url))
    throw new ConfigError(
      `${section}.redis_url_env names ${settings.redis_url_env}, which ${url ? "does not hold a redis:// or rediss:// URL" : "is not set"}`,
      `${section}.redis_url_env`,
    );
  return url;
}
