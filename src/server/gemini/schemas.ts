import { z } from "zod";

/**
 * Gemini request bodies (camelCase, as the SDKs send them; the REST API's snake_case spellings of the
 * top-level fields are accepted too): text, inline data, function calls and responses, function declarations,
 * and the generation settings infergate maps onto the request model. Fields no schema here knows are named on the
 * parsed request, so a runtime that cannot take them refuses them by name.
 */
const part = z.union([
  z.object({ text: z.string(), thought: z.boolean().nullish() }),
  z.object({ inlineData: z.object({ mimeType: z.string().min(1).max(128), data: z.string().min(1) }) }),
  z.object({ fileData: z.object({ mimeType: z.string().max(128).nullish(), fileUri: z.string().min(1) }) }),
  z.object({
    functionCall: z.object({
      name: z.string().min(1).max(128),
      args: z.record(z.string(), z.unknown()).nullish(),
      id: z.string().max(256).nullish(),
    }),
  }),
  z.object({
    functionResponse: z.object({
      name: z.string().min(1).max(128),
      response: z.record(z.string(), z.unknown()),
      id: z.string().max(256).nullish(),
    }),
  }),
]);

const content = z.object({
  role: z.enum(["user", "model", "function"]).nullish(),
  parts: z.array(part).min(1).max(1024),
});

const schemaObject = z.record(z.string(), z.unknown());

const generationConfig = z.object({
  temperature: z.number().min(0).max(2).nullish(),
  topP: z.number().gt(0).max(1).nullish(),
  topK: z.int().min(0).nullish(),
  maxOutputTokens: z.int().min(1).nullish(),
  stopSequences: z.array(z.string().min(1)).max(5).nullish(),
  seed: z.int().min(0).max(0xffffffff).nullish(),
  candidateCount: z.int().min(1).max(8).nullish(),
  presencePenalty: z.number().min(-2).max(2).nullish(),
  frequencyPenalty: z.number().min(-2).max(2).nullish(),
  responseMimeType: z.enum(["text/plain", "application/json"]).nullish(),
  /** Gemini's OpenAPI-style Schema (upper-case types). */
  responseSchema: schemaObject.nullish(),
  /** A plain JSON Schema, Gemini's newer spelling. */
  responseJsonSchema: schemaObject.nullish(),
  responseLogprobs: z.boolean().nullish(),
  logprobs: z.int().min(0).max(20).nullish(),
});

const tool = z.object({
  functionDeclarations: z
    .array(
      z.object({
        name: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/, "a function name is 1-64 letters, digits, _ . : or -"),
        description: z.string().max(8192).nullish(),
        parameters: schemaObject.nullish(),
        parametersJsonSchema: schemaObject.nullish(),
      }),
    )
    .max(128),
});

const toolConfig = z.object({
  functionCallingConfig: z
    .object({
      mode: z.enum(["AUTO", "ANY", "NONE", "MODE_UNSPECIFIED"]).nullish(),
      allowedFunctionNames: z.array(z.string().min(1).max(128)).max(128).nullish(),
    })
    .nullish(),
});

const generateContentFields = {
  contents: z.array(content).min(1).max(1024),
  systemInstruction: z
    .object({ role: z.string().nullish(), parts: z.array(z.object({ text: z.string() })).max(64) })
    .nullish(),
  generationConfig: generationConfig.nullish(),
  tools: z.array(tool).max(8).nullish(),
  toolConfig: toolConfig.nullish(),
};

const SNAKE_CASE: Record<string, string> = {
  system_instruction: "systemInstruction",
  generation_config: "generationConfig",
  tool_config: "toolConfig",
};

/** The REST API's snake_case top-level fields under their camelCase names. */
export function camelCaseFields(body: unknown): unknown {
  if (!body || typeof body !== "object" || Array.isArray(body)) return body;
  if (!Object.keys(body).some((key) => key in SNAKE_CASE)) return body;
  return Object.fromEntries(Object.entries(body).map(([key, value]) => [SNAKE_CASE[key] ?? key, value]));
}

export const generateContentSchema = z.object(generateContentFields);

/** The top-level fields the schema knows; any other is named as unknown. */
export const GENERATE_CONTENT_FIELDS: ReadonlySet<string> = new Set(Object.keys(generateContentFields));
/** The same, for generationConfig. */
export const GENERATION_CONFIG_FIELDS: ReadonlySet<string> = new Set(Object.keys(generationConfig.shape));

const textPart = z.object({ text: z.string() });
export const embedContentSchema = z.object({
  content: z.object({ parts: z.array(textPart).min(1).max(64) }),
});

export const batchEmbedContentsSchema = z.object({
  requests: z.array(embedContentSchema).min(1).max(2048),
});

export type GenerateContentRequest = z.output<typeof generateContentSchema>;
export type GeminiRequestPart = z.output<typeof part>;
