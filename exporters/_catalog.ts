/**
 * The catalog of exported metrics: every `hestiastore_*` family, its type,
 * help text, unit and how its value is read from one {@linkcode MetricsSnapshot}.
 * The Prometheus exposition, the OpenTelemetry bridge and the docs' metric
 * table all come from this one list, so a name cannot drift between them.
 *
 * Names kept from the reference design are byte-identical (`reference: true`);
 * the reference names we drop are listed in {@linkcode DROPPED_REFERENCE_NAMES}
 * with the reason and what replaces them. Per-segment data is never exported:
 * its cardinality grows with the data.
 *
 * @module
 */
import type { HistogramSnapshot, MetricsSnapshot } from "../engine/mod.ts";

/** Every metric name starts with this. */
export const PREFIX = "hestiastore_";

/** A counter or gauge with one sample per index, labelled `index` only. */
export interface ScalarFamily {
  readonly kind: "counter" | "gauge";
  /** Full sample name; counters end in `_total`. */
  readonly name: string;
  readonly help: string;
  /** Base unit when the name ends in one (`seconds`, `bytes`), for OpenMetrics `# UNIT`. */
  readonly unit?: "seconds" | "bytes";
  /** Kept byte-identical from the reference's 44 meters. */
  readonly reference?: true;
  readonly value: (s: MetricsSnapshot) => number;
}

/** A histogram in seconds with one series per index and `operation`. */
export interface HistogramFamily {
  readonly kind: "histogram";
  readonly name: string;
  readonly help: string;
  readonly unit: "seconds";
  readonly operations: readonly {
    readonly operation: string;
    readonly value: (s: MetricsSnapshot) => HistogramSnapshot;
  }[];
}

/** A gauge with one sample per index and `state`, 1 for the index's state and 0 for the others. */
export interface StateFamily {
  readonly kind: "state";
  readonly name: string;
  readonly help: string;
  readonly states: readonly MetricsSnapshot["state"][];
}

export type Family = ScalarFamily | HistogramFamily | StateFamily;

/** Sample name of the build info series (labels `version`, `runtime`; value 1; no `index` label). */
export const BUILD_INFO_NAME = `${PREFIX}build_info`;
export const BUILD_INFO_HELP = "Build of the HestiaStore exporter: version and runtime, value always 1.";

function counter(
  name: string,
  help: string,
  value: (s: MetricsSnapshot) => number,
  extra: Partial<ScalarFamily> = {},
): ScalarFamily {
  return { kind: "counter", name: PREFIX + name, help, value, ...extra };
}

function gauge(
  name: string,
  help: string,
  value: (s: MetricsSnapshot) => number,
  extra: Partial<ScalarFamily> = {},
): ScalarFamily {
  return { kind: "gauge", name: PREFIX + name, help, value, ...extra };
}

const REF = { reference: true } as const;

