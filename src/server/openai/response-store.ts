import type { ChatTurn, ContentPart } from "../../core/types.js";

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
  /** An output item of a stored response, by the item's own id (what `item_reference` names). */
  item(id: string, owner: string): Promise<Record<string, unknown> | undefined>;
}

/**
 * Stored responses, in memory and bounded by count and by size; the least recently used go first. Each is its
 * owner's (a digest of the API key that created it): another key cannot read or continue it, as at OpenAI, where
 * responses belong to a project.
 */
export class ResponseStore implements ResponseStorage {
  readonly #entries = new Map<string, Entry>();
  /** Output item id → the id of the response that holds it. */
  readonly #items = new Map<string, string>();
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

  item(id: string, owner: string): Promise<Record<string, unknown> | undefined> {
    const holder = this.#items.get(id);
    const entry = holder === undefined ? undefined : this.#entries.get(holder);
    if (!entry || entry.owner !== owner) return Promise.resolve(undefined);
    return Promise.resolve(outputOf(entry).find((item) => item.id === id));
  }

  set(id: string, owner: string, stored: StoredResponse): Promise<void> {
    this.#store(id, owner, stored);
    return Promise.resolve();
  }

  #store(id: string, owner: string, stored: StoredResponse): void {
    const bytes = sizeOf(stored);
    this.#remove(id);
    if (this.maxEntries === 0 || bytes > this.maxBytes) return;
    const entry: Entry = { ...stored, owner, bytes };
    this.#entries.set(id, entry);
    for (const item of outputOf(entry)) if (typeof item.id === "string") this.#items.set(item.id, id);
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
    for (const item of outputOf(entry))
      if (this.#items.get(String(item.id)) === id) this.#items.delete(String(item.id));
    this.#bytes -= entry.bytes;
  }
}

function outputOf(stored: StoredResponse): readonly Record<string, unknown>[] {
  const output = stored.response.output;
  return Array.isArray(output) ? (output as Record<string, unknown>[]) : [];
}

/**
 * An estimate of what an entry holds on the heap: two bytes per character of its conversation's texts and its
 * output's, and a fixed allowance per turn, item and the response's own fields. Serialising it to measure it
 * would cost every stored request more than storing it.
 */
function sizeOf(stored: StoredResponse): number {
  let characters = 2048;
  for (const turn of stored.conversation) {
    characters += 64 + turn.content.length;
    for (const call of turn.toolCalls ?? []) characters += 64 + call.name.length + call.arguments.length;
    for (const part of turn.parts ?? []) characters += 64 + partLength(part);
  }
  for (const item of outputOf(stored)) characters += 256 + JSON.stringify(item).length;
  return 2 * characters;
}

function partLength(part: ContentPart): number {
  switch (part.type) {
    case "text":
      return part.text.length;
    case "image":
      return part.url.length;
    case "audio":
      return part.data.length;
    case "file":
      return (part.data?.length ?? 0) + (part.fileId?.length ?? 0);
    default:
      return part satisfies never;
  }
}

/** The store `server`'s bounds describe. */
export function responseStoreFor(limits: {
  max_stored_responses: number;
  max_stored_response_bytes: number;
}): ResponseStore {
  return new ResponseStore(limits.max_stored_responses, limits.max_stored_response_bytes);
}
