import { InvalidRequestError } from "../../core/errors.js";
import type { ContentPart, GenerateRequest } from "../../core/types.js";
import { refuseUnknownFields } from "../../core/validate-generate-request.js";

const PART_NAMES: Record<Exclude<ContentPart["type"], "text">, string> = {
  image: "an image_url",
  audio: "an input_audio",
  file: "a file",
};

/**
 * Refuses, by name, every field of a request a local llama.cpp model cannot honour, so nothing is dropped
 * silently: the client learns which field to take out, or to send to an upstream that honours it.
 */
export function refuseUnhonoured(request: GenerateRequest, model: string): void {
  refuseUnknownFields(request, model, "is local");
  if (request.reasoningEffort !== undefined)
    throw new InvalidRequestError(
      `model '${model}' is local and has no reasoning effort to set`,
      "reasoning_effort",
    );
  for (const [index, message] of (request.messages ?? []).entries()) {
    for (const [position, part] of (message.parts ?? []).entries()) {
      if (part.type === "text") continue;
      const param = `messages[${index}].content[${position}]`;
      throw new InvalidRequestError(
        `${param}: model '${model}' takes text only and cannot take ${PART_NAMES[part.type]} part`,
        param,
      );
    }
  }
}
