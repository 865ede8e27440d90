/**
 * The contract of the HestiaStore management agent: paths, roles, error
 * codes, and the zod schemas of every request and response, plus the
 * OpenAPI document generated from them. Depends on zod only, so the
 * console and any client can import it without the agent.
 *
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { ActionRequestSchema, REPORT, roleAtLeast } from "./mod.ts";
 *
 * strictEqual(REPORT, "/api/v1/report");
 * strictEqual(roleAtLeast("ADMIN", "OPERATE"), true);
 * const request = ActionRequestSchema.parse({ requestId: "web-1", unknownField: 1 });
 * strictEqual(request.indexName, undefined); // unknown fields are dropped, not rejected
 * ```
 *
 * @module
 */
export * from "./paths.ts";
export * from "./headers.ts";
export * from "./roles.ts";
export * from "./errors.ts";
export * from "./index_snapshot.ts";
export * from "./report.ts";
export * from "./actions.ts";
export * from "./config.ts";
export * from "./audit.ts";
export * from "./probes.ts";
export * from "./routes.ts";
export * from "./openapi.ts";
