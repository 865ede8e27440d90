/**
 * Fixed metrics snapshots for the exporter tests: every field set by hand
 * (histograms from fixed observations), so the exposition is the same on
 * every run and runtime and can be kept as a golden file.
 *
 * @module
 */
import type { IndexState, MetricsSnapshot } from "../../engine/mod.ts";
import { Histogram } from "../../engine/_histogram.ts";
import { deepFreeze } from "../../engine/metrics.ts";

/** The values behind the reference exporter test's nine checked series (besides `index_up`). */
export interface ReferenceValues {
  readonly gets: number;
  readonly puts: number;
  readonly deletes: number;
  readonly segmentWriteCacheKeyLimit: number;
  readonly segmentWriteCacheKeyLimitDuringMaintenance: number;
  readonly indexBufferedWriteKeyLimit: number;
  readonly splitScheduled: number;
  readonly splitInFlight: number;
}

/** The reference test's READY snapshot. */
export const READY_VALUES: ReferenceValues = {
  gets: 1,
  puts: 2,
  deletes: 3,
  segmentWriteCacheKeyLimit: 7,
  segmentWriteCacheKeyLimitDuringMaintenance: 11,
  indexBufferedWriteKeyLimit: 29,
  splitScheduled: 37,
  splitInFlight: 2,
};

/** The reference test's values after the index CLOSED. */
export const CLOSED_VALUES: ReferenceValues = {
  gets: 5,
  puts: 8,
  deletes: 13,
  segmentWriteCacheKeyLimit: 9,
  segmentWriteCacheKeyLimitDuringMaintenance: 13,
  indexBufferedWriteKeyLimit: 15,
  splitScheduled: 41,
  splitInFlight: 0,
};

/** The nine series of the reference test, with the value each takes from a state and {@linkcode ReferenceValues}. */
export const REFERENCE_SERIES: readonly {
  readonly name: string;
  readonly value: (v: ReferenceValues, state: IndexState) => number;
}[] = [
  { name: "ops_get_total", value: (v) => v.gets },
  { name: "ops_put_total", value: (v) => v.puts },
  { name: "ops_delete_total", value: (v) => v.deletes },
  { name: "segment_write_cache_key_limit", value: (v) => v.segmentWriteCacheKeyLimit },
  {
    name: "segment_write_cache_key_limit_during_maintenance",
    value: (v) => v.segmentWriteCacheKeyLimitDuringMaintenance,
  },
  { name: "index_buffered_write_key_limit", value: (v) => v.indexBufferedWriteKeyLimit },
  { name: "split_schedule_total", value: (v) => v.splitScheduled },
  { name: "split_in_flight", value: (v) => v.splitInFlight },
  { name: "index_up", value: (_, state) => state === "READY" ? 1 : 0 },
];

function histogram(observations: readonly number[]) {
  const h = new Histogram();
  for (const seconds of observations) h.observe(seconds);
  return h.snapshot();
}

function timestamp(epochMs: number) {
  return { iso: new Date(epochMs).toISOString(), epochMs };
}

/**
 * A complete snapshot of index `indexName` in `state`: the reference fields
 * from `ref`, every other counter and gauge a distinct value derived from
 * `base`, a few fractional and large values to exercise number formatting.
 */
export function fixedSnapshot(
  indexName: string,
  state: IndexState,
  ref: ReferenceValues,
  base = 100,
): MetricsSnapshot {
  let next = base;
  const n = () => next++;
  const opened = 1_767_225_600_000 + base * 1000;
  return deepFreeze({
    indexName,
    state,
    openedAt: timestamp(opened),
    capturedAt: timestamp(opened + 60_000),
    operations: { gets: ref.gets, puts: ref.puts, deletes: ref.deletes, batches: n(), ranges: n() },
    segmentCache: { hits: n(), misses: n(), loads: n(), evictions: n(), size: n(), limit: n() },
    chunkCache: {
      hits: n(),
      misses: n(),
      loads: n(),
      evictions: n(),
      size: n(),
      limit: n(),
      bytes: n() * 4096,
    },
    segments: {
      count: n(),
      ready: n(),
      maintenance: n(),
      error: 0,
      loaded: n(),
      unloaded: n(),
      totalKeys: n() * 1000,
      bufferedKeys: n(),
      deltaFiles: n(),
      diskBytes: 2 ** 53,
      loadedSegments: [],
    },
    writePath: {
      segmentWriteCacheKeyLimit: ref.segmentWriteCacheKeyLimit,
      segmentWriteCacheKeyLimitDuringMaintenance: ref.segmentWriteCacheKeyLimitDuringMaintenance,
      indexBufferedWriteKeyLimit: ref.indexBufferedWriteKeyLimit,
      bufferedKeys: n(),
      flushingKeys: n(),
      inlineFlushes: n(),
      backpressureWaits: n(),
    },
    maintenance: {
      flushRequests: n(),
      flushes: n(),
      compactRequests: n(),
      compactions: n(),
      flushAcceptedToDoneP95Micros: 1800,
      compactAcceptedToDoneP95Micros: 5600.5,
      queued: n(),
      inFlight: 1,
      commits: n(),
      failures: n(),
    },
    split: {
      scheduled: ref.splitScheduled,
      completed: n(),
      inFlight: ref.splitInFlight,
      startDelayP95Micros: 320,
      runP95Micros: 56000,
    },
    latency: {
      sampleEvery: 64,
      get: histogram([0.0000005, 0.000002, 0.000002, 0.00004, 0.0012, 0.25]),
      write: histogram([0.00001, 0.0001, 0.001, 0.01, 0.1, 1, 10, 20]),
    },
    bloomFilter: {
      bitsPerKey: 10,
      hashFunctions: 7,
      falsePositiveProbability: 0.0082,
      requests: n(),
      refused: n(),
      positives: n(),
      falsePositives: n(),
    },
    wal: {
      enabled: true,
      durability: "group",
      appends: n(),
      appendedBytes: n() * 100,
      syncs: n(),
      syncFailures: 0,
      corruptions: 0,
      truncations: 0,
      retainedBytes: n() * 1024,
      fileCount: 2,
      durableLsn: n(),
      checkpointLsn: n(),
      appliedLsn: n(),
      checkpointLagLsn: n(),
      pendingSyncBytes: 0,
      syncSecondsTotal: 1.25,
      syncSecondsMax: 0.125,
      syncAverageSeconds: 0.0125,
      batchBytesTotal: n() * 100,
      batchBytesMax: 4096,
      syncAverageBatchBytes: 512,
    },
  });
}

/** The golden files' two indexes, both READY: `orders` with the reference values, and `customers`. */
export function twoIndexes(): MetricsSnapshot[] {
  const customers: ReferenceValues = {
    gets: 17,
    puts: 19,
    deletes: 23,
    segmentWriteCacheKeyLimit: 20000,
    segmentWriteCacheKeyLimitDuringMaintenance: 28000,
    indexBufferedWriteKeyLimit: 200000,
    splitScheduled: 4,
    splitInFlight: 0,
  };
  // Given out of order: the exposition sorts indexes by name.
  return [
    fixedSnapshot("orders", "READY", READY_VALUES, 100),
    fixedSnapshot("customers", "READY", customers, 500),
  ];
}

/** The build labels used by every golden file. */
export const FIXED_BUILD = { version: "0.1.0", runtime: "test 1.0.0" } as const;
