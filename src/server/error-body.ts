import { InfergateError, OverloadedError, RateLimitedError } from "../core/errors.js";

export type ErrorFormat = "openai" | "gemini";

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** OpenAI's `code` values where ours has a well-known equivalent, so clients that branch on them keep working. */
const OPENAI_CODES: Record<string, string> = {
  IG_MODEL_NOT_FOUND: "model_not_found",
  IG_UNAUTHORIZED: "invalid_api_key",
  IG_PROMPT_TOO_LONG: "context_length_exceeded",
  IG_OVERLOADED: "rate_limit_exceeded",
  IG_RATE_LIMITED: "rate_limit_exceeded",
};

const GEMINI_STATUS: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  413: "INVALID_ARGUMENT",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** The one place errors become HTTP responses: OpenAI's `{error:{message,type,param,code}}` or Gemini's shape. */
export function errorResponse(error: unknown, format: ErrorFormat): ErrorResponse {
  const known =
    error instanceof InfergateError ? error : new InfergateError("IG_INTERNAL", 500, "internal server error");
  const headers: Record<string, string> = {};
  if (known instanceof OverloadedError) headers["retry-after"] = String(known.retryAfterSeconds);
  if (known instanceof RateLimitedError) {
    Object.assign(headers, known.headers);
    headers["retry-after"] = String(known.retryAfterSeconds);
  }
  if (format === "gemini") {
    return {
      status: known.status,
      headers,
      body: {
        error: {
          code: known.status,
          message: known.message,
          status: GEMINI_STATUS[known.status] ?? "UNKNOWN",
        },
      },
    };
  }
  return {
    status: known.status,
    headers,
    body: {
      error: {
        message: known.message,
        type: openAiType(known.status),
        param: known.param ?? null,
        code: OPENAI_CODES[known.code] ?? known.code,
      },
    },
  };
}

function openAiType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}
