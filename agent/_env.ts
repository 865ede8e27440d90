/**
 * The Hono environment of the agent: what an adapter passes in with each
 * request, and the values the middleware chain leaves on the context.
 *
 * @module
 */
import type { Role } from "./api/roles.ts";
import type { ErrorCode } from "./api/errors.ts";
import type { AgentError } from "./_errors.ts";

/**
 * What a server adapter knows about the connection, passed as the second
 * argument of `app.fetch`. Without it (e.g. `app.request()` in tests) the
 * remote address is `"unknown"` and TLS is read from the URL scheme.
 */
export interface AgentBindings {
  /** The peer's IP address. */
  remoteAddress?: string;
  /** The connection is TLS. Set by the adapter from how it listens, never from a header. */
  secure?: boolean;
}

/** Who is calling, once authenticated. */
export interface Caller {
  /** Token id; null for an anonymous caller (no tokens configured). */
  tokenId: string | null;
  role: Role;
  /** The token belongs to a trusted console. */
  console: boolean;
  /** Whom a console token acts for (the actor header); null otherwise. */
  actor: string | null;
  /** Partition of rate limits and stored action results: the token, or the address of an anonymous caller. */
  key: string;
}

/** The audit state of one mutating request, from `_audit_trail.ts`. */
export interface Trail {
  /** The body as read, at most the body limit. */
  body: Uint8Array;
  /** Why the body cannot be used (too large, or reading it failed); raised when a handler parses it. */
  bodyError?: AgentError;
  /** Writes the intent record; rejects with AUDIT_UNAVAILABLE if it cannot. Call right before executing. */
  intent(): Promise<void>;
  /** Overrides the outcome derived from the status (REPLAYED, or REJECTED after the intent). */
  outcome?: "REPLAYED" | "REJECTED";
  /** Error code of a response built without throwing (a failed action). */
  code?: ErrorCode;
}

export interface AgentVariables {
  remote: string;
  secure: boolean;
  /** The action's requestId once parsed, else a valid `X-Request-Id`, else null; echoed in error bodies. */
  requestId: string | null;
  caller: Caller;
  trail: Trail;
  /** Code of the error response the error handler built. */
  errorCode: ErrorCode;
}

export type AgentEnv = { Bindings: AgentBindings; Variables: AgentVariables };
