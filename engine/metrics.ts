/**
 * The runtime metrics snapshot of a {@linkcode SegmentIndex}: one deeply
 * frozen plain object, taken in one synchronous step (every group is from
 * the same moment), without I/O and without loading a segment.
 *
 * Counters (`…Count`-like fields documented as counters in docs/metrics.md)
 * start at zero when the index is opened and never go down while it stays
 * open; `openedAt` tells a reader that a reopen started them again. Gauges
 * are current values. Units are in the field names or documented: durations
 * in seconds unless a name ends in `Micros`, sizes in bytes.
 *
 * Latency is sampled: one operation in `latency.sampleEvery` is timed, into
 * cumulative log-spaced buckets (the same bounds on every node, so
 * histograms aggregate); percentiles are read from the buckets.
 *
 * @module
 */
import type { HistogramSnapshot } from "./_histogram.ts";
import type { IndexState } from "./segment_index.ts";
import type { Durability } from "./wal/write_ahead_log.ts";

export type { HistogramBucket, HistogramSnapshot } from "./_histogram.ts";

/** A moment, as ISO 8601 and as epoch milliseconds. */
export interface Timestamp {
  readonly iso: string;
  readonly epochMs: number;
}

/** One loaded segment. */
export interface SegmentMetrics {
  readonly id: number;
  /** `READY`, or the maintenance running on it: `FLUSHING`, `COMPACTING`, `SPLITTING`. */
  readonly state: "READY" | "FLUSHING" | "COMPACTING" | "SPLITTING";
  /** Entries in its main table. */
  readonly mainKeys: number;
  /** Entries in its delta tables (tombstones and shadowed versions included). */
  readonly deltaKeys: number;
  readonly deltaFiles: number;
  /** Keys in its write cache. */
  readonly bufferedKeys: number;
  /** Counters since the segment was created or loaded in this open. */
  readonly flushRequests: number;
  readonly compactRequests: number;
  readonly bloomRequests: number;
  readonly bloomRefused: number;
  readonly bloomFalsePositives: number;
}

/** An LRU cache: counters of hits, misses, loads and evictions, and its size against its limit. */
export interface CacheMetrics {
  readonly hits: number;
  readonly misses: number;
  readonly loads: number;
  readonly evictions: number;
  readonly size: number;
  readonly limit: number;
}

/** The whole snapshot; see docs/metrics.md for every field. */
export interface MetricsSnapshot {
  readonly indexName: string;
  readonly state: IndexState;
  readonly openedAt: Timestamp;
  readonly capturedAt: Timestamp;
  readonly operations: {
    readonly gets: number;
    readonly puts: number;
    readonly deletes: number;
    readonly batches: number;
    readonly ranges: number;
  };
  readonly segmentCache: CacheMetrics;
  readonly chunkCache: CacheMetrics & { readonly bytes: number };
  readonly segments: {
    readonly count: number;
    readonly ready: number;
    readonly maintenance: number;
    readonly error: number;
    readonly loaded: number;
    readonly unloaded: number;
    readonly totalKeys: number;
    readonly bufferedKeys: number;
    readonly deltaFiles: number;
    readonly diskBytes: number;
    readonly loadedSegments: readonly SegmentMetrics[];
  };
  readonly writePath: {
    readonly segmentWriteCacheKeyLimit: number;
    readonly segmentWriteCacheKeyLimitDuringMaintenance: number;
    readonly indexBufferedWriteKeyLimit: number;
    readonly bufferedKeys: number;
    readonly flushingKeys: number;
    readonly inlineFlushes: number;
    readonly backpressureWaits: number;
  };
  readonly maintenance: {
    readonly flushRequests: number;
    readonly flushes: number;
    readonly compactRequests: number;
    readonly compactions: number;
    readonly flushAcceptedToDoneP95Micros: number;
    readonly compactAcceptedToDoneP95Micros: number;
    readonly queued: number;
    readonly inFlight: number;
    readonly commits: number;
    readonly failures: number;
  };
  readonly split: {
    readonly scheduled: number;
    readonly completed: number;
    readonly inFlight: number;
    readonly startDelayP95Micros: number;
    readonly runP95Micros: number;
  };
  readonly latency: {
    /** One operation in this many is timed; 0 when metrics recording is off. */
    readonly sampleEvery: number;
    readonly get: HistogramSnapshot;
    /** `put`, `delete` and `batch`: the synchronous part (log append and apply), not the wait for durability. */
    readonly write: HistogramSnapshot;
  };
  readonly bloomFilter: {
    readonly bitsPerKey: number;
    readonly hashFunctions: number;
    readonly falsePositiveProbability: number;
    readonly requests: number;
    readonly refused: number;
    readonly positives: number;
    readonly falsePositives: number;
  };
  readonly wal: {
    readonly enabled: boolean;
    readonly durability: Durability | "off";
    readonly appends: number;
    readonly appendedBytes: number;
    readonly syncs: number;
    readonly syncFailures: number;
    readonly corruptions: number;
    readonly truncations: number;
    readonly retainedBytes: number;
    readonly fileCount: number;
    readonly durableLsn: number;
    readonly checkpointLsn: number;
    readonly appliedLsn: number;
    readonly checkpointLagLsn: number;
    readonly pendingSyncBytes: number;
    readonly syncSecondsTotal: number;
    readonly syncSecondsMax: number;
    readonly syncAverageSeconds: number;
    readonly batchBytesTotal: number;
    readonly batchBytesMax: number;
    readonly syncAverageBatchBytes: number;
  };
}

/** Freezes an object graph of plain objects and arrays. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
