/**
 * The audit trail of mutating requests: wraps each one so that, accepted or
 * rejected, it leaves an intent and an outcome record in the sink.
 *
 * - Executed requests: the handler calls `trail.intent()` right before it
 *   acts; if the record cannot be written the request fails with 503
 *   AUDIT_UNAVAILABLE and nothing runs. The outcome (SUCCEEDED, FAILED, or
 *   REJECTED when a check after the intent refused it) is written after.
 * - Requests that executed nothing (refused by TLS, token, role, body,
 *   quota, index checks; and replays of a stored result): both records are
 *   written after the fact, within a per-address budget, so a flood of bad
 *   requests cannot fill the disk or rotate the real records away.
 *
 * The body is read here, before anything else, so every record carries the
 * SHA-256 of what the client sent (of its first `maxBodyBytes` bytes when
 * it is larger).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AgentEnv, Caller, Trail } from "./_env.ts";
import { AgentError } from "./_errors.ts";
import type { AuditEvent, AuditSink } from "./audit_sink.ts";
import { sha256Hex } from "./audit_sink.ts";
import { readBody } from "./_body.ts";
import type { RateLimiter } from "./_rate_limit.ts";

/** Longest endpoint (path and query) recorded; a longer one is cut. */
const MAX_ENDPOINT_CHARS = 1024;

export interface AuditTrailOptions {
  sink: AuditSink;
  /** Budget, per address, of record pairs for requests that executed nothing. */
  unexecuted: RateLimiter;
  maxBodyBytes: number;
  log: (message: string, error: unknown) => void;
}

export function auditTrail(options: AuditTrailOptions): MiddlewareHandler<AgentEnv> {
  const { sink, unexecuted, maxBodyBytes, log } = options;
  return async function auditTrail(c, next) {
    const read = await readBody(c.req.raw, maxBodyBytes);
    const bodySha256 = await sha256Hex(read.bytes);
    const url = new URL(c.req.url);
    const endpoint = `${url.pathname}${url.search}`.slice(0, MAX_ENDPOINT_CHARS);
    const event = (): Omit<AuditEvent, "phase"> => {
      const caller = c.get("caller") as Caller | undefined;
      return {
        requestId: c.get("requestId"),
        tokenId: caller?.tokenId ?? null,
        actor: caller?.actor ?? null,
        remote: c.get("remote"),
        method: c.req.method,
        endpoint,
        bodySha256,
      };
    };
    let intentWritten = false;
    const trail: Trail = {
      body: read.bytes,
      bodyError: read.error,
      async intent() {
        try {
          await sink.append({ ...event(), phase: "intent" });
        } catch (error) {
          throw new AgentError(
            "AUDIT_UNAVAILABLE",
            "The audit trail cannot be written; nothing was executed",
            {
              cause: error,
            },
          );
        }
        intentWritten = true;
      },
    };
    c.set("trail", trail);
    await next();
    const status = c.res.status;
    const code = trail.code ?? (status >= 400 ? c.get("errorCode") : undefined);
    const outcome: AuditEvent = {
      ...event(),
      phase: "outcome",
      outcome: trail.outcome ?? (!intentWritten ? "REJECTED" : status < 400 ? "SUCCEEDED" : "FAILED"),
      status,
      ...(code === undefined ? {} : { code }),
    };
    try {
      if (intentWritten) {
        await sink.append(outcome);
      } else if (unexecuted.take(`addr:${c.get("remote")}`).allowed) {
        await sink.append({ ...event(), phase: "intent" });
        await sink.append(outcome);
      }
    } catch (error) {
      // The response stands: it reports what happened, and the intent (if any) is on record.
      log(`Cannot write the audit outcome of ${c.req.method} ${endpoint}`, error);
    }
  };
}
