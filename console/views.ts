/**
 * The plain data the console's JSON endpoints send and its islands render.
 * Shared by the server and the browser bundle, so it holds types and
 * constants only: no server code, and nothing an island would not need.
 *
 * @module
 */
import type { IndexSnapshot, NodeInfo } from "../agent/api/mod.ts";

/**
 * What the console knows about a node. UP: reachable and every index READY.
 * DEGRADED: reachable, but an index is not READY or there is none. DOWN:
 * connection refused or reset. TIMEOUT: no answer within the request
 * timeout. AUTH_FAILED: the agent refused the console's token (401/403).
 * ERROR: anything else (an unexpected status, an unreadable answer, DNS,
 * TLS). UNKNOWN: not answered yet since the console started.
 */
export const NODE_STATES = ["UP", "DEGRADED", "DOWN", "TIMEOUT", "AUTH_FAILED", "ERROR", "UNKNOWN"] as const;

export type NodeState = typeof NODE_STATES[number];

/** Reads and writes per second over one polling interval; null where no rate exists (first sample, restart, no answer). */
export interface RatePoint {
  /** Epoch milliseconds. */
  t: number;
  read: number | null;
  write: number | null;
}

/** One index of a node, as the dashboard lists it. */
export interface IndexSummary {
  name: string;
  state: IndexSnapshot["state"];
  totalKeys: number;
  segments: number;
  diskBytes: number;
  gets: number;
  puts: number;
  deletes: number;
  readRate: number | null;
  writeRate: number | null;
  /** Chunk cache hits and misses of point reads since the index opened. */
  cacheHits: number;
  cacheMisses: number;
  wal: WalHealth;
}

/** OFF: no write-ahead log. OK: no sync failure and no corruption found. PROBLEM: see `detail`. */
export interface WalHealth {
  status: "OFF" | "OK" | "PROBLEM";
  detail: string;
}

/** One node's row: its state and the latest figures. */
export interface NodeView {
  id: string;
  name: string;
  baseUrl: string;
  state: NodeState;
  /** Why the node is not UP, in words; empty when UP. */
  reason: string;
  /** The agent's error code, when it answered with one. */
  code: string | null;
  httpStatus: number | null;
  /** Epoch ms when the node entered its current state. */
  stateSince: number;
  /** Epoch ms of the last report received; null when none yet. */
  lastSeen: number | null;
  /** Epoch ms when the last poll finished. */
  lastPolledAt: number | null;
  /** How long the last successful poll took. */
  latencyMs: number | null;
  node: NodeInfo | null;
  /** True when `indexes` come from an earlier report because the node does not answer now. */
  stale: boolean;
  indexes: IndexSummary[];
  readRate: number | null;
  writeRate: number | null;
  /** Oldest first; one point per poll. */
  series: RatePoint[];
}

/** Sums over the reachable nodes. */
export interface FleetTotals {
  nodes: number;
  reachable: number;
  indexes: number;
  readRate: number | null;
  writeRate: number | null;
  cacheHitRatio: number | null;
  walIndexes: number;
  walProblems: number;
}

/** `GET /api/fleet`. */
export interface FleetView {
  generatedAt: number;
  pollIntervalMs: number;
  totals: FleetTotals;
  nodes: NodeView[];
}

/** `GET /api/nodes/:id`: the row plus every index's whole snapshot from the latest report. */
export interface NodeDetailView {
  generatedAt: number;
  pollIntervalMs: number;
  node: NodeView;
  snapshots: IndexSnapshot[];
}

export type ActionKind = "FLUSH" | "COMPACT";

/**
 * PENDING: sent, no final answer yet. COMPLETED: ran on every target.
 * FAILED: ran and failed on a target, or the node did not answer in time.
 * REJECTED: the agent (or the console) refused it before running it.
 */
export type ActionStatus = "PENDING" | "COMPLETED" | "FAILED" | "REJECTED";

/** One action the console sent, for the result banner and the history panel. */
export interface ActionRecord {
  requestId: string;
  nodeId: string;
  nodeName: string;
  action: ActionKind;
  /** Null: every index of the node. */
  indexName: string | null;
  actor: string;
  startedAt: number;
  finishedAt: number | null;
  status: ActionStatus;
  httpStatus: number | null;
  code: string | null;
  message: string;
  retryAfterSeconds: number | null;
  results: { indexName: string; status: "COMPLETED" | "FAILED"; message?: string; durationMs: number }[];
  /** Requests sent with this requestId: more than one when an attempt timed out and was re-queried. */
  attempts: number;
}

/** The console's own error body for its JSON endpoints. */
export interface ConsoleError {
  code: string;
  message: string;
  httpStatus?: number;
  retryAfterSeconds?: number | null;
  problems?: { key: string; message: string }[];
}
