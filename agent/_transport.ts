/**
 * `requireTls`: refuses a request that did not arrive over TLS, before its
 * token is even looked at (the token has crossed the network in the clear
 * already; the caller learns to switch to HTTPS).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AgentEnv } from "./_env.ts";
import { AgentError } from "./_errors.ts";

export function requireTls(): MiddlewareHandler<AgentEnv> {
  return async function requireTls(c, next) {
    if (!c.get("secure")) throw new AgentError("TLS_REQUIRED", "HTTPS is required");
    await next();
  };
}
