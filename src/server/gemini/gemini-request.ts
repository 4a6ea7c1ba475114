import { InvalidRequestError } from "../../core/errors.js";
import { toolDefinition } from "../../core/tool-calls.js";
import type { ChatTurn, ContentPart, GenerateRequest, ToolCall, ToolChoice } from "../../core/types.js";
import {
  GENERATE_CONTENT_FIELDS,
  GENERATION_CONFIG_FIELDS,
  type GeminiRequestPart,
  type GenerateContentRequest,
} from "./schemas.js";

/**
 * A generateContent body as the one request model: system instruction, turns with their text, inline data and
 * function calls, function responses as tool turns (linked to their calls by id, else by name in order), tools,
 * tool config and generation settings. Each field is set only when the client sent it.
 */
export function geminiTurns(body: GenerateContentRequest): ChatTurn[] {
  const turns: ChatTurn[] = [];
  const system = body.systemInstruction?.parts.map((part) => part.text).join("") ?? "";
  if (system) turns.push({ role: "system", content: system });
  const unanswered = new Map<string, string[]>();
  let calls = 0;
  for (const [index, content] of body.contents.entries()) {
    const model = content.role === "model";
    let text = "";
    let parts: ContentPart[] | undefined;
    const toolCalls: ToolCall[] = [];
    for (const [position, part] of content.parts.entries()) {
      const param = `contents[${index}].parts[${position}]`;
      if ("text" in part) {
        // A model's thought summaries are its own reasoning, not its answer; no runtime takes them back.
        if (part.thought === true) continue;
        text += part.text;
        parts?.push({ type: "text", text: part.text });
      } else if ("functionCall" in part) {
        if (!model) throw new InvalidRequestError(`${param}: a functionCall belongs in a model turn`, param);
        const id = part.functionCall.id ?? `call_${calls}`;
        calls++;
        toolCalls.push({
          id,
          name: part.functionCall.name,
          arguments: JSON.stringify(part.functionCall.args ?? {}),
        });
        unanswered.set(part.functionCall.name, [...(unanswered.get(part.functionCall.name) ?? []), id]);
      } else if ("functionResponse" in part) {
        const { name, response, id } = part.functionResponse;
        const waiting = unanswered.get(name) ?? [];
        const callId = id ?? waiting[0];
        if (callId === undefined)
          throw new InvalidRequestError(
            `${param}: no earlier functionCall named '${name}' is unanswered`,
            param,
          );
        unanswered.set(
          name,
          waiting.filter((waitingId) => waitingId !== callId),
        );
        turns.push({ role: "tool", content: JSON.stringify(response), toolCallId: callId });
      } else {
        parts ??= text ? [{ type: "text", text }] : [];
        parts.push(dataPart(part, param));
      }
    }
    if (text === "" && !parts && toolCalls.length === 0) continue;
    const turn: ChatTurn = { role: model ? "assistant" : "user", content: text };
    if (parts) turn.parts = parts;
    if (toolCalls.length > 0) turn.toolCalls = toolCalls;
    turns.push(turn);
  }
  return turns;
}

function dataPart(
  part: Exclude<
    GeminiRequestPart,
    { text: string } | { functionCall: unknown } | { functionResponse: unknown }
  >,
  param: string,
): ContentPart {
  if ("inlineData" in part) {
    const { mimeType, data } = part.inlineData;
    if (mimeType.startsWith("image/")) return { type: "image", url: `data:${mimeType};base64,${data}` };
    if (mimeType.startsWith("audio/"))
      return { type: "audio", data, format: mimeType.slice("audio/".length) };
    return { type: "file", data: `data:${mimeType};base64,${data}` };
  }
  if (part.fileData.mimeType?.startsWith("image/")) return { type: "image", url: part.fileData.fileUri };
  throw new InvalidRequestError(
    `${param}: fileData is taken for images only (give other files as inlineData)`,
    param,
  );
}

