/**
 * Every route of the management API: method, path, the least role that may
 * call it, and the schemas of its query, body and responses. The agent
 * registers its handlers from this table and the OpenAPI document is
 * generated from it, so the two cannot drift apart.
 *
 * @module
 */
import { z } from "zod";
import { ActionFailureSchema, ActionRequestSchema, ActionResponseSchema } from "./actions.ts";
import { AuditPageSchema, AuditQuerySchema, AuditVerificationSchema } from "./audit.ts";
import {
  ConfigPatchFailureSchema,
  ConfigPatchRequestSchema,
  ConfigPatchResponseSchema,
  ConfigViewSchema,
} from "./config.ts";
import { ErrorResponseSchema } from "./errors.ts";
import {
  ACTION_COMPACT,
  ACTION_FLUSH,
  AUDIT,
  AUDIT_VERIFY,
  CONFIG,
  HEALTH,
  METRICS,
  OPENAPI,
  READY,
  REPORT,
} from "./paths.ts";
import { HealthResponseSchema, NotReadyResponseSchema, ReadyResponseSchema } from "./probes.ts";
import { NodeReportSchema } from "./report.ts";
import type { Role } from "./roles.ts";

/** One response a route may give. */
export interface ResponseSpec {
  readonly description: string;
  /** JSON body schema; absent for a body that is not JSON. */
  readonly schema?: z.ZodType;
  /** @default "application/json" */
  readonly mediaType?: string;
}

export type HttpMethod = "GET" | "POST" | "PATCH";

/** One route of the API. */
export interface RouteSpec {
  readonly operationId: string;
  readonly method: HttpMethod;
  readonly path: string;
  readonly summary: string;
  /** The least role that may call it; null when no token is needed. */
  readonly role: Role | null;
  /** Changes state: rate limited per caller, audited (intent and outcome), takes a JSON body. */
  readonly mutating: boolean;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** By HTTP status. */
  readonly responses: Readonly<Record<number, ResponseSpec>>;
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "INVALID_REQUEST, or TLS_REQUIRED over plain HTTP when the agent requires TLS",
  401: "UNAUTHORIZED: no token or an unknown one (with WWW-Authenticate)",
  403: "FORBIDDEN: the token's role is too low",
  404: "INDEX_NOT_FOUND",
  409: "INVALID_STATE, REQUEST_ID_CONFLICT or REVISION_CONFLICT",
  413: "REQUEST_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE: the body is not application/json",
  429: "RATE_LIMITED (with Retry-After, RateLimit and RateLimit-Policy)",
  503: "AUDIT_UNAVAILABLE: the audit trail cannot be written or read; nothing was executed",
};

function errors(...statuses: number[]): Record<number, ResponseSpec> {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: ERROR_DESCRIPTIONS[s], schema: ErrorResponseSchema }]),
  );
}

const TOKEN_ERRORS = [400, 401, 403, 429];
const MUTATION_ERRORS = [...TOKEN_ERRORS, 404, 409, 413, 415, 503];

const CONFIG_QUERY = z.object({
  indexName: z.string().min(1).describe("The index"),
});

function action(operationId: string, path: string, verb: string): RouteSpec {
  return {
    operationId,
    method: "POST",
    path,
    summary: `${verb} one index (indexName) or every open index; responds when done`,
    role: "OPERATE",
    mutating: true,
    body: ActionRequestSchema,
    responses: {
      200: { description: "Done on every target", schema: ActionResponseSchema },
      ...errors(...MUTATION_ERRORS),
      500: { description: "INTERNAL_ERROR: failed on at least one index", schema: ActionFailureSchema },
    },
  };
}

/** Every route, in the order the OpenAPI document lists them. */
export const ROUTES: readonly RouteSpec[] = [
  {
    operationId: "getReport",
    method: "GET",
    path: REPORT,
    summary: "Node information and every open index's metrics snapshot",
    role: "READ",
    mutating: false,
    responses: { 200: { description: "The report", schema: NodeReportSchema }, ...errors(...TOKEN_ERRORS) },
  },
  action("flush", ACTION_FLUSH, "Flush"),
  action("compact", ACTION_COMPACT, "Compact"),
  {
    operationId: "getConfig",
    method: "GET",
    path: CONFIG,
    summary: "An index's runtime configuration",
    role: "READ",
    mutating: false,
    query: CONFIG_QUERY,
    responses: {
      200: { description: "The configuration", schema: ConfigViewSchema },
      ...errors(...TOKEN_ERRORS, 404),
    },
  },
  {
    operationId: "patchConfig",
    method: "PATCH",
    path: CONFIG,
    summary: "Validate (dryRun) or apply a change of an index's runtime configuration",
    role: "ADMIN",
    mutating: true,
    query: CONFIG_QUERY,
    body: ConfigPatchRequestSchema,
    responses: {
      200: { description: "Valid, and applied unless dryRun", schema: ConfigPatchResponseSchema },
      ...errors(...MUTATION_ERRORS),
      400: {
        description: "INVALID_REQUEST or CONFIG_KEY_NOT_SUPPORTED, with one problem per key when the " +
          "values were checked; TLS_REQUIRED over plain HTTP when the agent requires TLS",
        schema: ConfigPatchFailureSchema,
      },
    },
  },
  {
    operationId: "getAudit",
    method: "GET",
    path: AUDIT,
    summary: "A page of the audit trail, oldest first",
    role: "ADMIN",
    mutating: false,
    query: AuditQuerySchema,
    responses: {
      200: { description: "The page", schema: AuditPageSchema },
      ...errors(...TOKEN_ERRORS, 503),
    },
  },
  {
    operationId: "verifyAudit",
    method: "GET",
    path: AUDIT_VERIFY,
    summary: "Verify the hash chain of the audit trail across its files",
    role: "ADMIN",
    mutating: false,
    responses: {
      200: {
        description: "The verification (ok false names the first broken line)",
        schema: AuditVerificationSchema,
      },
      ...errors(...TOKEN_ERRORS, 503),
    },
  },
  {
    operationId: "getOpenApi",
    method: "GET",
    path: OPENAPI,
    summary: "This document",
    role: "READ",
    mutating: false,
    responses: {
      200: { description: "OpenAPI 3.1", schema: z.record(z.string(), z.unknown()) },
      ...errors(...TOKEN_ERRORS),
    },
  },
  {
    operationId: "getHealth",
    method: "GET",
    path: HEALTH,
    summary: "Liveness",
    role: null,
    mutating: false,
    responses: { 200: { description: "Serving", schema: HealthResponseSchema }, ...errors(400) },
  },
  {
    operationId: "getReady",
    method: "GET",
    path: READY,
    summary: "Readiness: at least one open index, and every open index READY",
    role: null,
    mutating: false,
    responses: {
      200: { description: "Ready", schema: ReadyResponseSchema },
      ...errors(400),
      503: { description: "Not ready", schema: NotReadyResponseSchema },
    },
  },
  {
    operationId: "getMetrics",
    method: "GET",
    path: METRICS,
    summary: "Prometheus text 0.0.4 or OpenMetrics 1.0 (by Accept) of every open index; open to " +
      "anyone when the agent is configured so",
    role: "READ",
    mutating: false,
    responses: {
      200: { description: "The exposition", mediaType: "text/plain; version=0.0.4" },
      ...errors(...TOKEN_ERRORS),
    },
  },
];
