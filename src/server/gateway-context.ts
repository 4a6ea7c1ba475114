import type { ServerConfig } from "../config/schema.js";
import type { ServedModels } from "./served-models.js";

/** What route handlers share: the served models and the request bounds. */
export interface GatewayContext {
  models: ServedModels;
  limits: ServerConfig;
}
