interface Entry {
  vector: Float32Array;
  key: string;
  expiresAt: number;
}

/**
 * The prompts this process has cached answers for, as unit vectors, grouped by everything else that decides
 * an answer (model variant, sampling fields): a lookup finds the most similar cached prompt of the same group
 * by cosine similarity (a dot product, since embeddings are L2-normalized). A linear scan: at the default
 * 10,000 entries of 128 dimensions it takes well under a millisecond, far less than embedding the prompt.
 */
export class SemanticIndex {
  readonly #groups = new Map<string, Entry[]>();

  constructor(private readonly maxEntries: number) {}

  nearest(group: string, vector: Float32Array): { key: string; similarity: number } | undefined {
    const entries = this.#groups.get(group);
    if (!entries) return undefined;
    const now = Date.now();
    let best: { key: string; similarity: number } | undefined;
    for (const entry of entries) {
      if (entry.expiresAt <= now) continue;
      const similarity = dot(entry.vector, vector);
      if (!best || similarity > best.similarity) best = { key: entry.key, similarity };
    }
    return best;
  }

  add(group: string, vector: Float32Array, key: string, expiresAt: number): void {
    const entries = (this.#groups.get(group) ?? []).filter((entry) => entry.expiresAt > Date.now());
    entries.push({ vector, key, expiresAt });
    if (entries.length > this.maxEntries) entries.splice(0, entries.length - this.maxEntries);
    this.#groups.set(group, entries);
  }

  clear(): void {
    this.#groups.clear();
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}
