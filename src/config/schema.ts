import { z } from "zod";
import { GGUF_PRECISIONS, ONNX_PRECISIONS, TASKS } from "../core/types.js";

const modelId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/i, "must be 1-64 letters, digits, '.', '_' or '-' (no ':')");

/** Prices in US dollars; used by `compare` to put a cost per 1M tokens beside the speed. */
const cost = z
  .object({
    input_per_1m_tokens: z.number().nonnegative(),
    output_per_1m_tokens: z.number().nonnegative(),
  })
  .strict();

const common = {
  id: modelId,
  task: z.enum(TASKS),
  domains: z.array(z.string().min(1)).default([]),
  cost: cost.optional(),
};

/** A GGUF model run in-process by node-llama-cpp. */
const llamaCppModel = z
  .object({
    ...common,
    engine: z.literal("llamacpp"),
    variants: z.partialRecord(z.enum(GGUF_PRECISIONS), z.string().min(1)),
    default_precision: z.enum(GGUF_PRECISIONS).optional(),
    /** Tokens each parallel sequence can hold (prompt + completion). */
    context_size: z.int().min(64).max(1_048_576).default(2048),
    /** Sequences in one context: how many requests are batched together (continuous batching). */
    parallel: z.int().min(1).max(256).default(8),
    /**
     * Decode each sequence in a batch of its own, so output never depends on what else runs (llama.cpp's
     * CPU kernels sum in a different order for batches of several rows). Costs about a quarter of the
     * 8-way throughput; off by default, as in vLLM and SGLang.
     */
    batch_invariant: z.boolean().default(false),
    /**
     * llama.cpp's fused attention kernel: `auto` (llama-server's default) uses it where the backend has it. On
     * these CPUs it made 8 parallel streams of lm-base 20-35% faster (bench:local-serving).
     */
    flash_attention: z.union([z.literal("auto"), z.boolean()]).default("auto"),
    /**
     * Where tokens are decoded: `in-process` by node-llama-cpp, or `llama-server`, llama.cpp's own server as a
     * supervised child process (built once from the llama.cpp source node-llama-cpp ships), which decodes faster
     * (bench:local-serving); prompts, stop strings, tool calls and everything else stay infergate's.
     */
    runtime: z.enum(["in-process", "llama-server"]).default("in-process"),
    /** CPU threads; `auto` measures the fastest count once per machine and model. */
    threads: z.union([z.literal("auto"), z.int().min(1).max(1024)]).default("auto"),
    /**
     * How chat requests are prompted: `auto` uses the GGUF's own chat template (the transcript when it has
     * none), `transcript` always the documented `User:/Assistant:` transcript, else a Jinja template file.
     */
    chat_template: z.union([z.literal("auto"), z.literal("transcript"), z.string().min(1)]).default("auto"),
  })
  .strict();

/** An ONNX encoder (transformers.js layout) run in-process by ONNX Runtime. */
const onnxModel = z
  .object({
    ...common,
    engine: z.literal("onnx"),
    /** Each value is the model directory (config.json, tokenizer.json, onnx/); the key picks the file. */
    variants: z.partialRecord(z.enum(ONNX_PRECISIONS), z.string().min(1)),
    default_precision: z.enum(ONNX_PRECISIONS).optional(),
    /** Texts per forward pass. */
    batch_size: z.int().min(1).max(1024).default(16),
    /** Inputs are truncated to this many tokens. */
    max_length: z.int().min(8).max(8192).default(256),
  })
  .strict();

/** A model behind any OpenAI-compatible server (vLLM, llama.cpp's server, OpenAI itself, ...), proxied. */
const openAiModel = z
  .object({
    ...common,
    engine: z.literal("openai"),
    /** Up to and including the version segment, e.g. `http://10.0.0.5:8000/v1`. */
    base_url: z.url({ protocol: /^https?$/ }),
    /** The model name the upstream expects. */
    upstream_model: z.string().min(1),
    /** Env var holding the upstream's API key, sent as `Authorization: Bearer`. */
    api_key_env: z.string().min(1).optional(),
    /** Keep-alive connections held open to the upstream. */
    max_connections: z.int().min(1).max(4096).default(256),
    /** How long opening a connection (TCP and TLS) may take before the try fails as unreachable. */
    connect_timeout_ms: z.int().min(1).max(600_000).default(10_000),
    /** Requests in flight to the upstream at once; more wait in the gateway's queue. */
    parallel: z.int().min(1).max(100_000).default(256),
    /**
     * The upstream serves `POST /responses` itself (OpenAI does; most OpenAI-compatible servers do not): a
     * Responses API client's body then goes to it verbatim but for `model`; otherwise it is bridged to chat.
     */
    responses_api: z.boolean().default(false),
  })
  .strict();

