import { InvalidRequestError, ModelNotFoundError } from "../core/errors.js";
import type { Task } from "../core/types.js";
import type { Exchange } from "./exchange.js";
import type { GatewayContext } from "./gateway-context.js";
import { sendJson } from "./http-io.js";

/** The models a client can name, as OpenAI's and Gemini's model-listing endpoints describe them. */

export function handleListModels(exchange: Exchange, context: GatewayContext): Promise<void> {
  sendJson(exchange.res, 200, { object: "list", data: context.models.ids().map(openAiModel) });
  return Promise.resolve();
}

export function handleGetModel(exchange: Exchange, context: GatewayContext): Promise<void> {
  sendJson(exchange.res, 200, openAiModel(entryFor(exchange, context).id));
  return Promise.resolve();
}

function openAiModel(id: string) {
  return { id, object: "model", created: 0, owned_by: "infergate" };
}

/** Gemini's page size when the client names none, and the most it may ask for (as Google's API). */
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

export function handleGeminiListModels(exchange: Exchange, context: GatewayContext): Promise<void> {
  const size = Number(exchange.query.get("pageSize") ?? DEFAULT_PAGE_SIZE);
  if (!Number.isInteger(size) || size < 1)
    throw new InvalidRequestError("pageSize must be a positive integer", "pageSize");
  const token = exchange.query.get("pageToken");
  // The token is the offset of the page's first model, as the previous page handed it out.
  const start = token ? Number(Buffer.from(token, "base64url").toString("utf8")) : 0;
  if (!Number.isInteger(start) || start < 0)
    throw new InvalidRequestError("pageToken is not one this server issued", "pageToken");
  const catalog = context.models.catalog();
  const end = start + Math.min(size, MAX_PAGE_SIZE);
  sendJson(exchange.res, 200, {
    models: catalog.slice(start, end).map((entry) => geminiModel(entry, context)),
    ...(end < catalog.length && { nextPageToken: Buffer.from(String(end)).toString("base64url") }),
  });
  return Promise.resolve();
}

export function handleGeminiGetModel(exchange: Exchange, context: GatewayContext): Promise<void> {
  sendJson(exchange.res, 200, geminiModel(entryFor(exchange, context), context));
  return Promise.resolve();
}

/** `/v1beta/models/{model}` for GET: the rest of the path is the id (which may hold a `:precision`). */
export function matchGeminiModelPath(path: string): Record<string, string> | undefined {
  const prefix = "/v1beta/models/";
  if (!path.startsWith(prefix) || path.length === prefix.length) return undefined;
  return { model: decodeURIComponent(path.slice(prefix.length)) };
}

/** `/v1/models/{model}`. */
export function matchOpenAiModelPath(path: string): Record<string, string> | undefined {
  const prefix = "/v1/models/";
  if (!path.startsWith(prefix) || path.length === prefix.length) return undefined;
  return { model: decodeURIComponent(path.slice(prefix.length)) };
}

type Entry = ReturnType<GatewayContext["models"]["catalog"]>[number];

function entryFor(exchange: Exchange, context: GatewayContext): Entry {
  const id = (exchange.params.model ?? "").replace(/^models\//, "");
  const catalog = context.models.catalog();
  const entry = catalog.find((candidate) => candidate.id === id);
  if (!entry)
    throw new ModelNotFoundError(
      id,
      catalog.map((candidate) => candidate.id),
    );
  return entry;
}

const GEMINI_METHODS: Record<Task, string[]> = {
  generate: ["generateContent", "streamGenerateContent"],
  embed: ["embedContent", "batchEmbedContents"],
  classify: [],
  tag: [],
};

/** What a model answers: tokens are counted by a local LM, or asked of a Gemini upstream. */
function methodsOf(entry: Entry): string[] {
  const methods = GEMINI_METHODS[entry.task];
  return entry.countsTokens ? [...methods, "countTokens"] : methods;
}

function geminiModel(entry: Entry, context: GatewayContext) {
  return {
    name: `models/${entry.id}`,
    version: "infergate",
    displayName: entry.id,
    description: `${entry.task} model served by infergate`,
    ...(entry.contextSize !== undefined && {
      inputTokenLimit: entry.contextSize,
      outputTokenLimit: Math.min(entry.contextSize, context.limits.max_tokens),
    }),
    supportedGenerationMethods: methodsOf(entry),
  };
}
