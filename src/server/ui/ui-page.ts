import { readdirSync, readFileSync } from "node:fs";
import { sep } from "node:path";
import { RouteNotFoundError } from "../../core/errors.js";
import { chartJsBundlePath } from "../../ui/chart-bundle.js";
import type { Exchange } from "../exchange.js";
import type { GatewayContext } from "../gateway-context.js";

/** The page's sources (`src/ui/`, shipped with the package), from here in `src/` or in the compiled `dist/`. */
const UI_DIR = new URL("../../../src/ui/", import.meta.url);

const SCRIPT = "text/javascript; charset=utf-8";

/**
 * What `/ui` serves, read once: the page, its modules (every `.js` under `src/ui/`, at `/ui/PATH`), and Chart.js
 * from its own package (nothing from the network).
 */
const ASSETS: Record<string, { type: string; file: URL | string }> = {
  "/ui": { type: "text/html; charset=utf-8", file: new URL("index.html", UI_DIR) },
  ...Object.fromEntries(
    readdirSync(UI_DIR, { recursive: true, encoding: "utf8" })
      .filter((path) => path.endsWith(".js"))
      .map((path) => [`/ui/${path.split(sep).join("/")}`, { type: SCRIPT, file: new URL(path, UI_DIR) }]),
  ),
  "/ui/chart.js": { type: SCRIPT, file: chartJsBundlePath() },
};
const loaded = new Map<string, Buffer>();

/**
 * `GET /ui`, its modules and `/ui/chart.js`: the dashboard page. Its files carry no data (everything it shows comes
 * from the API, which checks the admin key), and a browser could not send the key with them: script tags carry
 * no header, and only the page's own URL carries `?key=`.
 */
export async function handleUiAsset(exchange: Exchange, _context: GatewayContext): Promise<void> {
  const path = exchange.params.asset ?? "";
  const asset = ASSETS[path];
  if (!asset) throw new RouteNotFoundError("GET", path);
  let body = loaded.get(path);
  if (!body) {
    body = readFileSync(asset.file);
    loaded.set(path, body);
  }
  exchange.res.writeHead(200, {
    "content-type": asset.type,
    "content-length": body.length,
    "cache-control": "no-cache",
    "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
    "x-content-type-options": "nosniff",
  });
  exchange.res.end(body);
}

/** `/ui` and its assets → `{asset: path}`. */
export function matchUiAsset(path: string): Record<string, string> | undefined {
  return path in ASSETS ? { asset: path } : undefined;
}
