/**
 * Scores of one generated answer against its references, each in [0, 1], best over the references where an item
 * has several. Pure functions; the normalisation is SQuAD's (Rajpurkar et al. 2016, its official evaluate script).
 */

/** What a metric sees of an item. */
export interface ReferenceItem {
  references?: readonly string[];
  /** A regular expression the answer must match (row field `match`), for `regex`. */
  match?: string;
}

export type ReferenceMetric = (answer: string, item: ReferenceItem) => number;

const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/** SQuAD's normalize_answer: lower-case, punctuation out, articles out, whitespace collapsed. */
export function squadNormalize(text: string): string {
  return text
    .toLowerCase()
    .replace(ASCII_PUNCTUATION, "")
    .replace(/\b(a|an|the)\b/g, " ")
    .split(/\s+/)
    .filter(Boolean)
    .join(" ");
}

const best = (item: ReferenceItem, score: (reference: string) => number) =>
  (item.references ?? []).reduce((top, reference) => Math.max(top, score(reference)), 0);

/** The answer is a reference, but for surrounding whitespace (HELM's exact_match). */
export const exactMatch: ReferenceMetric = (answer, item) =>
  best(item, (reference) => (answer.trim() === reference.trim() ? 1 : 0));

/** Equal after SQuAD normalisation (HELM's quasi_exact_match). */
export const quasiExactMatch: ReferenceMetric = (answer, item) =>
  best(item, (reference) => (squadNormalize(answer) === squadNormalize(reference) ? 1 : 0));

/** SQuAD's F1 over bags of normalised tokens. */
export const tokenF1: ReferenceMetric = (answer, item) => {
  const predicted = squadNormalize(answer).split(" ").filter(Boolean);
  return best(item, (reference) => {
    const gold = squadNormalize(reference).split(" ").filter(Boolean);
    if (predicted.length === 0 || gold.length === 0) return predicted.length === gold.length ? 1 : 0;
    const counts = new Map<string, number>();
    for (const token of gold) counts.set(token, (counts.get(token) ?? 0) + 1);
    let common = 0;
    for (const token of predicted) {
      const left = counts.get(token) ?? 0;
      if (left > 0) {
        common++;
        counts.set(token, left - 1);
      }
    }
    if (common === 0) return 0;
    const precision = common / predicted.length;
    const recall = common / gold.length;
    return (2 * precision * recall) / (precision + recall);
  });
};

/** A reference appears in the answer, as whole words after SQuAD normalisation. */
export const contains: ReferenceMetric = (answer, item) => {
  const padded = ` ${squadNormalize(answer)} `;
  return best(item, (reference) => {
    const normalized = squadNormalize(reference);
    return normalized !== "" && padded.includes(` ${normalized} `) ? 1 : 0;
  });
};

/** The answer matches the item's `match` regular expression. */
export const regex: ReferenceMetric = (answer, item) =>
  item.match !== undefined && new RegExp(item.match, "u").test(answer) ? 1 : 0;

/** Tokens as the rouge-score package makes them: lower-case runs of letters and digits. */
function rougeTokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Longest common subsequence length, in O(n·m) time and O(m) memory. */
function lcsLength(a: readonly string[], b: readonly string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (const token of a) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = token === b[j - 1] ? diagonal + 1 : Math.max(above, row[j - 1] as number);
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** ROUGE-L F1: the longest common subsequence of tokens over both lengths (Lin 2004). */
export const rougeL: ReferenceMetric = (answer, item) => {
  const predicted = rougeTokens(answer);
  return best(item, (reference) => {
    const gold = rougeTokens(reference);
    if (predicted.length === 0 || gold.length === 0) return 0;
    const lcs = lcsLength(predicted, gold);
    if (lcs === 0) return 0;
    const precision = lcs / predicted.length;
    const recall = lcs / gold.length;
    return (2 * precision * recall) / (precision + recall);
  });
};

/** The whole answer (trimmed) parses as JSON. */
export const jsonValid: ReferenceMetric = (answer) => {
  try {
    JSON.parse(answer.trim());
    return 1;
  } catch {
    return 0; // not JSON: the score says so
  }
};
