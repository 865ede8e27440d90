/**
 * HestiaStore for TypeScript — the node management agent: a REST JSON API
 * (under `/api/v1`) that reports every index's metrics, runs flush and
 * compaction, reads and tunes the runtime configuration, and serves
 * `/health`, `/ready` and `/metrics`; with bearer tokens mapped to roles,
 * rate limits and a hash-chained audit trail. The contract (paths,
 * schemas, roles, error codes) is in `./api/mod.ts`.
 *
 * Serve it with `agent/deno.ts` or `agent/node.ts`, or run `agent/main.ts`.
 *
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { MemoryFileSystem, SegmentIndex } from "../engine/mod.ts";
 * import { createAgent, MemoryAuditSink } from "./mod.ts";
 *
 * const orders = await SegmentIndex.create("/orders", { fs: new MemoryFileSystem() });
 * const app = createAgent({
 *   indexes: new Map([["orders", orders]]),
 *   security: { tokens: [] },
 *   audit: new MemoryAuditSink(),
 *   node: { nodeId: "node-1" },
 * });
 * const report = await (await app.request("/api/v1/report")).json();
 * strictEqual(report.indexes[0].indexName, "orders");
 * await orders.close();
 * ```
 *
 * @module
 */
export {
  type AgentApp,
  type AgentBindings,
  type AgentDeps,
  type AgentEnv,
  type AgentSecurity,
  createAgent,
  type NodeOptions,
  type RateLimitOptions,
} from "./agent.ts";
export {
  type AuditEntry,
  type AuditEvent,
  type AuditSink,
  type AuditVerification,
  type FileAuditOptions,
  FileAuditSink,
  MemoryAuditSink,
  verifyAuditFiles,
} from "./audit_sink.ts";
export { newToken, parseTokenEntries, type Principal, type TokenEntry } from "./tokens.ts";
export type { ManagedIndex } from "./managed_index.ts";
export type { AgentServer, ServeAgentOptions } from "./serve_options.ts";
