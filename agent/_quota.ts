/**
 * The quota of mutating calls: one token bucket per caller (token, or
 * address of an anonymous caller) and endpoint. Charged once a request is
 * known to be new, so replays of stored results cost nothing; the response
 * carries the `RateLimit` and `RateLimit-Policy` headers (on a replay, of the
 * bucket it left untouched), and a refusal is 429 RATE_LIMITED with
 * `Retry-After`.
 *
 * @module
 */
import type { Context } from "hono";
import type { AgentEnv } from "./_env.ts";
import { AgentError } from "./_errors.ts";
import type { RateLimiter } from "./_rate_limit.ts";

export class MutationQuota {
  #limiter: RateLimiter;

  constructor(limiter: RateLimiter) {
    this.#limiter = limiter;
  }

  /** Takes one call of the caller's quota for the route `endpoint`; throws RATE_LIMITED when it is spent. */
  charge(c: Context<AgentEnv>, endpoint: string): void {
    const decision = this.#limiter.take(`${c.get("caller").key} ${endpoint}`);
    if (!decision.allowed) {
      throw new AgentError(
        "RATE_LIMITED",
        `Rate limit of ${c.req.method} ${endpoint} reached; retry in ${decision.retryAfterSeconds} s`,
        { headers: decision.headers },
      );
    }
    for (const [name, value] of Object.entries(decision.headers)) c.header(name, value);
  }

  /** Sets the headers of the caller's quota for `endpoint` without taking from it: a replay costs nothing. */
  describe(c: Context<AgentEnv>, endpoint: string): void {
    const decision = this.#limiter.peek(`${c.get("caller").key} ${endpoint}`);
    for (const [name, value] of Object.entries(decision.headers)) c.header(name, value);
  }
}