/** A model behind Google's Gemini API (or any server speaking its wire format), proxied. */
const geminiModel = openAiModel.omit({ responses_api: true }).extend({
  engine: z.literal("gemini"),
  /** The API root, without the version: `https://generativelanguage.googleapis.com` or `http://host:port`. */
  base_url: z.url({ protocol: /^https?$/ }),
  /** Env var holding the key, sent as `x-goog-api-key`. */
  api_key_env: z.string().min(1).optional(),
});

export const modelConfigSchema = z.discriminatedUnion("engine", [
  llamaCppModel,
  onnxModel,
  openAiModel,
  geminiModel,
]);

/** `infergate serve`: where it listens and the bounds every request is held to. */
const serverSchema = z
  .object({
    host: z.string().min(1).default("127.0.0.1"),
    port: z.int().min(0).max(65_535).default(8080),
    /** Env var holding comma-separated API keys. Required unless the server listens on loopback only. */
    api_keys_env: z.string().min(1).default("INFERGATE_API_KEYS"),
    /** Env var holding comma-separated admin keys, for `/admin/*`; without any, the admin API is off. */
    admin_keys_env: z.string().min(1).default("INFERGATE_ADMIN_KEYS"),
    max_body_bytes: z
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    max_prompt_chars: z.int().min(1).max(1_000_000).default(100_000),
    max_tokens: z.int().min(1).max(32_768).default(4096),
    /** Responses kept for `previous_response_id` and `GET /v1/responses/{id}`, in memory, least recently used out. */
    max_stored_responses: z.int().min(0).max(1_000_000).default(1024),
    /** The most their conversations may take together (UTF-16 characters × 2, an estimate of their heap). */
    max_stored_response_bytes: z
      .int()
      .min(0)
      .max(16 * 1024 * 1024 * 1024)
      .default(256 * 1024 * 1024),
    /** Requests a model may hold waiting for a free slot before new ones get 429. */
    max_queue_per_model: z.int().min(0).max(100_000).default(64),
    request_timeout_ms: z.int().min(100).max(3_600_000).default(120_000),
    /** How long SIGTERM waits for in-flight requests before closing them. */
    drain_timeout_ms: z.int().min(0).max(600_000).default(30_000),
    /** The precision policy: step models down to smaller variants as the process nears a memory limit. */
    memory: z
      .object({
        /** Resident memory (RSS) the process should stay under; no limit when absent. */
        limit_mb: z.int().min(16).max(4_194_304).optional(),
        /** "Near the limit" starts at this fraction of it. */
        high_water: z.number().gt(0).max(1).default(0.9),
        /** How often resident memory is checked. */
        check_interval_ms: z.int().min(50).max(600_000).default(1000),
      })
      .strict()
      .default({ high_water: 0.9, check_interval_ms: 1000 }),
  })
  .strict();

/** Where a request's sticky key comes from: `header:NAME` or `field:user` (OpenAI's `user`). */
const stickyKey = z
  .string()
  .regex(/^(header:[A-Za-z0-9-]{1,128}|field:user)$/, "must be 'header:NAME' or 'field:user'");

