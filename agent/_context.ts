/**
 * The first middleware of every request: resolves the remote address and
 * whether the connection is TLS, picks up a valid `X-Request-Id`, and adds
 * the headers every response carries.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { REQUEST_ID_HEADER, REQUEST_ID_PATTERN } from "./api/headers.ts";
import type { AgentEnv } from "./_env.ts";

/** The adapter's address, or `"unknown"` when the app runs without one (tests). */
export function defaultRemoteAddress(c: Context<AgentEnv>): string {
  return c.env?.remoteAddress ?? "unknown";
}

/**
 * TLS as the adapter reports it. Only without an adapter is the URL scheme
 * used; `X-Forwarded-Proto` and the like are never trusted, since any
 * client can send them.
 */
function isSecure(c: Context<AgentEnv>): boolean {
  return c.env?.secure ?? new URL(c.req.url).protocol === "https:";
}

export function requestContext(remoteAddress: (c: Context<AgentEnv>) => string): MiddlewareHandler<AgentEnv> {
  return async function requestContext(c, next) {
    c.set("remote", remoteAddress(c));
    c.set("secure", isSecure(c));
    const requestId = c.req.header(REQUEST_ID_HEADER);
    c.set("requestId", requestId !== undefined && REQUEST_ID_PATTERN.test(requestId) ? requestId : null);
    await next();
    c.res.headers.set("X-Content-Type-Options", "nosniff");
    if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
  };
}
