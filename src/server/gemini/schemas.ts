import { z } from "zod";

/**
 * Gemini request bodies (camelCase, as the SDKs send them; the REST API's snake_case spellings of the
 * top-level fields are accepted too). Unknown fields are ignored.
 */
const part = z.object({ text: z.string() });
const content = z.object({
  role: z.enum(["user", "model"]).nullish(),
  parts: z.array(part).min(1).max(1024),
});

const generationConfig = z.object({
  temperature: z.number().min(0).max(2).nullish(),
  topP: z.number().gt(0).max(1).nullish(),
  topK: z.int().min(0).nullish(),
  maxOutputTokens: z.int().min(1).nullish(),
  stopSequences: z.array(z.string().min(1)).max(4).nullish(),
  seed: z.int().min(0).max(0xffffffff).nullish(),
  candidateCount: z.literal(1, { error: "only candidateCount = 1 is supported" }).nullish(),
});

export const generateContentSchema = z.preprocess(
  (body) => {
    if (!body || typeof body !== "object") return body;
    const { system_instruction, generation_config, ...rest } = body as Record<string, unknown>;
    return {
      ...rest,
      systemInstruction: rest.systemInstruction ?? system_instruction,
      generationConfig: rest.generationConfig ?? generation_config,
    };
  },
  z.object({
    contents: z.array(content).min(1).max(1024),
    systemInstruction: z.object({ parts: z.array(part).max(64) }).nullish(),
    generationConfig: generationConfig.nullish(),
  }),
);

export const embedContentSchema = z.object({ content: z.object({ parts: z.array(part).min(1).max(64) }) });

export const batchEmbedContentsSchema = z.object({
  requests: z.array(embedContentSchema).min(1).max(2048),
});

export type GenerateContentRequest = z.output<typeof generateContentSchema>;
