import { z } from "zod";
import { InvalidRequestError } from "../../core/errors.js";

/**
 * OpenAI request bodies as infergate accepts them. Unknown fields are ignored, as OpenAI's SDKs send many
 * optional ones; fields we cannot honour (n > 1, token-id prompts) are refused with a clear message.
 */
const stop = z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish();

const sampling = {
  model: z.string().min(1).max(256),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  /** Not in OpenAI's API; accepted as vLLM and llama.cpp's server accept it. */
  top_k: z.int().min(0).nullish(),
  seed: z.int().min(0).max(0xffffffff).nullish(),
  stop,
  n: z.literal(1, { error: "only n = 1 is supported" }).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  /** vLLM's extension: generate exactly max_tokens, past end-of-sequence. */
  ignore_eos: z.boolean().nullish(),
  /** OpenAI's end-user id; a route with `sticky_key: field:user` keeps one user on one A/B arm. */
  user: z.string().max(256).nullish(),
};

export const completionRequestSchema = z.object({
  ...sampling,
  prompt: z.union([
    z.string(),
    z.array(z.string()).length(1, { error: "only one prompt per request is supported" }),
  ]),
  max_tokens: z.int().min(1).nullish(),
  echo: z.literal(false, { error: "echo is not supported" }).nullish(),
});

const textPart = z.object({ type: z.literal("text"), text: z.string() });

export const chatMessageSchema = z.object({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(textPart)]).nullable(),
  name: z.string().max(256).nullish(),
});

export const chatRequestSchema = z.object({
  ...sampling,
  messages: z.array(chatMessageSchema).min(1).max(1024),
  max_tokens: z.int().min(1).nullish(),
  max_completion_tokens: z.int().min(1).nullish(),
});

export const embeddingRequestSchema = z.object({
  model: z.string().min(1).max(256),
  user: z.string().max(256).nullish(),
  input: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(2048)]),
  encoding_format: z.enum(["float", "base64"]).nullish(),
});

export const classifyRequestSchema = z.object({
  model: z.string().min(1).max(256),
  input: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(2048)]),
});

export type CompletionRequest = z.output<typeof completionRequestSchema>;
export type ChatRequest = z.output<typeof chatRequestSchema>;
export type ChatMessage = z.output<typeof chatMessageSchema>;

/** Parses a body or throws `InvalidRequestError` naming the first bad field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue?.path.map(String).join(".") || undefined;
  throw new InvalidRequestError(`${param ?? "body"}: ${issue?.message ?? "invalid request"}`, param);
}