/** All families in exposition order. */
export const FAMILIES: readonly Family[] = [
  // Operations
  counter("ops_get_total", "Get operations since the index opened.", (s) => s.operations.gets, REF),
  counter("ops_put_total", "Put operations since the index opened.", (s) => s.operations.puts, REF),
  counter("ops_delete_total", "Delete operations since the index opened.", (s) => s.operations.deletes, REF),
  counter("ops_batch_total", "Batch writes since the index opened.", (s) => s.operations.batches),
  counter("ops_range_total", "Range iterators opened since the index opened.", (s) => s.operations.ranges),
  {
    kind: "histogram",
    name: `${PREFIX}operation_duration_seconds`,
    help: "Latency of sampled operations (one in latency.sampleEvery), seconds.",
    unit: "seconds",
    operations: [
      { operation: "get", value: (s) => s.latency.get },
      { operation: "write", value: (s) => s.latency.write },
    ],
  },
  // State
  gauge("index_up", "1 when the index is READY, else 0.", (s) => s.state === "READY" ? 1 : 0, REF),
  {
    kind: "state",
    name: `${PREFIX}index_state`,
    help: "1 for the index's current state, 0 for the other states.",
    states: ["OPENING", "READY", "CLOSING", "CLOSED", "ERROR"],
  },
  gauge(
    "index_opened_timestamp_seconds",
    "When the index was opened, Unix seconds; counters restart from zero at each open.",
    (s) => s.openedAt.epochMs / 1000,
    { unit: "seconds" },
  ),
  // Segment registry (the LRU of loaded segments)
  counter(
    "registry_cache_hit_total",
    "Segment lookups served by a loaded segment.",
    (s) => s.segmentCache.hits,
    REF,
  ),
  counter(
    "registry_cache_miss_total",
    "Segment lookups that found the segment unloaded.",
    (s) => s.segmentCache.misses,
    REF,
  ),
  counter("registry_cache_load_total", "Segments loaded from disk.", (s) => s.segmentCache.loads, REF),
  counter(
    "registry_cache_eviction_total",
    "Loaded segments evicted by the LRU.",
    (s) => s.segmentCache.evictions,
    REF,
  ),
  gauge("registry_cache_size", "Segments loaded now.", (s) => s.segmentCache.size, REF),
  gauge(
    "registry_cache_limit",
    "Most segments kept loaded (segment cache limit).",
    (s) => s.segmentCache.limit,
    REF,
  ),
  // Chunk cache (raw chunk pages of segment files)
  counter(
    "chunk_store_cache_hit_total",
    "Chunk reads served from the chunk cache.",
    (s) => s.chunkCache.hits,
    REF,
  ),
  counter(
    "chunk_store_cache_miss_total",
    "Chunk reads that missed the chunk cache.",
    (s) => s.chunkCache.misses,
    REF,
  ),
  counter(
    "chunk_store_cache_load_total",
    "Chunks read from disk into the chunk cache.",
    (s) => s.chunkCache.loads,
    REF,
  ),
  counter(
    "chunk_store_cache_eviction_total",
    "Chunks evicted from the chunk cache.",
    (s) => s.chunkCache.evictions,
    REF,
  ),
  gauge("chunk_store_cache_pages", "Chunks held in the chunk cache.", (s) => s.chunkCache.size),
  gauge("chunk_store_cache_page_limit", "Most chunks the chunk cache holds.", (s) => s.chunkCache.limit, REF),
  gauge(
    "chunk_store_cache_bytes",
    "Bytes of the chunks held in the chunk cache.",
    (s) => s.chunkCache.bytes,
    {
      unit: "bytes",
    },
  ),
  // Segments (per-index aggregates; per-segment data is not exported)
  gauge("segments", "Segments of the index.", (s) => s.segments.count),
  gauge(
    "segments_in_maintenance",
    "Segments being flushed, compacted or split.",
    (s) => s.segments.maintenance,
  ),
  gauge("segments_failed", "Segments in the ERROR state.", (s) => s.segments.error),
  gauge(
    "keys",
    "Entries in segment files (a key may count twice until compaction).",
    (s) => s.segments.totalKeys,
  ),
  gauge("delta_files", "Delta files waiting for compaction.", (s) => s.segments.deltaFiles),
  gauge("disk_usage_bytes", "Bytes of the index's segment files on disk.", (s) => s.segments.diskBytes, {
    unit: "bytes",
  }),
  // Write path
  gauge(
    "segment_write_cache_key_limit",
    "Buffered keys per segment that trigger its flush.",
    (s) => s.writePath.segmentWriteCacheKeyLimit,
    REF,
  ),
  gauge(
    "segment_write_cache_key_limit_during_maintenance",
    "Buffered keys per segment allowed while it is in maintenance.",
    (s) => s.writePath.segmentWriteCacheKeyLimitDuringMaintenance,
    REF,
  ),
  gauge(
    "index_buffered_write_key_limit",
    "Buffered keys of the whole index that trigger a flush.",
    (s) => s.writePath.indexBufferedWriteKeyLimit,
    REF,
  ),
  gauge("buffered_keys", "Written keys not yet flushed to segment files.", (s) => s.writePath.bufferedKeys),
  gauge("flushing_keys", "Keys being written by flushes in progress.", (s) => s.writePath.flushingKeys),
  counter(
    "inline_flushes_total",
    "Flushes a write ran itself because a limit was reached.",
    (s) => s.writePath.inlineFlushes,
  ),
  counter(
    "backpressure_waits_total",
    "Writes that waited for the log to drain.",
    (s) => s.writePath.backpressureWaits,
  ),
  // Maintenance
  counter("flush_requests_total", "Segment flushes requested.", (s) => s.maintenance.flushRequests),
  counter("flushes_total", "Segment flushes completed.", (s) => s.maintenance.flushes),
  counter("compact_requests_total", "Segment compactions requested.", (s) => s.maintenance.compactRequests),
  counter("compactions_total", "Segment compactions completed.", (s) => s.maintenance.compactions),
  gauge(
    "flush_accepted_to_ready_p95_micros",
    "P95 of flush time from request to done, microseconds.",
    (s) => s.maintenance.flushAcceptedToDoneP95Micros,
    REF,
  ),
  gauge(
    "compact_accepted_to_ready_p95_micros",
    "P95 of compaction time from request to done, microseconds.",
    (s) => s.maintenance.compactAcceptedToDoneP95Micros,
    REF,
  ),
  gauge(
    "index_maintenance_queue_size",
    "Maintenance tasks waiting for the worker.",
    (s) => s.maintenance.queued,
    REF,
  ),
  counter(
    "index_maintenance_completed_tasks_total",
    "Flushes and compactions the maintenance worker completed.",
    (s) => s.maintenance.flushes + s.maintenance.compactions,
    REF,
  ),
  gauge(
    "maintenance_in_flight",
    "Maintenance tasks running now (0 or 1: one worker).",
    (s) => s.maintenance.inFlight,
  ),
  counter("maintenance_commits_total", "Manifest commits.", (s) => s.maintenance.commits),
  counter("maintenance_failures_total", "Maintenance tasks that failed.", (s) => s.maintenance.failures),
  // Split
  counter("split_schedule_total", "Segment splits scheduled.", (s) => s.split.scheduled, REF),
  gauge("split_in_flight", "Segment splits running now (0 or 1: one worker).", (s) => s.split.inFlight, REF),
  counter(
    "split_maintenance_completed_tasks_total",
    "Segment splits completed.",
    (s) => s.split.completed,
    REF,
  ),
  gauge(
    "split_task_start_delay_p95_micros",
    "P95 of split time from schedule to start, microseconds.",
    (s) => s.split.startDelayP95Micros,
    REF,
  ),
  gauge(
    "split_task_run_latency_p95_micros",
    "P95 of split run time, microseconds.",
    (s) => s.split.runP95Micros,
    REF,
  ),
  // Bloom filter
  counter("bloom_filter_requests_total", "Bloom filter lookups.", (s) => s.bloomFilter.requests),
  counter(
    "bloom_filter_negatives_total",
    "Bloom filter lookups that ruled the key out (no disk read).",
    (s) => s.bloomFilter.refused,
  ),
  counter(
    "bloom_filter_false_positives_total",
    "Bloom filter lookups that let through a key the segment did not hold.",
    (s) => s.bloomFilter.falsePositives,
  ),
  gauge(
    "bloom_filter_expected_false_positive_ratio",
    "False-positive probability the Bloom filters were sized for.",
    (s) => s.bloomFilter.falsePositiveProbability,
  ),
  // Write-ahead log
  gauge("wal_enabled", "1 when the index has a write-ahead log, else 0.", (s) => s.wal.enabled ? 1 : 0),
  counter("wal_appends_total", "Records appended to the log.", (s) => s.wal.appends),
  counter("wal_appended_bytes_total", "Bytes appended to the log.", (s) => s.wal.appendedBytes, {
    unit: "bytes",
  }),
  counter("wal_syncs_total", "Log syncs (fsync) completed.", (s) => s.wal.syncs),
  counter(
    "wal_sync_failures_total",
    "Log syncs that failed; the log refuses writes after one.",
    (s) => s.wal.syncFailures,
  ),
  counter("wal_corruptions_total", "Damaged log records found at recovery.", (s) => s.wal.corruptions),
  counter("wal_truncations_total", "Invalid log tails truncated at recovery.", (s) => s.wal.truncations),
  counter("wal_sync_seconds_total", "Time spent in log syncs, seconds.", (s) => s.wal.syncSecondsTotal, {
    unit: "seconds",
  }),
  gauge(
    "wal_sync_max_seconds",
    "Longest log sync since the index opened, seconds.",
    (s) => s.wal.syncSecondsMax,
    {
      unit: "seconds",
    },
  ),
  counter("wal_synced_batch_bytes_total", "Bytes made durable by log syncs.", (s) => s.wal.batchBytesTotal, {
    unit: "bytes",
  }),
  gauge(
    "wal_retained_bytes",
    "Bytes of log files kept until a checkpoint lets them go.",
    (s) => s.wal.retainedBytes,
    {
      unit: "bytes",
    },
  ),
  gauge("wal_pending_sync_bytes", "Bytes appended and not yet synced.", (s) => s.wal.pendingSyncBytes, {
    unit: "bytes",
  }),
  gauge("wal_files", "Log files on disk.", (s) => s.wal.fileCount),
  gauge("wal_durable_lsn", "Highest log sequence number known durable.", (s) => s.wal.durableLsn),
  gauge("wal_applied_lsn", "Highest log sequence number applied to the index.", (s) => s.wal.appliedLsn),
  gauge("wal_checkpoint_lsn", "Log sequence number of the last checkpoint.", (s) => s.wal.checkpointLsn),
  gauge(
    "wal_checkpoint_lag_lsn",
    "Log records applied but not yet covered by a checkpoint.",
    (s) => s.wal.checkpointLagLsn,
  ),
];

