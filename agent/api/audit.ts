/**
 * `GET /api/v1/audit` (a page of the audit trail, oldest first) and
 * `GET /api/v1/audit/verify` (checks its hash chain). Both need ADMIN. The
 * trail's format is described in docs/agent_audit.md.
 *
 * @module
 */
import { z } from "zod";

export const AUDIT_OUTCOMES = ["SUCCEEDED", "FAILED", "REJECTED", "REPLAYED"] as const;

export const AuditEntrySchema = z.object({
  seq: z.number().int().nonnegative(),
  time: z.string().describe("ISO 8601"),
  phase: z.enum(["intent", "outcome"]),
  requestId: z.string().nullable(),
  tokenId: z.string().nullable().describe("Id of the token used; never the token"),
  actor: z.string().nullable().describe("Who a console token acted for"),
  remote: z.string().describe("Remote address"),
  method: z.string(),
  endpoint: z.string().describe("Path and query"),
  bodySha256: z.string().describe("Hex SHA-256 of the body as read (at most the body limit)"),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  status: z.number().int().optional(),
  code: z.string().optional(),
  prevHash: z.string(),
  hash: z.string(),
});

export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const AuditQuerySchema = z.object({
  offset: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const AuditPageSchema = z.object({
  entries: z.array(AuditEntrySchema),
  total: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  limit: z.number().int().positive(),
});

export type AuditPage = z.infer<typeof AuditPageSchema>;

export const AuditVerificationSchema = z.object({
  ok: z.boolean(),
  entries: z.number().int().nonnegative().describe("Entries found sound (those before firstBroken)"),
  files: z.array(z.string()).describe("The files walked, oldest first"),
  firstBroken: z.object({
    file: z.string(),
    line: z.number().int().positive(),
    reason: z.string(),
  }).optional(),
});

export type AuditVerification = z.infer<typeof AuditVerificationSchema>;
