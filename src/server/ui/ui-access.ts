import type { IncomingHttpHeaders } from "node:http";
import { ForbiddenError, UnauthorizedError } from "../../core/errors.js";
import { type ApiKeys, presentedKey } from "../api-keys.js";

/**
 * Who may use the dashboard and its API. A gateway bound to loopback serves them to anyone who can reach it (only
 * this machine); one reachable from other machines, to admin keys only (`server.admin_keys_env`): no key or an
 * unknown one is a 401, a client's API key a 403. The key comes as `Authorization: Bearer`, or as `?key=` where a
 * browser cannot set headers (EventSource).
 */
export class UiAccess {
  constructor(
    private readonly loopback: boolean,
    private readonly keys: ApiKeys,
    private readonly adminKeys: ApiKeys,
    private readonly adminKeysEnv: string,
  ) {}

  check(headers: IncomingHttpHeaders, query: URLSearchParams): void {
    if (this.loopback) return;
    if (!this.adminKeys.enabled)
      throw new ForbiddenError(
        `the dashboard is off on a gateway reachable from other machines: set admin keys in ${this.adminKeysEnv}`,
      );
    const key = presentedKey(headers, query);
    if (this.adminKeys.accepts(key)) return;
    if (this.keys.accepts(key))
      throw new ForbiddenError("the dashboard needs an admin key, not a client key");
    throw new UnauthorizedError();
  }
}
