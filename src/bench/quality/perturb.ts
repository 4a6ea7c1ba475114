import { InvalidRequestError } from "../../core/errors.js";
import { seededRandom } from "./paired-statistics.js";

/**
 * Shifted inputs for the robustness check: each item run a second time with its text perturbed, seeded so the
 * same item is perturbed the same way for every target.
 * - `typos[=rate]`: each letter, with probability `rate` (default 0.05), swapped with the next, dropped or doubled;
 * - `case`: each word upper- or lower-cased at random;
 * - `whitespace`: each run of whitespace replaced by one to three spaces or a newline;
 * - `truncate[=share]`: the text cut to its first `share` (default 0.5) of characters, at a word boundary.
 */
export interface Perturbation {
  typos?: number;
  case?: boolean;
  whitespace?: boolean;
  truncate?: number;
}

export const PERTURBATIONS = ["typos", "case", "whitespace", "truncate"] as const;

export function parsePerturbation(text: string): Perturbation {
  const perturbation: Perturbation = {};
  for (const part of text.split(",").map((piece) => piece.trim())) {
    const [name, raw] = part.split("=");
    const share = raw === undefined ? undefined : Number(raw);
    const badShare = share !== undefined && !(share > 0 && share < 1);
    if (name === "typos" && !badShare) perturbation.typos = share ?? 0.05;
    else if (name === "truncate" && !badShare) perturbation.truncate = share ?? 0.5;
    else if ((name === "case" || name === "whitespace") && raw === undefined) perturbation[name] = true;
    else
      throw new InvalidRequestError(
        `--perturb: expected a list of ${PERTURBATIONS.join(", ")} (typos=RATE and truncate=SHARE between 0 and 1), got '${part}'`,
        "perturb",
      );
  }
  return perturbation;
}

export function describePerturbation(perturbation: Perturbation): string {
  return [
    ...(perturbation.typos !== undefined ? [`typos=${perturbation.typos}`] : []),
    ...(perturbation.case ? ["case"] : []),
    ...(perturbation.whitespace ? ["whitespace"] : []),
    ...(perturbation.truncate !== undefined ? [`truncate=${perturbation.truncate}`] : []),
  ].join(",");
}

/** The text perturbed; `seed` is per item, so every target sees the same perturbed item. */
export function perturbText(text: string, perturbation: Perturbation, seed: number): string {
  const random = seededRandom(seed);
  let out = text;
  if (perturbation.truncate !== undefined) {
    const cut = Math.floor(out.length * perturbation.truncate);
    const boundary = out.lastIndexOf(" ", cut);
    out = out.slice(0, boundary > 0 ? boundary : Math.max(1, cut));
  }
  if (perturbation.case)
    out = out.replace(/\S+/g, (word) => (random() < 0.5 ? word.toUpperCase() : word.toLowerCase()));
  if (perturbation.whitespace)
    out = out.replace(/\s+/g, () => (random() < 0.25 ? "\n" : " ".repeat(1 + Math.floor(random() * 3))));
  const rate = perturbation.typos;
  if (rate !== undefined) {
    const chars = [...out];
    const typed: string[] = [];
    for (let i = 0; i < chars.length; i++) {
      const char = chars[i] as string;
      if (!/\p{L}/u.test(char) || random() >= rate) {
        typed.push(char);
        continue;
      }
      const kind = random();
      if (kind < 1 / 3 && i + 1 < chars.length) {
        typed.push(chars[i + 1] as string, char);
        i++;
      } else if (kind < 2 / 3) typed.push(char, char);
      // else: dropped
    }
    out = typed.join("");
  }
  return out.length > 0 ? out : text.slice(0, 1);
}
