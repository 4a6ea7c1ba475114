/**
 * Every failure a caller can cause or meet is an `InfergateError` with a stable `code` and the HTTP status it
 * maps to. The CLI prints `message`; the server turns the same object into an OpenAI- or Gemini-shaped body.
 *
 * @example
 * throw new ModelNotFoundError("lm-huge", ["lm-base", "lm-small"]);
 */
export class InfergateError extends Error {
  override readonly name: string = "InfergateError";

  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** The request or config field at fault, when there is one (OpenAI's `param`). */
    readonly param?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class ConfigError extends InfergateError {
  override readonly name = "ConfigError";
  constructor(message: string, param?: string) {
    super("IG_CONFIG_INVALID", 500, message, param);
  }
}

export class InvalidRequestError extends InfergateError {
  override readonly name = "InvalidRequestError";
  constructor(message: string, param?: string) {
    super("IG_INVALID_REQUEST", 400, message, param);
  }
}

export class ModelNotFoundError extends InfergateError {
  override readonly name = "ModelNotFoundError";
  constructor(id: string, known: readonly string[]) {
    super("IG_MODEL_NOT_FOUND", 404, `unknown model '${id}' (known: ${known.join(", ") || "none"})`, "model");
  }
}

export class UnknownPrecisionError extends InfergateError {
  override readonly name = "UnknownPrecisionError";
  constructor(modelId: string, precision: string, known: readonly string[]) {
    super(
      "IG_UNKNOWN_PRECISION",
      400,
      known.length === 0
        ? `model '${modelId}' is remote and has no precision variants`
        : `model '${modelId}' has no '${precision}' variant (variants: ${known.join(", ")})`,
      "model",
    );
  }
}

export class UnsupportedTaskError extends InfergateError {
  override readonly name = "UnsupportedTaskError";
  constructor(modelId: string, task: string) {
    super("IG_UNSUPPORTED_TASK", 400, `model '${modelId}' cannot ${task}`, "model");
  }
}

export class PromptTooLongError extends InfergateError {
  override readonly name = "PromptTooLongError";
  constructor(promptTokens: number, maxTokens: number, contextSize: number) {
    super(
      "IG_PROMPT_TOO_LONG",
      400,
      `prompt (${promptTokens} tokens) plus max_tokens (${maxTokens}) exceeds the context size (${contextSize} tokens)`,
      "prompt",
    );
  }
}

export class ModelLoadError extends InfergateError {
  override readonly name = "ModelLoadError";
  constructor(source: string, reason: string, options?: ErrorOptions) {
    super("IG_MODEL_LOAD_FAILED", 500, `cannot load model file ${source}: ${reason}`, undefined, options);
  }
}

export class RequestAbortedError extends InfergateError {
  override readonly name = "RequestAbortedError";
  constructor() {
    super("IG_ABORTED", 499, "request aborted");
  }
}

export class UnauthorizedError extends InfergateError {
  override readonly name = "UnauthorizedError";
  constructor() {
    super("IG_UNAUTHORIZED", 401, "missing or invalid API key");
  }
}

export class ForbiddenError extends InfergateError {
  override readonly name = "ForbiddenError";
  constructor(message: string) {
    super("IG_FORBIDDEN", 403, message);
  }
}

export class PayloadTooLargeError extends InfergateError {
  override readonly name = "PayloadTooLargeError";
  constructor(limit: number) {
    super("IG_PAYLOAD_TOO_LARGE", 413, `request body is larger than ${limit} bytes`);
  }
}

export class ResponseNotFoundError extends InfergateError {
  override readonly name = "ResponseNotFoundError";
  constructor(id: string) {
    super("IG_RESPONSE_NOT_FOUND", 404, `no stored response with id '${id}'`, "response_id");
  }
}

export class RouteNotFoundError extends InfergateError {
  override readonly name = "RouteNotFoundError";
  constructor(method: string, path: string) {
    super("IG_ROUTE_NOT_FOUND", 404, `no route for ${method} ${path}`);
  }
}

export class OverloadedError extends InfergateError {
  override readonly name = "OverloadedError";
  constructor(
    modelId: string,
    /** Seconds a client should wait before trying again. */
    readonly retryAfterSeconds: number,
  ) {
    super("IG_OVERLOADED", 429, `model '${modelId}' has too many requests waiting; retry later`);
  }
}

export class RateLimitedError extends InfergateError {
  override readonly name = "RateLimitedError";
  constructor(
    limit: "requests" | "tokens",
    /** Seconds until the key's window resets. */
    readonly retryAfterSeconds: number,
    /** The key's standing, as `x-ratelimit-*` headers. */
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super(
      "IG_RATE_LIMITED",
      429,
      `this API key has used its ${limit} for this minute; retry in ${retryAfterSeconds} s`,
    );
  }
}

export class RequestTimeoutError extends InfergateError {
  override readonly name = "RequestTimeoutError";
  constructor(timeoutMs: number) {
    super("IG_TIMEOUT", 504, `request did not finish within ${timeoutMs} ms`);
  }
}

export class UnavailableError extends InfergateError {
  override readonly name = "UnavailableError";
  constructor(message: string) {
    super("IG_UNAVAILABLE", 503, message);
  }
}

/** The remote server behind a model failed or refused; `status` is what the gateway answers with. */
export class UpstreamError extends InfergateError {
  override readonly name = "UpstreamError";
  constructor(
    code:
      | "IG_UPSTREAM_REJECTED"
      | "IG_UPSTREAM_RATE_LIMITED"
      | "IG_UPSTREAM_ERROR"
      | "IG_UPSTREAM_UNAVAILABLE",
    status: number,
    message: string,
    /** The upstream's own HTTP status, when it answered. */
    readonly upstreamStatus?: number,
  ) {
    super(code, status, message);
  }
}

/** A route's target sent no first token (no answer, for other tasks) within the route's `first_token` timeout. */
export class TargetTimeoutError extends InfergateError {
  override readonly name = "TargetTimeoutError";
  constructor(target: string, timeoutMs: number) {
    super("IG_TARGET_TIMEOUT", 504, `model '${target}' sent no first token within ${timeoutMs} ms`);
  }
}

/** A route's target failed too often recently; its circuit breaker refuses requests until a probe succeeds. */
export class CircuitOpenError extends InfergateError {
  override readonly name = "CircuitOpenError";
  constructor(target: string) {
    super("IG_CIRCUIT_OPEN", 503, `model '${target}' is failing; its circuit breaker is open`);
  }
}

/** A route's target has `max_concurrent` requests running and its queue is full. */
export class TargetBusyError extends InfergateError {
  override readonly name = "TargetBusyError";
  constructor(target: string) {
    super("IG_TARGET_BUSY", 429, `model '${target}' is at its concurrency limit for this route`);
  }
}
