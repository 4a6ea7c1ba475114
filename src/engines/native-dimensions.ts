import { InvalidRequestError } from "../core/errors.js";
import type { Embeddings, EmbedOptions } from "../core/types.js";

/** A local model's embeddings have its own length; asked for another, it refuses rather than cut a vector short. */
export function ownDimensionsOnly(
  embeddings: Embeddings,
  options: EmbedOptions | undefined,
  model: string,
): Embeddings {
  const own = embeddings.vectors[0]?.length;
  const asked = options?.dimensions;
  if (asked !== undefined && own !== undefined && asked !== own)
    throw new InvalidRequestError(
      `model '${model}' makes ${own}-dimensional embeddings and cannot shorten them; leave dimensions out or ask for ${own}`,
      "dimensions",
    );
  return embeddings;
}
