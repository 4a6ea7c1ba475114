import { readFileSync } from "node:fs";
import { ConfigError } from "../core/errors.js";

export interface SealingKey {
  id: string;
  key: Buffer;
}

/**
 * The AES-256 keys cache values are sealed with: the newest seals, every one configured still opens what it
 * sealed. Rotation is adding a key at the end; retiring one is removing it (its values become misses).
 */
export class Keyring {
  readonly newest: SealingKey;
  readonly #byId: ReadonlyMap<string, SealingKey>;

  constructor(keys: readonly SealingKey[]) {
    const newest = keys.at(-1);
    if (!newest) throw new ConfigError("the cache needs at least one sealing key", "cache.keys_env");
    this.newest = newest;
    this.#byId = new Map(keys.map((key) => [key.id, key]));
  }

  get(id: string): SealingKey | undefined {
    return this.#byId.get(id);
  }

  /** `id1:BASE64KEY,id2:BASE64KEY` (newest last), each key 32 bytes; `where` names the source in errors. */
  static parse(text: string, where: string): Keyring {
    const keys = text
      .split(/[,\n]/)
      .map((entry) => entry.trim())
      .filter(Boolean)
      .map((entry) => {
        const colon = entry.indexOf(":");
        const id = entry.slice(0, colon);
        if (colon <= 0 || !/^[A-Za-z0-9_-]{1,32}$/.test(id))
          throw new ConfigError(
            `${where}: each key is 'ID:BASE64KEY' with an ID of 1-32 letters, digits, '_' or '-'`,
          );
        const key = Buffer.from(entry.slice(colon + 1), "base64");
        if (key.length !== 32)
          throw new ConfigError(
            `${where}: key '${id}' is ${key.length} bytes; AES-256 needs 32 (openssl rand -base64 32)`,
          );
        return { id, key };
      });
    if (new Set(keys.map((key) => key.id)).size !== keys.length)
      throw new ConfigError(`${where}: key ids must be unique`);
    return new Keyring(keys);
  }

  /** From `keys_file` when set, else the `keys_env` variable. */
  static load(
    settings: { keys_env: string; keys_file?: string | undefined },
    env: NodeJS.ProcessEnv,
  ): Keyring {
    if (settings.keys_file)
      return Keyring.parse(readFileSync(settings.keys_file, "utf8"), settings.keys_file);
    const text = env[settings.keys_env];
    if (!text)
      throw new ConfigError(
        `cache: set sealing keys in ${settings.keys_env} ('ID:BASE64KEY', newest last) or cache.keys_file`,
        "cache.keys_env",
      );
    return Keyring.parse(text, settings.keys_env);
  }
}
