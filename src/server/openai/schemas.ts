import { z } from "zod";
import { InvalidRequestError } from "../../core/errors.js";

/**
 * OpenAI request bodies, the whole of the completions and chat surface as typed values. Fields infergate does not
 * know are kept (an OpenAI-format upstream gets the client's body verbatim) and named on the parsed request, so a
 * runtime that cannot honour them refuses them by name; token-id prompts are refused here.
 */
const stop = z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish();
const penalty = z.number().min(-2).max(2).nullish();

const sampling = {
  model: z.string().min(1).max(256),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  /** Not in OpenAI's API; accepted as vLLM and llama.cpp's server accept it. */
  top_k: z.int().min(0).nullish(),
  seed: z.int().min(0).max(0xffffffff).nullish(),
  stop,
  n: z.int().min(1).max(128).nullish(),
  presence_penalty: penalty,
  frequency_penalty: penalty,
  logit_bias: z
    .record(z.string().regex(/^\d+$/, "logit_bias keys are token ids"), z.number().min(-100).max(100))
    .nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  /** vLLM's extension: generate exactly max_tokens, past end-of-sequence. */
  ignore_eos: z.boolean().nullish(),
  /** OpenAI's end-user id; a route with `sticky_key: field:user` keeps one user on one A/B arm. */
  user: z.string().max(256).nullish(),
  max_tokens: z.int().min(1).nullish(),
};

export const completionRequestSchema = z.object({
  ...sampling,
  /** Text, or token ids of the model's own vocabulary (what vLLM and lm-evaluation-harness send); one prompt. */
  prompt: z.union([
    z.string(),
    z.array(z.string()).length(1, { error: "only one prompt per request is supported" }),
    z.array(z.int().min(0)).min(1).max(1_000_000),
    z.array(z.array(z.int().min(0)).min(1).max(1_000_000)).length(1, {
      error: "only one prompt per request is supported",
    }),
  ]),
  /** The completions endpoint's logprobs: how many alternatives per position (0-5). */
  logprobs: z.int().min(0).max(5).nullish(),
  /** The prompt is returned before the completion (with `logprobs`, its tokens' log-probabilities too). */
  echo: z.boolean().nullish(),
});

const contentPart = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string() }),
  z.object({
    type: z.literal("image_url"),
    image_url: z.object({ url: z.string().min(1), detail: z.enum(["auto", "low", "high"]).nullish() }),
  }),
  z.object({
    type: z.literal("input_audio"),
    input_audio: z.object({ data: z.string().min(1), format: z.string().min(1).max(16) }),
  }),
  z.object({
    type: z.literal("file"),
    file: z.object({
      file_data: z.string().min(1).nullish(),
      file_id: z.string().min(1).max(256).nullish(),
      filename: z.string().max(256).nullish(),
    }),
  }),
  /** An assistant turn's refusal, sent back as history. */
  z.object({ type: z.literal("refusal"), refusal: z.string() }),
]);

const toolCall = z.object({
  id: z.string().min(1).max(256),
  type: z.literal("function"),
  function: z.object({ name: z.string().min(1).max(256), arguments: z.string() }),
});

export const chatMessageSchema = z.object({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(contentPart).max(256)]).nullish(),
  name: z.string().max(256).nullish(),
  tool_calls: z.array(toolCall).max(128).nullish(),
  tool_call_id: z.string().min(1).max(256).nullish(),
  refusal: z.string().nullish(),
});

const jsonSchemaObject = z.record(z.string(), z.unknown());

export const chatRequestSchema = z.object({
  ...sampling,
  messages: z.array(chatMessageSchema).min(1).max(1024),
  max_completion_tokens: z.int().min(1).nullish(),
  tools: z
    .array(
      z.object({
        type: z.literal("function"),
        function: z.object({
          name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "a function name is 1-64 letters, digits, _ or -"),
          description: z.string().max(8192).nullish(),
          parameters: jsonSchemaObject.nullish(),
          strict: z.boolean().nullish(),
        }),
      }),
    )
    .max(128)
    .nullish(),
  tool_choice: z
    .union([
      z.enum(["none", "auto", "required"]),
      z.object({ type: z.literal("function"), function: z.object({ name: z.string().min(1).max(64) }) }),
    ])
    .nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: z
    .discriminatedUnion("type", [
      z.object({ type: z.literal("text") }),
      z.object({ type: z.literal("json_object") }),
      z.object({
        type: z.literal("json_schema"),
        json_schema: z.object({
          name: z.string().min(1).max(64),
          description: z.string().nullish(),
          schema: jsonSchemaObject.nullish(),
          strict: z.boolean().nullish(),
        }),
      }),
    ])
    .nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.int().min(0).max(20).nullish(),
  reasoning_effort: z.string().min(1).max(32).nullish(),
  /** Stored with the request at OpenAI; they change no answer, so every runtime accepts them. */
  metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
  store: z.boolean().nullish(),
});

export const embeddingRequestSchema = z.object({
  model: z.string().min(1).max(256),
  user: z.string().max(256).nullish(),
  input: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(2048)]),
  encoding_format: z.enum(["float", "base64"]).nullish(),
  dimensions: z.int().min(1).max(65_536).nullish(),
});

export const classifyRequestSchema = z.object({
  model: z.string().min(1).max(256),
  input: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(2048)]),
});

/** `/v1/tag`: the same shape as `/v1/classify`. */
export const tagRequestSchema = classifyRequestSchema;

export type CompletionRequest = z.output<typeof completionRequestSchema>;
export type ChatRequest = z.output<typeof chatRequestSchema>;
export type ChatMessage = z.output<typeof chatMessageSchema>;

/** The fields each endpoint's schema knows; any other field of a body is named as unknown. */
export const COMPLETION_FIELDS: ReadonlySet<string> = new Set(Object.keys(completionRequestSchema.shape));
export const CHAT_FIELDS: ReadonlySet<string> = new Set(Object.keys(chatRequestSchema.shape));

/** The body's fields its endpoint's schema does not know, in the order the client wrote them. */
export function unknownFields(body: unknown, known: ReadonlySet<string>): string[] | undefined {
  let unknown: string[] | undefined;
  for (const key of Object.keys(body as object)) {
    if (known.has(key)) continue;
    unknown ??= [];
    unknown.push(key);
  }
  return unknown;
}

/** Parses a body or throws `InvalidRequestError` naming the first bad field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue?.path.map(String).join(".") || undefined;
  throw new InvalidRequestError(`${param ?? "body"}: ${issue?.message ?? "invalid request"}`, param);
}
