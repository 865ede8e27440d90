/**
 * Options of a {@linkcode SegmentIndex}, their defaults, and the runtime
 * tuning rules. Options are validated once, when the index is created or
 * opened; a bad value throws `TypeError` or `RangeError` naming the option.
 *
 * Three kinds of option:
 * - fixed: recorded in the index manifest at create; reopening with a
 *   different value is refused (`keyType`, `valueType`, `chunkKeyLimit`,
 *   `chunkByteTarget`, `bloomBitsPerKey`, `wal`, `durability`);
 * - tunable: may change on a live index through `applyConfig()` (the
 *   {@linkcode TUNABLE_KEYS}), persisted in the manifest;
 * - per open: `fs`, `clock`, `deltaFileLimit` and the write-ahead log's
 *   file size, retention limit and corruption policy.
 *
 * @module
 */
import type { FileSystem } from "./fs/file_system.ts";
import type { CorruptionPolicy, Durability } from "./wal/write_ahead_log.ts";
import { type TypeDescriptor } from "./type_descriptor.ts";

/** Options of `SegmentIndex.create()` and `SegmentIndex.open()`. */
export interface SegmentIndexOptions<K, V> {
  /** How keys are encoded and ordered. Fixed at create. @default STRING */
  keyType?: TypeDescriptor<K>;
  /** How values are encoded. Fixed at create. @default STRING */
  valueType?: TypeDescriptor<V>;
  /** Storage. @default a NodeFileSystem */
  fs?: FileSystem;
  /** Name reported by metrics and the agent. @default the directory's last path segment */
  name?: string;
  /** Epoch-millisecond clock, injectable for tests. @default Date.now */
  clock?: () => number;
  /** Most entries per chunk (one chunk is one read). Fixed at create. @default 64 */
  chunkKeyLimit?: number;
  /** A chunk closes once its payload reaches this many bytes. Fixed at create. @default 4096 */
  chunkByteTarget?: number;
  /** Bloom filter bits per key; 0 disables the filters. Fixed at create. @default 10 */
  bloomBitsPerKey?: number;
  /**
   * Keep a write-ahead log, so that a write is durable before a flush.
   * Without it a write survives a crash only once a later `flush()` or
   * `close()` completed. Fixed at create. @default true
   */
  wal?: boolean;
  /**
   * When a write's promise resolves (with the log on): `sync` after an
   * fsync of its own record, `group` after an fsync shared by the writes
   * of the same moment, `none` at once (no fsync; the log hands the records
   * of one event-loop turn to the OS together at the end of that turn, so a
   * caller that awaits the promise resumes after the OS has its record).
   * Fixed at create. @default "group"
   */
  durability?: Durability;
  /** Size at which a log file is rotated. @default 67108864 (64 MiB) */
  walSegmentBytes?: number;
  /**
   * Log bytes kept before writers wait for a flush and checkpoint to trim
   * the log (backpressure). @default 268435456 (256 MiB)
   */
  walMaxRetainedBytes?: number;
  /**
   * What opening does with a torn or damaged log tail: cut it and report
   * the bytes dropped, or refuse with `CorruptionError`.
   * @default "truncate-invalid-tail"
   */
  walCorruptionPolicy?: CorruptionPolicy;
  /**
   * Metrics recording: `false` records nothing (no counters, no timing);
   * otherwise one operation in `sampleEvery` is timed into the latency
   * histograms, with `clock` (high-resolution milliseconds).
   * @default { sampleEvery: 64, clock: performance.now }
   */
  metrics?: false | { sampleEvery?: number; clock?: () => number };
  /** A segment's delta files that trigger its compaction. @default 8 */
  deltaFileLimit?: number;
  /** Buffered writes of one segment that schedule its flush. Tunable. @default 20000 */
  segmentWriteCacheKeyLimit?: number;
  /**
   * Buffered writes of one segment at which a write flushes it inline
   * instead of waiting for background maintenance. Must exceed
   * `segmentWriteCacheKeyLimit`. Tunable.
   * @default ceil(1.4 × segmentWriteCacheKeyLimit)
   */
  segmentWriteCacheKeyLimitDuringMaintenance?: number;
  /**
   * Buffered writes across the whole index at which a write flushes the
   * largest segment cache inline. Tunable. @default 200000
   */
  indexBufferedWriteKeyLimit?: number;
  /** A segment with at least this many keys after compaction splits in two. Tunable. @default 500000 */
  segmentSplitKeyThreshold?: number;
  /**
   * Segments whose filters and sparse indexes stay loaded (LRU). A get in an
   * unloaded segment reopens its table files and reads both, which costs
   * milliseconds, so keep it at least the segment count of the working set.
   * A loaded segment holds its Bloom filter (`bloomBitsPerKey` per key) and
   * one sparse-index entry per chunk. Tunable. @default 256
   */
  segmentCacheLimit?: number;
  /** Chunks kept in memory (LRU), about 4 KiB each with the default `chunkByteTarget`. Tunable. @default 8192 */
  chunkCacheLimit?: number;
}

