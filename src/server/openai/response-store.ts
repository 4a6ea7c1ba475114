import type { ChatTurn } from "../../core/types.js";

/** A response kept for `GET /v1/responses/{id}` and for a later request to continue with `previous_response_id`. */
export interface StoredResponse {
  /** The response object as the client got it. */
  response: Readonly<Record<string, unknown>>;
  /** Its input (earlier responses' included, instructions not) followed by its output, as turns. */
  conversation: readonly ChatTurn[];
}

interface Entry extends StoredResponse {
  owner: string;
  bytes: number;
}

/** Where stored responses live: this process's memory, or a cluster primary's (cluster-workers.ts). */
export interface ResponseStorage {
  get(id: string, owner: string): Promise<StoredResponse | undefined>;
  set(id: string, owner: string, stored: StoredResponse): Promise<void>;
}

/**
 * Stored responses, in memory and bounded by count and by size; the least recently used go first. Each is its
 * owner's (a digest of the API key that created it): another key cannot read or continue it, as at OpenAI, where
 * responses belong to a project.
 */
export class ResponseStore implements ResponseStorage {
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(id: string, owner: string): Promise<StoredResponse | undefined> {
    const entry = this.#entries.get(id);
    if (!entry || entry.owner !== owner) return Promise.resolve(undefined);
    // Re-inserted: a Map iterates in insertion order, so the first entry is always the least recently used.
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    return Promise.resolve({ response: entry.response, conversation: entry.conversation });
  }

  set(id: string, owner: string, stored: StoredResponse): Promise<void> {
    this.#store(id, owner, stored);
    return Promise.resolve();
  }

  #store(id: string, owner: string, stored: StoredResponse): void {
    const bytes = sizeOf(stored);
    this.#remove(id);
    if (this.maxEntries === 0 || bytes > this.maxBytes) return;
    this.#entries.set(id, { ...stored, owner, bytes });
    this.#bytes += bytes;
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries && this.#bytes <= this.maxBytes) break;
      this.#remove(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  #remove(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    this.#bytes -= entry.bytes;
  }
}

/** Two bytes per UTF-16 code unit of the entry's JSON: close to what its strings hold on the heap. */
function sizeOf(stored: StoredResponse): number {
  return 2 * (JSON.stringify(stored.response).length + JSON.stringify(stored.conversation).length);
}

/** The store `server`'s bounds describe. */
export function responseStoreFor(limits: {
  max_stored_responses: number;
  max_stored_response_bytes: number;
}): ResponseStore {
  return new ResponseStore(limits.max_stored_responses, limits.max_stored_response_bytes);
}
