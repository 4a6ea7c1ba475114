import { z } from "zod";

/**
 * The Responses API's create body (`POST /v1/responses`) as typed values. Like chat, fields infergate does not
 * know are kept for an upstream that speaks the Responses API itself and named for every other runtime, which
 * refuses them by name.
 */
const text = z.string();
const functionName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "a function name is 1-64 letters, digits, _ or -");

const inputContent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("input_text"), text }),
  z.object({
    type: z.literal("input_image"),
    image_url: z.string().min(1).nullish(),
    file_id: z.string().min(1).max(256).nullish(),
    detail: z.enum(["auto", "low", "high"]).nullish(),
  }),
  z.object({
    type: z.literal("input_file"),
    file_data: z.string().min(1).nullish(),
    file_id: z.string().min(1).max(256).nullish(),
    file_url: z.string().min(1).nullish(),
    filename: z.string().max(256).nullish(),
  }),
  /** An earlier answer's content, sent back as history. */
  z.object({ type: z.literal("output_text"), text }),
  z.object({ type: z.literal("refusal"), refusal: text }),
]);

export const responseMessageItem = z.object({
  type: z.literal("message").optional(),
  id: z.string().max(256).nullish(),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: z.union([text, z.array(inputContent).max(256)]),
  status: z.string().nullish(),
});

const functionCallItem = z.object({
  type: z.literal("function_call"),
  id: z.string().max(256).nullish(),
  call_id: z.string().min(1).max(256),
  name: functionName,
  arguments: text,
  status: z.string().nullish(),
});

const functionCallOutputItem = z.object({
  type: z.literal("function_call_output"),
  id: z.string().max(256).nullish(),
  call_id: z.string().min(1).max(256),
  output: z.union([text, z.array(inputContent).max(256)]),
  status: z.string().nullish(),
});

/** Items other than messages carry a `type`; a message may leave it out (the "easy" input message). */
export const responsesInputItem = z.union([
  functionCallItem,
  functionCallOutputItem,
  z.object({ type: z.literal("item_reference"), id: z.string().min(1).max(256) }),
  z.object({ type: z.literal("reasoning"), id: z.string().max(256).nullish() }).loose(),
  responseMessageItem,
]);

const functionTool = z.object({
  type: z.literal("function"),
  name: functionName,
  description: z.string().max(8192).nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

/** Hosted tools (web search, file search, computer use, …) are OpenAI's to run; they are named, never dropped. */
const hostedTool = z
  .object({
    type: z
      .string()
      .min(1)
      .max(64)
      .refine((type) => type !== "function"),
  })
  .loose();

const textFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    name: z.string().min(1).max(64),
    description: z.string().nullish(),
    schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().nullish(),
  }),
]);

export const responsesRequestSchema = z.object({
  model: z.string().min(1).max(256),
  input: z.union([text, z.array(responsesInputItem).max(1024)]),
  instructions: z.string().nullish(),
  tools: z
    .array(z.union([functionTool, hostedTool]))
    .max(128)
    .nullish(),
  tool_choice: z
    .union([
      z.enum(["none", "auto", "required"]),
      z.object({ type: z.literal("function"), name: functionName }),
    ])
    .nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.object({ format: textFormat.nullish(), verbosity: z.string().max(16).nullish() }).nullish(),
  max_output_tokens: z.int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  /** Per-position alternatives, reported when `include` asks for `message.output_text.logprobs`. */
  top_logprobs: z.int().min(0).max(20).nullish(),
  include: z.array(z.string().min(1).max(64)).max(16).nullish(),
  reasoning: z.object({ effort: z.string().max(32).nullish(), summary: z.string().nullish() }).nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().min(1).max(256).nullish(),
  stream: z.boolean().nullish(),
  /** Padding of stream events against length side channels: infergate adds none, so asking for it changes nothing. */
  stream_options: z.object({ include_obfuscation: z.boolean().nullish() }).nullish(),
  /** They change no answer, so every runtime accepts them. */
  metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
  user: z.string().max(256).nullish(),
  safety_identifier: z.string().max(256).nullish(),
  prompt_cache_key: z.string().max(256).nullish(),
  service_tier: z.string().max(32).nullish(),
  /** Only `disabled` (the default) is honoured: an input longer than the context is refused, never cut. */
  truncation: z.literal("disabled").nullish(),
});

export type ResponsesRequest = z.output<typeof responsesRequestSchema>;
export type ResponsesFunctionTool = z.output<typeof functionTool>;
export type ResponsesInputItem = Exclude<ResponsesRequest["input"], string>[number];
export type ResponsesInputContent = Exclude<z.output<typeof responseMessageItem>["content"], string>[number];

export const RESPONSES_FIELDS: ReadonlySet<string> = new Set(Object.keys(responsesRequestSchema.shape));

/** What `include` may ask for: the output text's log-probabilities. */
export const OUTPUT_TEXT_LOGPROBS = "message.output_text.logprobs";
