/**
 * Every failure of the agent becomes one JSON body, `{code, message,
 * requestId, capturedAt}`, with the status of its code. Handlers and
 * middleware throw {@linkcode AgentError}; the handler from
 * {@linkcode createErrorHandler} turns it (or anything unexpected, as
 * INTERNAL_ERROR) into the response.
 *
 * @module
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ClosedError, ConflictError, StateError } from "../engine/mod.ts";
import type { ErrorCode, ErrorResponse } from "./api/errors.ts";
import type { AgentEnv } from "./_env.ts";

/** The status each error code is sent with (docs/agent.md, "Errors"). */
export const ERROR_STATUS: Readonly<Record<ErrorCode, ContentfulStatusCode>> = {
  INVALID_REQUEST: 400,
  CONFIG_KEY_NOT_SUPPORTED: 400,
  TLS_REQUIRED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INDEX_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_STATE: 409,
  REQUEST_ID_CONFLICT: 409,
  REVISION_CONFLICT: 409,
  REQUEST_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  AUDIT_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

/** Options of {@linkcode AgentError}. */
export interface AgentErrorOptions extends ErrorOptions {
  /** Response headers, e.g. `Allow`, `WWW-Authenticate`, `Retry-After`. */
  headers?: Record<string, string>;
  /** Fields added to the body after the four common ones. */
  fields?: Record<string, unknown>;
}

/** A failure with its error code; the status follows from the code. */
export class AgentError extends Error {
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;
  readonly fields: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: AgentErrorOptions = {}) {
    super(message, options);
    this.name = "AgentError";
    this.code = code;
    this.headers = options.headers ?? {};
    this.fields = options.fields ?? {};
  }

  get status(): ContentfulStatusCode {
    return ERROR_STATUS[this.code];
  }
}

/** The common error body for `code` at the context's moment and requestId. */
export function errorBody(
  c: Context<AgentEnv>,
  clock: () => number,
  code: ErrorCode,
  message: string,
): ErrorResponse {
  return {
    code,
    message,
    requestId: c.get("requestId") ?? null,
    capturedAt: new Date(clock()).toISOString(),
  };
}

/**
 * Maps what the engine throws while acting on index `name` to an AgentError:
 * an index that is not READY (or closed meanwhile) is INVALID_STATE, a stale
 * revision REVISION_CONFLICT; anything else is returned unchanged.
 */
export function fromEngineError(error: unknown, name: string): unknown {
  if (error instanceof StateError || error instanceof ClosedError) {
    return new AgentError("INVALID_STATE", `Index '${name}' is not READY: ${error.message}`, {
      cause: error,
    });
  }
  if (error instanceof ConflictError) {
    return new AgentError("REVISION_CONFLICT", error.message, {
      cause: error,
      fields: { expectedRevision: error.expected, currentRevision: error.actual },
    });
  }
  return error;
}

/**
 * The `app.onError` handler: an AgentError answers with its code, status
 * and headers; anything else is logged and answers INTERNAL_ERROR without
 * its details.
 */
export function createErrorHandler(
  clock: () => number,
  log: (message: string, error: unknown) => void,
): (error: Error, c: Context<AgentEnv>) => Response {
  return function handleError(error: Error, c: Context<AgentEnv>): Response {
    const known = error instanceof AgentError
      ? error
      : new AgentError("INTERNAL_ERROR", "The agent failed to handle the request");
    if (known !== error) log(`${c.req.method} ${c.req.path} failed`, error);
    c.set("errorCode", known.code);
    return c.json(
      { ...errorBody(c, clock, known.code, known.message), ...known.fields },
      known.status,
      known.headers,
    );
  };
}