/** The reference's meters we do not export, each with why and what replaces it. */
export const DROPPED_REFERENCE_NAMES: readonly { readonly name: string; readonly reason: string }[] = [
  {
    name: "chunk_store_cache_entry_count",
    reason: "The chunk cache holds raw chunk pages, not parsed entries; its size is " +
      "chunk_store_cache_pages and its memory chunk_store_cache_bytes.",
  },
  {
    name: "chunk_store_cache_page_count",
    reason: "A gauge ending in _count fails promtool's lint (the suffix belongs to histograms and " +
      "summaries); the same value is chunk_store_cache_pages.",
  },
  {
    name: "chunk_store_cache_invalidation_total",
    reason: "Chunk files are immutable, so nothing is invalidated; pages of deleted files age out " +
      "and count as evictions.",
  },
  {
    name: "flush_busy_retry_total",
    reason: "Flush requests never meet a busy segment: they queue and coalesce. See flush_requests_total " +
      "and index_maintenance_queue_size.",
  },
  {
    name: "compact_busy_retry_total",
    reason: "Compaction requests queue and coalesce instead of retrying. See compact_requests_total.",
  },
  {
    name: "index_maintenance_queue_capacity",
    reason: "The queue holds at most one task per segment and kind, so it has no fixed capacity to report.",
  },
  {
    name: "index_maintenance_active_threads",
    reason: "One single-threaded worker; maintenance_in_flight says whether it is busy.",
  },
  {
    name: "index_maintenance_rejected_tasks_total",
    reason: "The queue never rejects; failed tasks count in maintenance_failures_total.",
  },
  {
    name: "split_maintenance_queue_size",
    reason: "Splits run on the one maintenance worker; waiting splits are split_schedule_total minus " +
      "split_maintenance_completed_tasks_total, the running one split_in_flight.",
  },
  { name: "split_maintenance_queue_capacity", reason: "No separate split executor; see split_in_flight." },
  {
    name: "split_maintenance_active_threads",
    reason: "No separate split executor; see maintenance_in_flight.",
  },
  {
    name: "split_maintenance_rejected_tasks_total",
    reason: "Splits are never rejected; failures count in maintenance_failures_total.",
  },
  {
    name: "stable_segment_maintenance_queue_size",
    reason: "There is no stable-segment executor: segments are maintained by the one worker " +
      "(index_maintenance_queue_size).",
  },
  { name: "stable_segment_maintenance_queue_capacity", reason: "No stable-segment executor." },
  {
    name: "stable_segment_maintenance_active_threads",
    reason: "No stable-segment executor; see maintenance_in_flight.",
  },
  {
    name: "stable_segment_maintenance_completed_tasks_total",
    reason: "No stable-segment executor; completed work is index_maintenance_completed_tasks_total.",
  },
  {
    name: "stable_segment_maintenance_caller_runs_total",
    reason: "The caller-runs fallback has no analogue: a write over a limit flushes inline, counted in " +
      "inline_flushes_total.",
  },
];
