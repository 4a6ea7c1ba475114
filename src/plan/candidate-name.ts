import { InvalidRequestError } from "../core/errors.js";

/**
 * A candidate as plan names it: a model (`id` or `id:precision`), or an endpoint's configured id, and for a
 * llama.cpp model optionally the parallel sequences it was measured with: `lm-base:q8_0@parallel=4`.
 */
export interface CandidateName {
  model: string;
  parallel?: number;
}

const PARALLEL = /^(.+)@parallel=(\d+)$/;

export function parseCandidateName(name: string): CandidateName {
  const found = PARALLEL.exec(name);
  if (!found) return { model: name };
  const parallel = Number(found[2]);
  if (!(parallel >= 1 && parallel <= 256))
    throw new InvalidRequestError(`candidate '${name}': parallel must be 1 to 256`, "candidates");
  return { model: found[1] as string, parallel };
}

export function candidateName(model: string, parallel?: number): string {
  return parallel === undefined ? model : `${model}@parallel=${parallel}`;
}