/** A specialist takes a request when its rule matches or the classifier puts the prompt in its domain. */
const specialistSchema = z
  .object({
    model: modelId,
    /** A regular expression tested against the request's last user text (flags: `i` for case-insensitive). */
    match: z.string().min(1).max(1024).optional(),
    match_flags: z
      .string()
      .regex(/^[imsu]*$/, "flags may be i, m, s, u")
      .default("i"),
    classifier: z
      .object({
        model: modelId,
        /** The classifier's label that means "this specialist's domain". */
        label: z.string().min(1),
        /** The lowest score for that label that routes to the specialist. */
        min_score: z.number().min(0).max(1).default(0.5),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((value) => value.match !== undefined || value.classifier !== undefined, {
    error: "give a 'match' rule, a 'classifier', or both",
  });

/**
 * A public model name served by other models: weighted A/B targets, specialists, a fallback chain, and
 * resilience policies applied to every target it tries.
 */
const routeSchema = z
  .object({
    name: modelId,
    targets: z
      .array(z.object({ model: modelId, weight: z.number().positive().max(1_000_000).default(1) }).strict())
      .min(1)
      .max(64),
    /** One user stays on one arm: the key picks the arm by a stable hash. Random per request without it. */
    sticky_key: stickyKey.optional(),
    specialists: z.array(specialistSchema).max(32).default([]),
    /** Tried in order after the chosen target fails. */
    fallback: z.array(modelId).max(16).default([]),
    retry: z
      .object({
        /** Tries per target, the first included. */
        attempts: z.int().min(1).max(10).default(1),
        base_delay_ms: z.int().min(0).max(60_000).default(50),
        max_delay_ms: z.int().min(0).max(300_000).default(2000),
      })
      .strict()
      .default({ attempts: 1, base_delay_ms: 50, max_delay_ms: 2000 }),
    breaker: z
      .object({
        /** Opens after this many failures in a row... */
        failures: z.int().min(1).max(10_000).optional(),
        /** ...or when this share of requests failed within `window_ms` (with at least `min_requests`). */
        failure_rate: z.number().gt(0).max(1).optional(),
        window_ms: z.int().min(100).max(3_600_000).default(10_000),
        min_requests: z.int().min(1).max(1_000_000).default(10),
        /** How long it stays open before one probe request is let through. */
        half_open_after_ms: z.int().min(1).max(3_600_000).default(5000),
      })
      .strict()
      .refine((value) => (value.failures === undefined) !== (value.failure_rate === undefined), {
        error: "give either 'failures' or 'failure_rate'",
      })
      .optional(),
    timeout_ms: z
      .object({
        /** From sending a request to a target to its first token (its whole answer for non-generation tasks). */
        first_token: z.int().min(1).max(3_600_000).optional(),
        /** The whole request, across every target tried. */
        total: z.int().min(1).max(3_600_000).optional(),
      })
      .strict()
      .default({}),
    /** Requests one target of this route serves at once, and how many more may wait (bulkhead). */
    max_concurrent: z.int().min(1).max(100_000).optional(),
    max_queue: z.int().min(0).max(100_000).default(0),
  })
  .strict();

/** The response and embedding cache (off when absent). */
const cacheSchema = z
  .object({
    store: z.enum(["memory", "sqlite", "redis"]),
    /** The SQLite file (`store: sqlite`), relative to the config file. */
    path: z.string().min(1).default("./infergate-cache.db"),
    redis_url: z.url({ protocol: /^rediss?$/ }).default("redis://127.0.0.1:6379"),
    /** Env var holding the Redis URL instead (one with a password stays out of the config file). */
    redis_url_env: z.string().min(1).optional(),
    /** Prefix of every Redis key, so several deployments can share one Redis. */
    redis_prefix: z.string().min(1).max(64).default("infergate:cache:"),
    /** The memory store's bound: least recently used entries are evicted past it. */
    max_bytes: z
      .int()
      .min(1024)
      .max(2 ** 40)
      .default(64 * 1024 * 1024),
    ttl_s: z.int().min(1).max(31_536_000).default(3600),
    /** How often expired entries are removed (and the SQLite file vacuumed). */
    wipe_interval_s: z.int().min(1).max(86_400).default(600),
    /** Env var with sealing keys, `id1:BASE64KEY,id2:BASE64KEY`, newest last; required for sqlite and redis. */
    keys_env: z.string().min(1).default("INFERGATE_CACHE_KEYS"),
    /** A file with the same content, instead of the env var. */
    keys_file: z.string().min(1).optional(),
    responses: z.boolean().default(true),
    embeddings: z.boolean().default(true),
    /** Cache only answers that repeat: temperature 0 or a fixed seed. */
    deterministic_only: z.boolean().default(true),
    /** A store call slower than this is abandoned and the request served without the cache. */
    timeout_ms: z.int().min(1).max(60_000).default(100),
    /** The store's circuit breaker: after this many failures in a row, requests bypass it ... */
    breaker_failures: z.int().min(1).max(10_000).default(3),
    /** ... until a probe after this long succeeds. */
    breaker_half_open_after_ms: z.int().min(1).max(3_600_000).default(2000),
    /** Opt-in: answers for prompts similar enough (cosine of their embeddings) to a cached one. */
    semantic: z
      .object({
        embedding_model: modelId,
        min_similarity: z.number().min(0).max(1).default(0.95),
        /** The models (ids) whose generations it applies to. */
        models: z.array(modelId).min(1),
        /** The most prompts remembered per model. */
        max_entries: z.int().min(1).max(1_000_000).default(10_000),
      })
      .strict()
      .optional(),
  })
  .strict();

/** What one API key may spend per minute. */
const keyLimitsSchema = z
  .object({
    requests_per_min: z.int().min(1).max(100_000_000).optional(),
    tokens_per_min: z.int().min(1).max(1_000_000_000_000).optional(),
  })
  .strict()
  .refine((limits) => limits.requests_per_min !== undefined || limits.tokens_per_min !== undefined, {
    message: "give requests_per_min, tokens_per_min or both",
  });

/** Per-key rate limits, counted in `shared_state`'s Redis when there is one (see docs/config.md#rate_limits). */
const rateLimitsSchema = z
  .object({
    /** Every key's limits, unless `keys` names it. */
    default: keyLimitsSchema.optional(),
    /** Limits by key fingerprint: the first 16 or more hex digits of the SHA-256 of the key (never the key). */
    keys: z
      .record(
        z.string().regex(/^[0-9a-fA-F]{16,64}$/, "a key fingerprint: 16-64 hex digits of its SHA-256"),
        keyLimitsSchema,
      )
      .default({}),
  })
  .strict();

/**
 * The Redis that holds what replicas share: rate-limit windows and circuit breakers (see docs/config.md#shared_state).
 * Without it each gateway keeps its own.
 */
const sharedStateSchema = z
  .object({
    redis_url: z.url({ protocol: /^rediss?$/ }).optional(),
    /** Env var holding the URL instead (one with a password stays out of the config file). */
    redis_url_env: z.string().min(1).optional(),
    /** The prefix of every key written there, so several deployments can share one Redis. */
    redis_prefix: z.string().min(1).max(64).default("infergate:"),
  })
  .strict()
  .refine((value) => (value.redis_url === undefined) !== (value.redis_url_env === undefined), {
    error: "give either 'redis_url' or 'redis_url_env'",
  });

/** The dashboard and the run store behind it (history of every compare and bench). */
const uiSchema = z
  .object({
    /** Where runs are stored (`runs.sqlite`); default `$XDG_STATE_HOME/infergate`, else `~/.local/state/infergate`. */
    data_dir: z.string().min(1).optional(),
    /** Runs kept: the newest `max_runs`, none older than `max_age_days`. */
    retention: z
      .object({
        max_runs: z.int().min(1).max(100_000).default(200),
        max_age_days: z.number().positive().max(36_500).default(90),
      })
      .strict()
      .default({ max_runs: 200, max_age_days: 90 }),
  })
  .strict();

export const configSchema = z
  .object({
    models: z.array(modelConfigSchema).min(1),
    server: serverSchema.default(serverSchema.parse({})),
    /** Public model names served by other models (A/B splits, specialists, fallbacks). */
    routes: z.array(routeSchema).max(256).default([]),
    cache: cacheSchema.optional(),
    rate_limits: rateLimitsSchema.optional(),
    shared_state: sharedStateSchema.optional(),
    ui: uiSchema.default(uiSchema.parse({})),
    /** Which model a command uses for each task when `--model` is not given. */
    defaults: z.partialRecord(z.enum(TASKS), modelId).default({}),
  })
  .strict();

export type RawConfig = z.input<typeof configSchema>;
export type ModelConfig = z.output<typeof modelConfigSchema>;
export type LlamaCppModelConfig = Extract<ModelConfig, { engine: "llamacpp" }>;
export type OnnxModelConfig = Extract<ModelConfig, { engine: "onnx" }>;
export type OpenAiModelConfig = Extract<ModelConfig, { engine: "openai" }>;
export type GeminiModelConfig = Extract<ModelConfig, { engine: "gemini" }>;
export type EngineName = ModelConfig["engine"];
export type ServerConfig = z.output<typeof serverSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type CacheConfig = z.output<typeof cacheSchema>;
export type RateLimitsConfig = z.output<typeof rateLimitsSchema>;
export type SharedStateConfig = z.output<typeof sharedStateSchema>;
export type UiConfig = z.output<typeof uiSchema>;
export type SpecialistConfig = z.output<typeof specialistSchema>;
