import type { IncomingHttpHeaders } from "node:http";
import type { CacheOutcome } from "../cache/model-cache.js";
import type { Task } from "../core/types.js";
import type { LoadedModel } from "../engines/engine.js";

/** What serves one request: a model, or a route standing in for the models behind it. */
export type ServingModel = Pick<
  LoadedModel,
  | "runtime"
  | "generate"
  | "tokenize"
  | "countPromptTokens"
  | "countTokensUpstream"
  | "embed"
  | "classify"
  | "tag"
>;

/** A model (or route) admitted for one request; `release` must be called when the request is done. */
export interface Admitted {
  readonly model: ServingModel;
  /** `id:precision` (`id` for a remote model) of the model that serves, as metrics and responses name it. */
  readonly name: string;
  release(): void;
}

/** Where a route gets the models it sends requests to. */
export interface TargetSource {
  admitModel(id: string, task: Task, input?: RoutingInput): Promise<Admitted>;
}

/** What a request tells the router about itself, and where the router writes down what it decided. */
export interface RoutingInput {
  headers: IncomingHttpHeaders;
  /** OpenAI's `user` field, for `sticky_key: field:user`. */
  user?: string | null | undefined;
  record: RouteRecord;
  /** Hears how the cache took part, when a cache is configured. */
  onCache?: (outcome: CacheOutcome) => void;
  /** Hears which target of a route served, once one does (before any byte goes to the client). */
  onServed?: (model: string) => void;
}

export interface RouteRecord {
  /** `id:precision` of the model that served (the route's name until a target answered). */
  model: string;
  /** The route name the client asked for, when it asked for a route. */
  publicModel?: string;
  /** The A/B arm a route assigned. */
  arm?: string;
}
