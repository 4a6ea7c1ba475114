import type { ErrorFormat } from "./error-body.js";
import type { Exchange } from "./exchange.js";
import type { GatewayContext } from "./gateway-context.js";
import { handleGemini, matchGeminiPath } from "./gemini/gemini-routes.js";
import {
  handleGeminiGetModel,
  handleGeminiListModels,
  handleGetModel,
  handleListModels,
  matchGeminiModelPath,
  matchOpenAiModelPath,
} from "./model-listing.js";
import { handleClassify, handleEmbeddings, handleTag } from "./openai/encoder-routes.js";
import { handleChatCompletions, handleCompletions } from "./openai/generation-routes.js";
import { handleGetResponse, handleResponses, matchResponsePath } from "./openai/responses-routes.js";
import {
  handleDiffRuns,
  handleGetRun,
  handleJobAction,
  handleListJobs,
  handleListRuns,
  handleLive,
  handleSubmitJob,
  handleUiModels,
  matchJobPath,
  matchRunPath,
} from "./ui/ui-api.js";
import { handleUiAsset, matchUiAsset } from "./ui/ui-page.js";

export interface Route {
  method: "GET" | "POST";
  /** The exact path, or for a pattern route its template (the metrics label, with `{action}` filled in). */
  path: string;
  /** A pattern route's matcher: its path parameters, or undefined when the path is not its. */
  match?: (path: string) => Record<string, string> | undefined;
  /** Whether a client API key is required (when the gateway has keys); the dashboard's routes check admin keys. */
  authenticated: boolean;
  errorFormat: ErrorFormat;
  handle(exchange: Exchange, context: GatewayContext): Promise<void>;
}

/** The model APIs. Operational routes (health, readiness, metrics) belong to the gateway itself. */
export const API_ROUTES: readonly Route[] = [
  {
    method: "POST",
    path: "/v1/chat/completions",
    authenticated: true,
    errorFormat: "openai",
    handle: handleChatCompletions,
  },
  {
    method: "POST",
    path: "/v1/completions",
    authenticated: true,
    errorFormat: "openai",
    handle: handleCompletions,
  },
  {
    method: "POST",
    path: "/v1/responses",
    authenticated: true,
    errorFormat: "openai",
    handle: handleResponses,
  },
  {
    method: "GET",
    path: "/v1/responses/{id}",
    match: matchResponsePath,
    authenticated: true,
    errorFormat: "openai",
    handle: handleGetResponse,
  },
  {
    method: "POST",
    path: "/v1/embeddings",
    authenticated: true,
    errorFormat: "openai",
    handle: handleEmbeddings,
  },
  {
    method: "POST",
    path: "/v1/classify",
    authenticated: true,
    errorFormat: "openai",
    handle: handleClassify,
  },
  {
    method: "POST",
    path: "/v1/tag",
    authenticated: true,
    errorFormat: "openai",
    handle: handleTag,
  },
  { method: "GET", path: "/v1/models", authenticated: true, errorFormat: "openai", handle: handleListModels },
  {
    method: "GET",
    path: "/v1/models/{model}",
    match: matchOpenAiModelPath,
    authenticated: true,
    errorFormat: "openai",
    handle: handleGetModel,
  },
  {
    method: "GET",
    path: "/v1beta/models",
    authenticated: true,
    errorFormat: "gemini",
    handle: handleGeminiListModels,
  },
  {
    method: "GET",
    path: "/v1beta/models/{model}",
    match: matchGeminiModelPath,
    authenticated: true,
    errorFormat: "gemini",
    handle: handleGeminiGetModel,
  },
  {
    method: "POST",
    path: "/v1beta/models/{model}:{action}",
    match: matchGeminiPath,
    authenticated: true,
    errorFormat: "gemini",
    handle: handleGemini,
  },
  {
    method: "GET",
    path: "/ui/api/runs",
    authenticated: false,
    errorFormat: "openai",
    handle: handleListRuns,
  },
  {
    method: "GET",
    path: "/ui/api/runs/{id}",
    match: matchRunPath,
    authenticated: false,
    errorFormat: "openai",
    handle: handleGetRun,
  },
  {
    method: "GET",
    path: "/ui/api/diff",
    authenticated: false,
    errorFormat: "openai",
    handle: handleDiffRuns,
  },
  { method: "GET", path: "/ui/api/live", authenticated: false, errorFormat: "openai", handle: handleLive },
  {
    method: "GET",
    path: "/ui",
    match: matchUiAsset,
    authenticated: false,
    errorFormat: "openai",
    handle: handleUiAsset,
  },
  {
    method: "GET",
    path: "/ui/api/jobs",
    authenticated: false,
    errorFormat: "openai",
    handle: handleListJobs,
  },
  {
    method: "POST",
    path: "/ui/api/jobs",
    authenticated: false,
    errorFormat: "openai",
    handle: handleSubmitJob,
  },
  {
    method: "GET",
    path: "/ui/api/jobs/{id}/{action}",
    match: matchJobPath,
    authenticated: false,
    errorFormat: "openai",
    handle: handleJobAction,
  },
  {
    method: "POST",
    path: "/ui/api/jobs/{id}/{action}",
    match: matchJobPath,
    authenticated: false,
    errorFormat: "openai",
    handle: handleJobAction,
  },
  {
    method: "GET",
    path: "/ui/api/models",
    authenticated: false,
    errorFormat: "openai",
    handle: handleUiModels,
  },
];
