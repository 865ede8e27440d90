/**
 * `GET /api/v1/audit` and `GET /api/v1/audit/verify` (ADMIN): the audit
 * trail read back through the sink. A sink that cannot be read answers 503
 * AUDIT_UNAVAILABLE.
 *
 * @module
 */
import type { Handler } from "hono";
import { type AuditPage, AuditQuerySchema, type AuditVerification } from "./api/audit.ts";
import type { AgentEnv } from "./_env.ts";
import { AgentError } from "./_errors.ts";
import type { AuditSink } from "./audit_sink.ts";

function unavailable(error: unknown): AgentError {
  return new AgentError("AUDIT_UNAVAILABLE", "The audit trail cannot be read", { cause: error });
}

export function auditPageHandler(sink: AuditSink): Handler<AgentEnv> {
  return async function auditPage(c) {
    const query = AuditQuerySchema.safeParse({ offset: c.req.query("offset"), limit: c.req.query("limit") });
    if (!query.success) {
      const problems = query.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
      throw new AgentError("INVALID_REQUEST", `Invalid query: ${problems.join("; ")}`);
    }
    const { offset, limit } = query.data;
    let page;
    try {
      page = await sink.page(offset, limit);
    } catch (error) {
      throw unavailable(error);
    }
    const body: AuditPage = { entries: page.entries, total: page.total, offset, limit };
    return c.json(body);
  };
}

export function auditVerifyHandler(sink: AuditSink): Handler<AgentEnv> {
  return async function auditVerify(c) {
    let body: AuditVerification;
    try {
      body = await sink.verify();
    } catch (error) {
      throw unavailable(error);
    }
    return c.json(body);
  };
}