/** The options that may change on a live index. */
export const TUNABLE_KEYS = [
  "segmentWriteCacheKeyLimit",
  "segmentWriteCacheKeyLimitDuringMaintenance",
  "indexBufferedWriteKeyLimit",
  "segmentSplitKeyThreshold",
  "segmentCacheLimit",
  "chunkCacheLimit",
] as const;

export type TunableKey = typeof TUNABLE_KEYS[number];

/** Values of every tunable option. */
export type Tuning = Record<TunableKey, number>;

/** The options fixed at create, as the manifest records them. */
export interface FixedOptions {
  keyType: string;
  valueType: string;
  chunkKeyLimit: number;
  chunkByteTarget: number;
  bloomBitsPerKey: number;
  wal: boolean;
  durability: Durability;
}

export const DEFAULTS = {
  chunkKeyLimit: 64,
  chunkByteTarget: 4096,
  bloomBitsPerKey: 10,
  deltaFileLimit: 8,
  segmentWriteCacheKeyLimit: 20_000,
  indexBufferedWriteKeyLimit: 200_000,
  segmentSplitKeyThreshold: 500_000,
  segmentCacheLimit: 256,
  chunkCacheLimit: 8192,
  latencySampleEvery: 64,
} as const;

/** One rejected value, from {@linkcode validateTuning}. */
export interface TuningProblem {
  key: string;
  message: string;
}

const MAX_LIMIT = 1_000_000_000;

/** Throws unless `value` is an integer in [min, max]. */
export function checkInteger(name: string, value: unknown, min: number, max = MAX_LIMIT): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`Option '${name}' must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`Option '${name}' must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  return String(value);
}

/** Default during-maintenance limit for a given per-segment write-cache limit. */
export function defaultDuringMaintenance(writeCacheLimit: number): number {
  return Math.max(writeCacheLimit + 1, Math.ceil(writeCacheLimit * 1.4));
}

/**
 * Checks every value of a complete tuning, then the cross-key rules.
 * Returns the problems; an empty list means the tuning is valid.
 */
export function validateTuning(values: Record<string, unknown>): TuningProblem[] {
  const problems: TuningProblem[] = [];
  for (const key of Object.keys(values)) {
    if (!(TUNABLE_KEYS as readonly string[]).includes(key)) {
      problems.push({
        key,
        message: `'${key}' is not a tunable option (supported: ${TUNABLE_KEYS.join(", ")})`,
      });
    }
  }
  for (const key of TUNABLE_KEYS) {
    try {
      checkInteger(key, values[key], 1);
    } catch (e) {
      problems.push({ key, message: (e as Error).message });
    }
  }
  if (problems.length > 0) return problems;
  const t = values as Tuning;
  if (t.segmentWriteCacheKeyLimitDuringMaintenance <= t.segmentWriteCacheKeyLimit) {
    problems.push({
      key: "segmentWriteCacheKeyLimitDuringMaintenance",
      message:
        `'segmentWriteCacheKeyLimitDuringMaintenance' (${t.segmentWriteCacheKeyLimitDuringMaintenance}) ` +
        `must be greater than 'segmentWriteCacheKeyLimit' (${t.segmentWriteCacheKeyLimit})`,
    });
  }
  if (t.indexBufferedWriteKeyLimit < t.segmentWriteCacheKeyLimitDuringMaintenance) {
    problems.push({
      key: "indexBufferedWriteKeyLimit",
      message: `'indexBufferedWriteKeyLimit' (${t.indexBufferedWriteKeyLimit}) must be at least ` +
        `'segmentWriteCacheKeyLimitDuringMaintenance' (${t.segmentWriteCacheKeyLimitDuringMaintenance})`,
    });
  }
  if (t.segmentSplitKeyThreshold < t.segmentWriteCacheKeyLimitDuringMaintenance) {
    problems.push({
      key: "segmentSplitKeyThreshold",
      message: `'segmentSplitKeyThreshold' (${t.segmentSplitKeyThreshold}) must be at least ` +
        `'segmentWriteCacheKeyLimitDuringMaintenance' (${t.segmentWriteCacheKeyLimitDuringMaintenance})`,
    });
  }
  return problems;
}

