/**
 * The one error body of the management API. Every failure — from the
 * router, the security layer, validation or an action — answers with
 * {@linkcode ErrorResponseSchema}; a few add fields of their own (the
 * per-index results of a failed action, the problems of a rejected
 * configuration change), which clients that do not know them ignore.
 *
 * @module
 */
import { z } from "zod";

/** Every error code, with the HTTP status it is sent with. */
export const ERROR_CODES = [
  /** 400: malformed JSON, a body or query that fails validation, a missing parameter. */
  "INVALID_REQUEST",
  /** 400: a configuration change names a key that cannot be tuned at runtime. */
  "CONFIG_KEY_NOT_SUPPORTED",
  /** 400: the agent requires TLS and the request came over plain HTTP. */
  "TLS_REQUIRED",
  /** 401 with `WWW-Authenticate: Bearer`: no token, or an unknown one. */
  "UNAUTHORIZED",
  /** 403: the token's role is below what the endpoint requires. */
  "FORBIDDEN",
  /** 404: no such path. */
  "NOT_FOUND",
  /** 404: no open index has that name. */
  "INDEX_NOT_FOUND",
  /** 405 with `Allow`: the path exists, the method does not. */
  "METHOD_NOT_ALLOWED",
  /** 415: a request body that is not `application/json`. */
  "UNSUPPORTED_MEDIA_TYPE",
  /** 409 (503 from `/ready`): an index is not READY, or there is none. */
  "INVALID_STATE",
  /** 409: a `requestId` already used for another target of the same action. */
  "REQUEST_ID_CONFLICT",
  /** 409: `expectedRevision` is not the configuration's current revision. */
  "REVISION_CONFLICT",
  /** 413: the request body is larger than the agent accepts. */
  "REQUEST_TOO_LARGE",
  /** 429 with `Retry-After`, `RateLimit` and `RateLimit-Policy`. */
  "RATE_LIMITED",
  /** 503: the audit trail cannot be written (nothing was executed) or read. */
  "AUDIT_UNAVAILABLE",
  /** 500: an action failed on an index, or an unexpected error. */
  "INTERNAL_ERROR",
] as const;

export type ErrorCode = typeof ERROR_CODES[number];

export const ErrorResponseSchema = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  /** The action's `requestId`, else the request's `X-Request-Id` header when valid, else null. */
  requestId: z.string().nullable(),
  /** When the agent answered, ISO 8601. */
  capturedAt: z.string(),
}).describe("The body of every failure");

export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;
