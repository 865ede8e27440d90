/**
 * `GET /api/v1/report`: who the node is, how its process is doing, and the
 * snapshot of every open index (a closed index is not listed).
 *
 * @module
 */
import { z } from "zod";
import { IndexSnapshotSchema } from "./index_snapshot.ts";

const bytes = z.number().int().nonnegative();

export const NodeInfoSchema = z.object({
  nodeId: z.string(),
  nodeName: z.string().optional(),
  version: z.string().describe("HestiaStore version the node runs"),
  runtime: z.object({
    name: z.enum(["deno", "node"]),
    version: z.string(),
  }),
  startedAt: z.string().describe("When the agent started, ISO 8601"),
  uptimeSeconds: z.number().nonnegative(),
  memory: z.object({
    rssBytes: bytes,
    heapUsedBytes: bytes,
    heapTotalBytes: bytes,
    externalBytes: bytes,
  }).describe("The process's memory, as process.memoryUsage() reports it"),
});

export type NodeInfo = z.infer<typeof NodeInfoSchema>;

export const NodeReportSchema = z.object({
  node: NodeInfoSchema,
  indexes: z.array(IndexSnapshotSchema).describe("Every open index, by name"),
  capturedAt: z.string().describe("ISO 8601"),
});

export type NodeReport = z.infer<typeof NodeReportSchema>;
