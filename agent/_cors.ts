/**
 * CORS for an allow-list of origins (off unless configured). A listed
 * origin gets `Access-Control-Allow-Origin` on every response and its
 * preflights answered with the path's methods; any other origin gets no
 * CORS header, so browsers keep their same-origin rule. Credentials are not
 * allowed: tokens travel in `Authorization`, never in cookies.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ACTOR_HEADER, REPLAYED_HEADER, REQUEST_ID_HEADER } from "./api/headers.ts";
import type { AgentEnv } from "./_env.ts";

const ALLOW_HEADERS = ["Authorization", "Content-Type", ACTOR_HEADER, REQUEST_ID_HEADER].join(", ");
const EXPOSE_HEADERS = ["RateLimit", "RateLimit-Policy", "Retry-After", "WWW-Authenticate", REPLAYED_HEADER]
  .join(", ");
const PREFLIGHT_MAX_AGE_SECONDS = "600";

/**
 * @param origins Allowed origins, e.g. `https://console.example.com`.
 * @param methodsOf The methods a path supports; undefined for an unknown path.
 */
export function cors(
  origins: ReadonlySet<string>,
  methodsOf: (path: string) => readonly string[] | undefined,
): MiddlewareHandler<AgentEnv> {
  return async function cors(c, next) {
    const origin = c.req.header("Origin");
    if (origin === undefined || !origins.has(origin)) return await next();
    const methods = methodsOf(c.req.path);
    if (
      c.req.method === "OPTIONS" && methods !== undefined && c.req.header("Access-Control-Request-Method")
    ) {
      return c.body(null, 204, {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": methods.join(", "),
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE_SECONDS,
        Vary: "Origin",
      });
    }
    await next();
    c.res.headers.set("Access-Control-Allow-Origin", origin);
    c.res.headers.set("Access-Control-Expose-Headers", EXPOSE_HEADERS);
    c.res.headers.append("Vary", "Origin");
  };
}