/** Fills tunable defaults from `options` over `base` and throws on the first problem. */
export function resolveTuning(options: Partial<Tuning>, base?: Tuning): Tuning {
  const w = options.segmentWriteCacheKeyLimit ?? base?.segmentWriteCacheKeyLimit ??
    DEFAULTS.segmentWriteCacheKeyLimit;
  const tuning: Tuning = {
    segmentWriteCacheKeyLimit: w,
    segmentWriteCacheKeyLimitDuringMaintenance: options.segmentWriteCacheKeyLimitDuringMaintenance ??
      (options.segmentWriteCacheKeyLimit === undefined
        ? base?.segmentWriteCacheKeyLimitDuringMaintenance
        : undefined) ??
      defaultDuringMaintenance(typeof w === "number" ? w : DEFAULTS.segmentWriteCacheKeyLimit),
    indexBufferedWriteKeyLimit: options.indexBufferedWriteKeyLimit ?? base?.indexBufferedWriteKeyLimit ??
      DEFAULTS.indexBufferedWriteKeyLimit,
    segmentSplitKeyThreshold: options.segmentSplitKeyThreshold ?? base?.segmentSplitKeyThreshold ??
      DEFAULTS.segmentSplitKeyThreshold,
    segmentCacheLimit: options.segmentCacheLimit ?? base?.segmentCacheLimit ?? DEFAULTS.segmentCacheLimit,
    chunkCacheLimit: options.chunkCacheLimit ?? base?.chunkCacheLimit ?? DEFAULTS.chunkCacheLimit,
  };
  const problems = validateTuning(tuning);
  if (problems.length > 0) {
    const first = problems[0];
    throw first.message.includes("must be an integer")
      ? new TypeError(first.message)
      : new RangeError(first.message);
  }
  return tuning;
}

/** Validates and fills the fixed options of a new index. */
export function resolveFixed<K, V>(
  options: SegmentIndexOptions<K, V>,
  keyType: TypeDescriptor<K>,
  valueType: TypeDescriptor<V>,
): FixedOptions {
  return {
    keyType: keyType.name,
    valueType: valueType.name,
    chunkKeyLimit: checkInteger("chunkKeyLimit", options.chunkKeyLimit ?? DEFAULTS.chunkKeyLimit, 1, 65_536),
    chunkByteTarget: checkInteger(
      "chunkByteTarget",
      options.chunkByteTarget ?? DEFAULTS.chunkByteTarget,
      256,
      16 * 1024 * 1024,
    ),
    bloomBitsPerKey: checkInteger(
      "bloomBitsPerKey",
      options.bloomBitsPerKey ?? DEFAULTS.bloomBitsPerKey,
      0,
      64,
    ),
    wal: checkBoolean("wal", options.wal ?? true),
    durability: checkDurability(options.durability ?? "group"),
  };
}

function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(`Option '${name}' must be a boolean, got ${describe(value)}`);
  }
  return value;
}

/** Throws unless `value` is a durability mode. */
export function checkDurability(value: unknown): Durability {
  if (value !== "sync" && value !== "group" && value !== "none") {
    throw new TypeError(`Option 'durability' must be "sync", "group" or "none", got ${describe(value)}`);
  }
  return value;
}

/**
 * Throws `TypeError` if reopening asks for a fixed option different from
 * what the index was created with.
 */
export function checkFixedUnchanged(recorded: FixedOptions, requested: Partial<FixedOptions>): void {
  for (const key of Object.keys(recorded) as (keyof FixedOptions)[]) {
    const want = requested[key];
    if (want !== undefined && want !== recorded[key]) {
      throw new TypeError(
        `Option '${key}' is fixed when the index is created (${describe(recorded[key])}) ` +
          `and can't be changed to ${describe(want)}`,
      );
    }
  }
}
