/**
 * HestiaStore for TypeScript — the storage engine: an embeddable, ordered
 * key-value index on disk, with zero dependencies, running unchanged on
 * Deno and Node.
 *
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { INT32, MemoryFileSystem, SegmentIndex, STRING } from "./mod.ts";
 *
 * const index = await SegmentIndex.create("/db", {
 *   fs: new MemoryFileSystem(), // omit to store on disk through node:fs
 *   keyType: STRING,
 *   valueType: INT32,
 * });
 * index.put("apple", 3);
 * index.put("banana", 7);
 * assertEquals(index.get("apple"), 3);
 * assertEquals([...index.range({ gt: "apple" })], [["banana", 7]]);
 * await index.flush(); // durable from here on
 * await index.close();
 * ```
 *
 * @module
 */
export {
  type BatchOp,
  type ConsistencyReport,
  type IndexConfig,
  type IndexState,
  RangeIterator,
  type RangeOptions,
  SegmentIndex,
} from "./segment_index.ts";
export { BulkLoader } from "./bulk_loader.ts";
export type {
  CacheMetrics,
  HistogramBucket,
  HistogramSnapshot,
  MetricsSnapshot,
  SegmentMetrics,
  Timestamp,
} from "./metrics.ts";
export type { CorruptionPolicy, Durability, RecoveryReport, WalStats } from "./wal/write_ahead_log.ts";
export {
  type SegmentIndexOptions,
  TUNABLE_KEYS,
  type TunableKey,
  type Tuning,
  type TuningProblem,
} from "./options.ts";
export {
  BYTES,
  compareBytes,
  FLOAT64,
  INT32,
  INT64,
  JSON_VALUE,
  type JsonValue,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  STRING,
  type TypeDescriptor,
} from "./type_descriptor.ts";
export {
  AlreadyExistsError,
  ClosedError,
  ConflictError,
  CorruptionError,
  HestiaStoreError,
  IoError,
  LockedError,
  NotFoundError,
  StateError,
  UnsupportedFormatError,
} from "./errors.ts";
export type { FileHandle, FileInfo, FileLock, FileSystem, OpenMode } from "./fs/file_system.ts";
export { NodeFileSystem } from "./fs/node_fs.ts";
export { MemoryFileSystem } from "./fs/mem_fs.ts";
