/**
 * Header names of the management API beyond the standard ones
 * (`Authorization`, `WWW-Authenticate`, `Allow`, `Retry-After`, `RateLimit`,
 * `RateLimit-Policy`).
 *
 * @module
 */

/**
 * The person a trusted console acts for. Honoured only with a token marked
 * `console`, and recorded in the audit trail as "on behalf of"; ignored
 * from any other caller.
 */
export const ACTOR_HEADER = "X-HestiaStore-Actor";

/** Set to `true` on a response that replays the stored result of an earlier action with the same `requestId`. */
export const REPLAYED_HEADER = "X-HestiaStore-Replayed";

/** Correlation id a client may send with any request; echoed in error bodies that have no action `requestId`. */
export const REQUEST_ID_HEADER = "X-Request-Id";

/** What a `requestId` (body field or header) may contain: 1–128 characters of `[A-Za-z0-9._:-]`. */
export const REQUEST_ID_PATTERN: RegExp = /^[A-Za-z0-9._:-]{1,128}$/;

/** What an actor name may contain: 1–128 printable ASCII characters, not starting or ending with a space. */
export const ACTOR_PATTERN: RegExp = /^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/;
