import type { GenerateRequest, Passthrough } from "../core/types.js";

const GEMINI_ENDPOINTS: ReadonlySet<Passthrough["endpoint"]> = new Set(["generateContent"]);

/** The client's own body, when it spoke the wire format this upstream speaks; else the request is translated. */
export function passthroughFor(request: GenerateRequest, wire: "openai" | "gemini"): Passthrough | undefined {
  const passthrough = request.passthrough;
  if (!passthrough) return undefined;
  return GEMINI_ENDPOINTS.has(passthrough.endpoint) === (wire === "gemini") ? passthrough : undefined;
}
