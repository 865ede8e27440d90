/**
 * `GET /api/v1/report`: node information and one metrics snapshot per open
 * index, taken when asked (the engine builds it without I/O).
 *
 * @module
 */
import process from "node:process";
import type { Handler } from "hono";
import type { HistogramSnapshot, MetricsSnapshot } from "../engine/mod.ts";
import type { IndexSnapshot } from "./api/index_snapshot.ts";
import type { NodeInfo, NodeReport } from "./api/report.ts";
import type { AgentEnv } from "./_env.ts";
import type { IndexDirectory } from "./_indexes.ts";

/** Who the node is, as configured. */
interface NodeIdentity {
  nodeId: string;
  nodeName?: string;
  version: string;
}

function histogram(h: HistogramSnapshot): IndexSnapshot["latency"]["get"] {
  // JSON has no Infinity: the last bucket's bound is written as Prometheus writes it.
  return {
    ...h,
    buckets: h.buckets.map((b) => ({ le: Number.isFinite(b.le) ? b.le : "+Inf", count: b.count })),
  };
}

/** The snapshot in its JSON form, named as the agent knows the index. */
function indexSnapshot(name: string, snapshot: MetricsSnapshot): IndexSnapshot {
  return {
    ...snapshot,
    indexName: name,
    segments: { ...snapshot.segments, loadedSegments: [...snapshot.segments.loadedSegments] },
    latency: {
      ...snapshot.latency,
      get: histogram(snapshot.latency.get),
      write: histogram(snapshot.latency.write),
    },
  };
}

function runtime(): NodeInfo["runtime"] {
  const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
  return deno === undefined ? { name: "node", version: process.versions.node } : {
    name: "deno",
    version: deno.version.deno,
  };
}

export function reportHandler(
  identity: NodeIdentity,
  indexes: IndexDirectory,
  clock: () => number,
): Handler<AgentEnv> {
  const startedAt = clock();
  const { name, version } = runtime();
  return function report(c) {
    const now = clock();
    const memory = process.memoryUsage();
    const body: NodeReport = {
      node: {
        ...identity,
        runtime: { name, version },
        startedAt: new Date(startedAt).toISOString(),
        uptimeSeconds: Math.max(0, now - startedAt) / 1000,
        memory: {
          rssBytes: memory.rss,
          heapUsedBytes: memory.heapUsed,
          heapTotalBytes: memory.heapTotal,
          externalBytes: memory.external,
        },
      },
      indexes: indexes.open().map(([indexName, index]) => indexSnapshot(indexName, index.metrics())),
      capturedAt: new Date(now).toISOString(),
    };
    return c.json(body);
  };
}
