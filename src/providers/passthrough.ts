import type { GenerateRequest, Passthrough } from "../core/types.js";

/**
 * The client's own body, when it spoke a wire format this upstream speaks; else the request is translated. An
 * OpenAI-format upstream takes chat and completions bodies, and Responses API bodies only when it serves that API
 * itself (`speaksResponses`); a Gemini one takes `generateContent` bodies.
 */
export function passthroughFor(
  request: GenerateRequest,
  wire: "openai" | "gemini",
  speaksResponses = false,
): Passthrough | undefined {
  const passthrough = request.passthrough;
  if (!passthrough) return undefined;
  switch (passthrough.endpoint) {
    case "generateContent":
      return wire === "gemini" ? passthrough : undefined;
    case "responses":
      return wire === "openai" && speaksResponses ? passthrough : undefined;
    default:
      return wire === "openai" ? passthrough : undefined;
  }
}
