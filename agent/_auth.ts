/**
 * Authentication and roles. With tokens configured, a caller presents
 * `Authorization: Bearer <token>`; the token's role must reach the route's.
 * With none configured the agent is open: every caller is an anonymous
 * ADMIN, told apart by address (the adapters then bind to loopback only).
 *
 * Failed authentications are limited per address: past the limit the
 * answer is 429 instead of 401, so a flood of guesses is cut short and
 * costs a token holder at the same address nothing.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { ACTOR_HEADER, ACTOR_PATTERN } from "./api/headers.ts";
import { type Role, roleAtLeast } from "./api/roles.ts";
import type { AgentEnv, Caller } from "./_env.ts";
import { AgentError } from "./_errors.ts";
import type { RateLimiter } from "./_rate_limit.ts";
import { type TokenEntry, TokenVerifier } from "./tokens.ts";

const REALM = 'Bearer realm="hestiastore"';

export class Authenticator {
  #verifier: TokenVerifier | undefined;
  #failures: RateLimiter;

  /**
   * @param tokens The configured tokens; none makes the agent open.
   * @param failures Budget of failed authentications, keyed by address.
   * @throws {TypeError | Error} For a bad or duplicate token entry.
   */
  constructor(tokens: readonly TokenEntry[], failures: RateLimiter) {
    this.#verifier = tokens.length === 0 ? undefined : new TokenVerifier(tokens);
    this.#failures = failures;
  }

  /** No tokens are configured: every caller is an anonymous ADMIN. */
  get open(): boolean {
    return this.#verifier === undefined;
  }

  /** The caller of `c`, its actor still null (`requireRole` reads it); throws UNAUTHORIZED or RATE_LIMITED. */
  async identify(c: Context<AgentEnv>): Promise<Caller> {
    const remote = c.get("remote");
    if (this.#verifier === undefined) {
      return { tokenId: null, role: "ADMIN", console: false, actor: null, key: `addr:${remote}` };
    }
    const authorization = c.req.header("Authorization");
    const principal = await this.#verifier.verify(authorization);
    if (principal === undefined) {
      const decision = this.#failures.take(`addr:${remote}`);
      if (!decision.allowed) {
        throw new AgentError("RATE_LIMITED", "Too many failed authentications from this address", {
          headers: decision.headers,
        });
      }
      throw authorization === undefined
        ? new AgentError("UNAUTHORIZED", "A bearer token is required", {
          headers: { "WWW-Authenticate": REALM },
        })
        : new AgentError("UNAUTHORIZED", "The bearer token is not valid", {
          headers: { "WWW-Authenticate": `${REALM}, error="invalid_token"` },
        });
    }
    return {
      tokenId: principal.tokenId,
      role: principal.role,
      console: principal.console,
      actor: null,
      key: `token:${principal.tokenId}`,
    };
  }
}

/** The actor header of a console request, validated; null when absent. */
function actorOf(c: Context<AgentEnv>): string | null {
  const actor = c.req.header(ACTOR_HEADER);
  if (actor === undefined) return null;
  if (!ACTOR_PATTERN.test(actor)) {
    throw new AgentError(
      "INVALID_REQUEST",
      `Header ${ACTOR_HEADER} must be 1-128 printable ASCII characters, not starting or ending with a space`,
    );
  }
  return actor;
}

/** Authenticates the caller and requires at least `role`, else FORBIDDEN. */
export function requireRole(role: Role, authenticator: Authenticator): MiddlewareHandler<AgentEnv> {
  return async function requireRole(c, next) {
    const caller = await authenticator.identify(c);
    // Set before the actor is checked, so that the audit names the token of a request refused for its actor.
    c.set("caller", caller);
    if (caller.console) caller.actor = actorOf(c);
    if (!roleAtLeast(caller.role, role)) {
      throw new AgentError(
        "FORBIDDEN",
        `Token '${caller.tokenId}' has role ${caller.role}; ${c.req.method} ${c.req.path} needs ${role}`,
      );
    }
    await next();
  };
}
