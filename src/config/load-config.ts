import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../core/errors.js";
import type { Precision, Task } from "../core/types.js";
import {
  type CacheConfig,
  configSchema,
  type GeminiModelConfig,
  type ModelConfig,
  type OpenAiModelConfig,
  type RateLimitsConfig,
  type RouteConfig,
  type ServerConfig,
  type SharedStateConfig,
  type UiConfig,
} from "./schema.js";

type LocalModelConfig = Extract<ModelConfig, { variants: unknown }>;

/** A model as the rest of the program sees it: local variant paths absolute, a default precision always set. */
export type ModelSpec =
  | (LocalModelConfig & { default_precision: Precision })
  | OpenAiModelConfig
  | GeminiModelConfig;

export interface InfergateConfig {
  /** Where the config came from, for messages. */
  source: string;
  models: readonly ModelSpec[];
  defaults: Partial<Record<Task, string>>;
  server: ServerConfig;
  routes: readonly RouteConfig[];
  /** Paths absolute. */
  cache?: CacheConfig;
  rate_limits?: RateLimitsConfig;
  shared_state?: SharedStateConfig;
  /** `data_dir` absolute when given. */
  ui: UiConfig;
}

/** The config that registers the bundled models; used when no `--config` is given. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL("../../config/default.yaml", import.meta.url));

export async function loadConfig(path: string = DEFAULT_CONFIG_PATH): Promise<InfergateConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(
      `cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    if (error instanceof YAMLParseError)
      throw new ConfigError(`config ${path}: invalid YAML: ${error.message}`);
    throw error;
  }
  return parseConfig(raw, dirname(resolve(path)), path);
}

/** Validates a parsed config object; relative model paths resolve against `baseDir`. */
export function parseConfig(raw: unknown, baseDir: string, source: string): InfergateConfig {
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) throw configError(source, parsed.error.issues, raw);
  const problems: string[] = [];
  const seen = new Set<string>();
  const models = parsed.data.models.map((model, index): ModelSpec => {
    const at = `models[${index}] (${model.id})`;
    if (seen.has(model.id)) problems.push(`${at}.id: duplicate model id '${model.id}'`);
    seen.add(model.id);
    if (!("variants" in model)) return model;
    const variants: Record<string, string> = {};
    for (const [precision, path] of Object.entries(model.variants)) {
      if (path === undefined) continue;
      const absolute = resolve(baseDir, path);
      if (!existsSync(absolute))
        problems.push(`${at}.variants.${precision}: model file not found: ${absolute}`);
      variants[precision] = absolute;
    }
    const precisions = Object.keys(variants);
    if (precisions.length === 0) problems.push(`${at}.variants: at least one variant is required`);
    const defaultPrecision = model.default_precision ?? precisions[0];
    if (model.default_precision && !(model.default_precision in variants)) {
      problems.push(`${at}.default_precision: '${model.default_precision}' is not among the variants`);
    }
    const template = "chat_template" in model ? model.chat_template : undefined;
    if (template !== undefined && template !== "auto" && template !== "transcript") {
      const file = resolve(baseDir, template);
      if (!existsSync(file)) problems.push(`${at}.chat_template: template file not found: ${file}`);
      return { ...model, variants, default_precision: defaultPrecision, chat_template: file } as ModelSpec;
    }
    return { ...model, variants, default_precision: defaultPrecision } as ModelSpec;
  });
  for (const [task, id] of Object.entries(parsed.data.defaults)) {
    if (!seen.has(id)) problems.push(`defaults.${task}: unknown model '${id}'`);
  }
  problems.push(...routeProblems(parsed.data.routes, models));
  const { defaults, server, routes, cache, rate_limits, shared_state, ui } = parsed.data;
  const semantic = cache?.semantic;
  if (semantic) {
    const embedder = models.find((model) => model.id === semantic.embedding_model);
    if (!embedder)
      problems.push(`cache.semantic.embedding_model: unknown model '${semantic.embedding_model}'`);
    semantic.models.forEach((id, i) => {
      if (!seen.has(id)) problems.push(`cache.semantic.models[${i}]: unknown model '${id}'`);
    });
  }
  if (problems.length > 0) throw new ConfigError(`config ${source}: ${problems.join("; ")}`, problems[0]);
  return {
    source,
    models,
    defaults,
    server,
    routes,
    ui: ui.data_dir === undefined ? ui : { ...ui, data_dir: resolve(baseDir, ui.data_dir) },
    ...(rate_limits && { rate_limits }),
    ...(shared_state && { shared_state }),
    ...(cache && {
      cache: {
        ...cache,
        path: resolve(baseDir, cache.path),
        ...(cache.keys_file && { keys_file: resolve(baseDir, cache.keys_file) }),
      },
    }),
  };
}