/** The body's settings past the turns: tools, tool config, structured output, penalties, logprobs, candidates. */
export function applyGeminiFields(request: GenerateRequest, body: GenerateContentRequest): void {
  const declarations = body.tools?.flatMap((tool) => tool.functionDeclarations) ?? [];
  if (declarations.length > 0)
    request.tools = declarations.map((declaration) =>
      toolDefinition(
        declaration.name,
        declaration.description,
        declaration.parametersJsonSchema ??
          (declaration.parameters && fromGeminiSchema(declaration.parameters)),
      ),
    );
  const calling = body.toolConfig?.functionCallingConfig;
  if (calling?.mode && calling.mode !== "MODE_UNSPECIFIED") request.toolChoice = toolChoiceOf(calling);
  const config = body.generationConfig;
  if (!config) return;
  if (config.candidateCount !== null && config.candidateCount !== undefined && config.candidateCount > 1)
    request.n = config.candidateCount;
  if (config.presencePenalty) request.presencePenalty = config.presencePenalty;
  if (config.frequencyPenalty) request.frequencyPenalty = config.frequencyPenalty;
  if (config.responseMimeType === "application/json") {
    const schema =
      config.responseJsonSchema ?? (config.responseSchema && fromGeminiSchema(config.responseSchema));
    if (schema) request.jsonSchema = schema;
    else request.jsonObject = true;
  } else if (config.responseSchema || config.responseJsonSchema)
    throw new InvalidRequestError(
      "generationConfig.responseSchema needs responseMimeType application/json",
      "generationConfig.responseMimeType",
    );
  if (config.responseLogprobs === true) request.topLogprobs = config.logprobs ?? 0;
}

function toolChoiceOf(
  calling: NonNullable<NonNullable<GenerateContentRequest["toolConfig"]>["functionCallingConfig"]>,
): ToolChoice {
  if (calling.mode === "NONE") return "none";
  if (calling.mode !== "ANY") return "auto";
  const allowed = calling.allowedFunctionNames ?? [];
  if (allowed.length === 0) return "required";
  if (allowed.length === 1) return { name: allowed[0] as string };
  throw new InvalidRequestError(
    "toolConfig.functionCallingConfig.allowedFunctionNames: at most one name is supported (OpenAI's tool_choice names one function)",
    "toolConfig.functionCallingConfig.allowedFunctionNames",
  );
}

/** Gemini Schema fields typed int64, which its REST JSON carries as strings. */
const INT64_KEYS: ReadonlySet<string> = new Set([
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
]);

/**
 * Gemini's Schema as a JSON Schema: type names lower-cased, int64 bounds as numbers, `nullable` as a "null" type, properties and items
 * converted; `propertyOrdering` (a hint to Gemini) left out; any other key kept, for the runtime to honour or refuse.
 */
export function fromGeminiSchema(schema: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const converted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "type" && typeof value === "string") converted.type = value.toLowerCase();
    else if (key === "properties" && typeof value === "object" && value !== null)
      converted.properties = Object.fromEntries(
        Object.entries(value).map(([name, property]) => [
          name,
          fromGeminiSchema(property as Record<string, unknown>),
        ]),
      );
    else if (
      (key === "items" || key === "additionalProperties") &&
      typeof value === "object" &&
      value !== null
    )
      converted[key] = fromGeminiSchema(value as Record<string, unknown>);
    else if (key === "anyOf" && Array.isArray(value))
      converted.anyOf = value.map((item) => fromGeminiSchema(item as Record<string, unknown>));
    else if (INT64_KEYS.has(key) && typeof value === "string" && /^\d+$/.test(value))
      // Gemini's JSON writes int64 as a string ("16"); JSON Schema's bounds are numbers.
      converted[key] = Number(value);
    else if (key !== "nullable" && key !== "propertyOrdering") converted[key] = value;
  }
  if (schema.nullable === true && typeof converted.type === "string")
    converted.type = [converted.type, "null"];
  return converted;
}

/** The fields of a body no schema here knows, generationConfig's named with their path. */
export function unknownGeminiFields(body: Record<string, unknown>): string[] | undefined {
  const unknown = Object.keys(body).filter((key) => !GENERATE_CONTENT_FIELDS.has(key));
  const config = body.generationConfig;
  if (config && typeof config === "object")
    for (const key of Object.keys(config)) {
      if (!GENERATION_CONFIG_FIELDS.has(key)) unknown.push(`generationConfig.${key}`);
    }
  return unknown.length > 0 ? unknown : undefined;
}
