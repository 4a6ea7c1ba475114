import { createHash, timingSafeEqual } from "node:crypto";

/**
 * The API keys a gateway accepts, kept only as SHA-256 digests and compared in constant time, so neither a
 * heap dump nor response timing gives a key away.
 */
export class ApiKeys {
  readonly #digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.#digests = keys.map(digest);
  }

  /** From an env var of comma-separated keys; empty entries are ignored. */
  static fromEnv(variable: string, env: NodeJS.ProcessEnv = process.env): ApiKeys {
    const keys = (env[variable] ?? "")
      .split(",")
      .map((key) => key.trim())
      .filter((key) => key.length > 0);
    return new ApiKeys(keys);
  }

  get enabled(): boolean {
    return this.#digests.length > 0;
  }

  accepts(presented: string | undefined): boolean {
    if (!presented) return false;
    const candidate = digest(presented);
    let match = false;
    // Compare against every key, never stopping early.
    for (const known of this.#digests) match = timingSafeEqual(candidate, known) || match;
    return match;
  }
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

/**
 * The key a request carries: `Authorization: Bearer KEY`, or Gemini's `x-goog-api-key` header or `?key=`
 * query parameter.
 */
export function presentedKey(
  headers: Record<string, string | string[] | undefined>,
  query?: URLSearchParams,
): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === "string" && authorization.startsWith("Bearer "))
    return authorization.slice(7).trim();
  const google = headers["x-goog-api-key"];
  if (typeof google === "string") return google;
  return query?.get("key") ?? undefined;
}

/** Who owns what a request stores: a digest of its key (never the key itself), or "" on a gateway without keys. */
export function keyOwner(
  headers: Record<string, string | string[] | undefined>,
  query?: URLSearchParams,
): string {
  const presented = presentedKey(headers, query);
  return presented ? digest(presented).toString("hex") : "";
}