/** A route may only name declared models of one task, and may not hide a model's own name. */
function routeProblems(routes: readonly RouteConfig[], models: readonly ModelSpec[]): string[] {
  const problems: string[] = [];
  const byId = new Map(models.map((model) => [model.id, model]));
  const names = new Set<string>();
  routes.forEach((route, index) => {
    const at = `routes[${index}] (${route.name})`;
    if (byId.has(route.name)) problems.push(`${at}.name: '${route.name}' is already a model id`);
    if (names.has(route.name)) problems.push(`${at}.name: duplicate route name '${route.name}'`);
    names.add(route.name);
    const served = [
      ...route.targets.map((target, i) => [`targets[${i}].model`, target.model] as const),
      ...route.specialists.map((specialist, i) => [`specialists[${i}].model`, specialist.model] as const),
      ...route.fallback.map((id, i) => [`fallback[${i}]`, id] as const),
    ];
    const task = byId.get(route.targets[0]?.model ?? "")?.task;
    for (const [key, id] of served) {
      const model = byId.get(id);
      if (!model) problems.push(`${at}.${key}: unknown model '${id}'`);
      else if (task && model.task !== task)
        problems.push(`${at}.${key}: '${id}' is a ${model.task} model; this route serves ${task}`);
    }
    route.specialists.forEach((specialist, i) => {
      if (specialist.match !== undefined) {
        try {
          new RegExp(specialist.match, specialist.match_flags);
        } catch (error) {
          problems.push(`${at}.specialists[${i}].match: ${(error as Error).message}`);
        }
      }
      const classifier = specialist.classifier && byId.get(specialist.classifier.model);
      if (specialist.classifier && !classifier)
        problems.push(
          `${at}.specialists[${i}].classifier.model: unknown model '${specialist.classifier.model}'`,
        );
      else if (classifier && classifier.task !== "classify")
        problems.push(`${at}.specialists[${i}].classifier.model: '${classifier.id}' is not a classify model`);
    });
  });
  return problems;
}

function configError(source: string, issues: readonly z.core.$ZodIssue[], raw: unknown): ConfigError {
  const lines = issues.slice(0, 5).map((issue) => `${formatPath(issue.path, raw)}: ${issue.message}`);
  if (issues.length > 5) lines.push(`(${issues.length - 5} more)`);
  return new ConfigError(`config ${source}: ${lines.join("; ")}`, lines[0]);
}

/** `models[1] (lm-small).variants.q3` — the index and, where there is one, the model id or route name. */
function formatPath(path: readonly PropertyKey[], raw: unknown): string {
  let out = "";
  let node: unknown = raw;
  for (const key of path) {
    out += typeof key === "number" ? `[${key}]` : `${out ? "." : ""}${String(key)}`;
    node = node && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[key] : undefined;
    // A model says which it is by its id, a route by its name.
    const label =
      typeof key === "number" ? ((node as { id?: unknown; name?: unknown } | undefined) ?? {}) : {};
    if (typeof label.id === "string" || typeof label.name === "string") {
      out += ` (${String(label.id ?? label.name)})`;
    }
  }
  return out || "(root)";
}

export type LlamaCppModelSpec = Extract<ModelSpec, { engine: "llamacpp" }>;
export type OnnxModelSpec = Extract<ModelSpec, { engine: "onnx" }>;
export type OpenAiModelSpec = Extract<ModelSpec, { engine: "openai" }>;
export type GeminiModelSpec = Extract<ModelSpec, { engine: "gemini" }>;
