/**
 * One index's metrics snapshot as the report carries it: the engine's
 * `MetricsSnapshot` field for field (see docs/metrics.md for the meaning
 * and unit of each), with one change for JSON: the last latency bucket's
 * upper bound, +Infinity in the engine, is the string `"+Inf"`.
 *
 * @module
 */
import { z } from "zod";

const count = z.number().int().nonnegative();

/** A moment, as ISO 8601 and as epoch milliseconds. */
export const TimestampSchema = z.object({
  iso: z.string(),
  epochMs: z.number(),
});

export const CacheMetricsSchema = z.object({
  hits: count,
  misses: count,
  loads: count,
  evictions: count,
  size: count,
  limit: count,
});

export const SegmentMetricsSchema = z.object({
  id: count,
  state: z.enum(["READY", "FLUSHING", "COMPACTING", "SPLITTING"]),
  mainKeys: count,
  deltaKeys: count,
  deltaFiles: count,
  bufferedKeys: count,
  flushRequests: count,
  compactRequests: count,
  bloomRequests: count,
  bloomRefused: count,
  bloomFalsePositives: count,
});

export const HistogramSnapshotSchema = z.object({
  buckets: z.array(z.object({
    le: z.union([z.number(), z.literal("+Inf")]).describe("Upper bound, seconds"),
    count: count.describe("Observations at most `le`, cumulative"),
  })),
  sumSeconds: z.number(),
  count,
  p50Micros: z.number(),
  p95Micros: z.number(),
  p99Micros: z.number(),
});

export const INDEX_STATES = ["OPENING", "READY", "CLOSING", "CLOSED", "ERROR"] as const;

export const IndexSnapshotSchema = z.object({
  indexName: z.string(),
  state: z.enum(INDEX_STATES),
  openedAt: TimestampSchema.describe("When this open of the index began; counters restart at each open"),
  capturedAt: TimestampSchema,
  operations: z.object({
    gets: count,
    puts: count,
    deletes: count,
    batches: count,
    ranges: count,
  }),
  segmentCache: CacheMetricsSchema,
  chunkCache: CacheMetricsSchema.extend({ bytes: count }),
  segments: z.object({
    count,
    ready: count,
    maintenance: count,
    error: count,
    loaded: count,
    unloaded: count,
    totalKeys: count,
    bufferedKeys: count,
    deltaFiles: count,
    diskBytes: count,
    loadedSegments: z.array(SegmentMetricsSchema),
  }),
  writePath: z.object({
    segmentWriteCacheKeyLimit: count,
    segmentWriteCacheKeyLimitDuringMaintenance: count,
    indexBufferedWriteKeyLimit: count,
    bufferedKeys: count,
    flushingKeys: count,
    inlineFlushes: count,
    backpressureWaits: count,
  }),
  maintenance: z.object({
    flushRequests: count,
    flushes: count,
    compactRequests: count,
    compactions: count,
    flushAcceptedToDoneP95Micros: z.number(),
    compactAcceptedToDoneP95Micros: z.number(),
    queued: count,
    inFlight: count,
    commits: count,
    failures: count,
  }),
  split: z.object({
    scheduled: count,
    completed: count,
    inFlight: count,
    startDelayP95Micros: z.number(),
    runP95Micros: z.number(),
  }),
  latency: z.object({
    sampleEvery: count.describe("One operation in this many is timed; 0 when recording is off"),
    get: HistogramSnapshotSchema,
    write: HistogramSnapshotSchema,
  }),
  bloomFilter: z.object({
    bitsPerKey: count,
    hashFunctions: count,
    falsePositiveProbability: z.number(),
    requests: count,
    refused: count,
    positives: count,
    falsePositives: count,
  }),
  wal: z.object({
    enabled: z.boolean(),
    durability: z.enum(["sync", "group", "none", "off"]),
    appends: count,
    appendedBytes: count,
    syncs: count,
    syncFailures: count,
    corruptions: count,
    truncations: count,
    retainedBytes: count,
    fileCount: count,
    durableLsn: count,
    checkpointLsn: count,
    appliedLsn: count,
    checkpointLagLsn: count,
    pendingSyncBytes: count,
    syncSecondsTotal: z.number(),
    syncSecondsMax: z.number(),
    syncAverageSeconds: z.number(),
    batchBytesTotal: count,
    batchBytesMax: count,
    syncAverageBatchBytes: z.number(),
  }),
}).describe("An index's metrics snapshot (the engine's MetricsSnapshot; see docs/metrics.md)");

export type IndexSnapshot = z.infer<typeof IndexSnapshotSchema>;
