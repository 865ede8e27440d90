/**
 * The segment index: an embeddable, ordered key-value store on disk.
 *
 * The key space is cut into segments, each covering the keys above the
 * previous segment's upper bound up to its own. A segment is
 * - a write cache in memory (the active map plus frozen layers kept for
 *   open iterators),
 * - delta tables, each the flushed contents of the write cache,
 * - a main table, the result of the last compaction (no tombstones).
 *
 * Reads look in that order, newest first. Writes apply synchronously to the
 * write cache. Maintenance — flushing a cache to a delta table, compacting a
 * segment's tables into a new main table, splitting a large segment in two —
 * runs in the background in slices of a few milliseconds, or inline when a
 * write-cache limit is reached and the background has not caught up.
 *
 * Tables are written once under fresh file numbers. The index manifest
 * (`MANIFEST`, replaced atomically) names the live tables of every segment;
 * it is the single commit point. A table reaches the manifest only after its
 * files are synced, and a table leaves the disk only after a manifest
 * without it is durable and no open iterator reads it. After a crash the
 * index holds exactly the state of the last durable manifest; leftover files
 * are removed at open.
 *
 * Writes are logged first in the write-ahead log (`wal/`), which is
 * replayed at open from its checkpoint: the highest sequence number whose
 * writes are all in tables named by a durable manifest.
 *
 * Files in an index directory:
 * - `MANIFEST` — the index manifest (format in docs/format.md and
 *   docs/engine.md);
 * - `LOCK` — held while the index is open;
 * - `wal/` — the write-ahead log (docs/wal.md);
 * - `NNNNNN.chunks`, `NNNNNN.sparse`, `NNNNNN.bloom` — one table.
 *
 * @module
 */
import {
  ArrayCursor,
  type Cursor,
  MergeCursor,
  ScanCursor,
  type StartBound,
  TableCursor,
} from "./_cursor.ts";
import { keyString } from "./_key_string.ts";
import { Lru } from "./_lru.ts";
import { ChunkCache } from "./_chunk_cache.ts";
import {
  type Entry,
  parseTableFileName,
  Probe,
  type ReadStats,
  TABLE_SUFFIXES,
  TableBuilder,
  type TableLayout,
  type TableMeta,
  tablePath,
  TableReader,
} from "./_table.ts";
import { checkAndRepair } from "./_consistency.ts";
import { type ScanRuns, TextRuns } from "./_text_runs.ts";
import { BulkLoader, type BulkLoadHost, type LoadedTable } from "./bulk_loader.ts";
import { Histogram } from "./_histogram.ts";
import { deepFreeze, type MetricsSnapshot, type SegmentMetrics } from "./metrics.ts";
import { bloomFalsePositiveRate, bloomHashCount } from "./format/bloom_filter.ts";
import {
  AlreadyExistsError,
  ClosedError,
  ConflictError,
  CorruptionError,
  HestiaStoreError,
  NotFoundError,
  StateError,
  UnsupportedFormatError,
} from "./errors.ts";
import { decodeManifest, encodeManifest } from "./format/manifest.ts";
import { writeFileAtomic } from "./fs/atomic.ts";
import { type RecoveryReport, type WalOp, type WalStats, WriteAheadLog } from "./wal/write_ahead_log.ts";
import type { FileHandle, FileLock, FileSystem } from "./fs/file_system.ts";
import { NodeFileSystem } from "./fs/node_fs.ts";
import { basename, dirname, joinPath } from "./fs/path.ts";
import {
  checkDurability,
  checkFixedUnchanged,
  DEFAULTS,
  type FixedOptions,
  resolveFixed,
  resolveTuning,
  type SegmentIndexOptions,
  TUNABLE_KEYS,
  type TunableKey,
  type Tuning,
  type TuningProblem,
  validateTuning,
} from "./options.ts";
import {
  assertKeyDescriptor,
  assertValueDescriptor,
  compareBytes,
  descriptorByName,
  encodeKey,
  encodeLookupKey,
  encodeValue,
  STRING,
  type TypeDescriptor,
} from "./type_descriptor.ts";

/** Lifecycle of an index. ERROR is sticky: only `close()` works after it. */
export type IndexState = "OPENING" | "READY" | "CLOSING" | "CLOSED" | "ERROR";

/** One operation of {@linkcode SegmentIndex.batch}. */
export type BatchOp<K, V> = { type: "put"; key: K; value: V } | { type: "delete"; key: K };

/** Bounds and direction of {@linkcode SegmentIndex.range}. Bounds are keys; each side takes one of its two forms. */
export interface RangeOptions<K> {
  gt?: K;
  gte?: K;
  lt?: K;
  lte?: K;
  /** Largest key first. @default false */
  reverse?: boolean;
  /** Stop after this many entries. @default unlimited */
  limit?: number;
}

/** The runtime configuration, from {@linkcode SegmentIndex.config}. */
export interface IndexConfig {
  /** Values when the index was opened. */
  original: Readonly<Tuning>;
  /** Values now. */
  current: Readonly<Tuning>;
  /** Bumped by every successful `applyConfig()`. */
  revision: number;
  supportedKeys: readonly TunableKey[];
}

/** What {@linkcode SegmentIndex.checkAndRepairConsistency} checked and did. */
export interface ConsistencyReport {
  segmentsChecked: number;
  tablesChecked: number;
  chunksChecked: number;
  keysChecked: number;
  /** Problems found, each with what was done about it. */
  problems: { table?: number; segment?: number; problem: string; action: string }[];
  /** Orphan files removed. */
  removedFiles: string[];
  /** Tables whose Bloom filter or sparse index was rebuilt from the data. */
  rebuilt: { fileNo: number; file: "bloom" | "sparse" }[];
}

const MANIFEST = "MANIFEST";
const LOCK = "LOCK";
/** Version of the JSON inside MANIFEST. Part of the on-disk format; bump instead of editing. */
const MANIFEST_VERSION = 1;
/** Frozen layers one segment keeps before they are merged into one. */
const MAX_LAYERS = 4;
/** A maintenance slice gives the event loop back after this many milliseconds. */
const SLICE_MS = 4;
const RESOLVED: Promise<void> = Promise.resolve();

/** A frozen write cache: immutable once frozen, sorted lazily for iterators. */
class Layer {
  readonly map: Map<string, Entry>;
  /** Open iterators that captured this layer while it was a segment's active map. */
  sharers = 0;
  /** A background flush is writing this layer to a delta table. */
  flushing = false;
  /** Smallest log sequence number of the writes in this layer (Infinity without a log). */
  minLsn = Infinity;
  #sorted: Entry[] | undefined;

  constructor(map: Map<string, Entry>) {
    this.map = map;
  }

  sorted(): Entry[] {
    if (!this.#sorted) {
      const keys = [...this.map.keys()].sort();
      this.#sorted = keys.map((k) => this.map.get(k)!);
    }
    return this.#sorted;
  }
}

interface SegmentVersion {
  readonly main: TableMeta | undefined;
  /** Oldest first. */
  readonly deltas: readonly TableMeta[];
  /** Oldest first. */
  readonly layers: readonly Layer[];
}

class Segment {
  readonly id: number;
  /** Exclusive lower bound; undefined for the first segment. */
  lower: Uint8Array | undefined;
  /** Inclusive upper bound; undefined for the last segment. */
  upper: Uint8Array | undefined;
  version: SegmentVersion;
  active = new Map<string, Entry>();
  /** Set while iterators share the active map; a write then freezes it first. */
  activeLayer: Layer | undefined;
  /** Keys in the active map and the layers (an upper bound: a key may be in several). */
  buffered = 0;
  /** Of those, keys in layers a background flush is writing. */
  flushingKeys = 0;
  /** Smallest log sequence number of the writes in the active map (Infinity without a log or writes). */
  activeMinLsn = Infinity;
  /** Table readers held while the segment is loaded. */
  readonly readers = new Map<number, TableReader>();
  queued = new Set<TaskKind>();
  /** When each queued task was accepted (high-resolution clock), for the accepted→done latency. */
  readonly queuedAt = new Map<TaskKind, number>();
  /** The maintenance the worker runs on this segment now. */
  busy: TaskKind | undefined;
  flushRequests = 0;
  compactRequests = 0;
  retired = false;

  constructor(
    id: number,
    lower: Uint8Array | undefined,
    upper: Uint8Array | undefined,
    version: SegmentVersion,
  ) {
    this.id = id;
    this.lower = lower;
    this.upper = upper;
    this.version = version;
  }

  get tableKeys(): number {
    let n = this.version.main?.entryCount ?? 0;
    for (const d of this.version.deltas) n += d.entryCount;
    return n;
  }
}

type TaskKind = "flush" | "compact" | "split";

interface SegmentSnapshot {
  segment: Segment;
  version: SegmentVersion;
  /** The active map shared at capture, if it held anything. */
  activeLayer: Layer | undefined;
}

interface ManifestJson {
  version: number;
  fixed: FixedOptions;
  tuning: Tuning;
  nextFileNo: number;
  nextSegmentId: number;
  segments: {
    id: number;
    upper: string | null;
    main: TableMeta | null;
    deltas: TableMeta[];
  }[];
}

function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => void };
  return new Promise((resolve) => g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0));
}

/**
 * An ordered key-value index on disk.
 *
 * `get` is synchronous. `put`, `delete` and `batch` apply synchronously — a
 * `get` right after sees the write — and return a promise that resolves
 * when the write is durable at the index's durability setting: after the
 * write-ahead log's fsync that covers it (`sync`, `group`), at once with
 * `none` (the log writes the records of one event-loop turn to the OS at the
 * end of that turn) or without a log (then a write is durable after the next
 * completed `flush()` or `close()`). The promise rejects if that fsync fails, and then
 * the index is in ERROR. It also waits while the log is over its retention
 * limit, until a flush and checkpoint trimmed it.
 *
 * Not safe to share across threads; safe to use from any number of async
 * tasks of one event loop.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { MemoryFileSystem, SegmentIndex, STRING, INT32 } from "./mod.ts";
 * const index = await SegmentIndex.create("/db", { fs: new MemoryFileSystem(), keyType: STRING, valueType: INT32 });
 * index.put("apple", 3);
 * index.put("pear", 5);
 * assertEquals(index.get("apple"), 3);
 * assertEquals([...index.range({ gte: "b" })], [["pear", 5]]);
 * await index.close();
 * ```
 */
export class SegmentIndex<K = string, V = string> {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #name: string;
  readonly #keyType: TypeDescriptor<K>;
  readonly #valueType: TypeDescriptor<V>;
  readonly #fixed: FixedOptions;
  readonly #layout: TableLayout;
  readonly #deltaFileLimit: number;
  readonly #lock: FileLock;
  readonly #openedAt: number;
  readonly #clock: () => number;
  readonly #original: Tuning;
  #tuning: Tuning;
  #revision = 0;
  #state: IndexState = "OPENING";
  #wal: WriteAheadLog | undefined;
  #recovery: RecoveryReport | undefined;
  /** The flush and checkpoint that trims an over-full log, while one runs. */
  #relief: Promise<void> | undefined;
  #error: Error | undefined;

  #segments: Segment[];
  #nextFileNo: number;
  #nextSegmentId: number;
  #buffered = 0;
  #flushingKeys = 0;

  readonly #loaded: Lru<Segment, true>;
  readonly #chunkCache: ChunkCache;
  readonly #readers = new Map<number, { reader: TableReader; pins: number }>();
  readonly #readStats: ReadStats = {
    bloomChecks: 0,
    bloomNegatives: 0,
    bloomFalsePositives: 0,
    chunkCacheHits: 0,
    chunkCacheMisses: 0,
  };

  readonly #counts = {
    gets: 0,
    puts: 0,
    deletes: 0,
    batches: 0,
    ranges: 0,
    segmentCacheHits: 0,
    segmentCacheMisses: 0,
    flushRequests: 0,
    flushes: 0,
    inlineFlushes: 0,
    compactRequests: 0,
    compactions: 0,
    splitsScheduled: 0,
    splits: 0,
    commits: 0,
    failures: 0,
    backpressureWaits: 0,
  };
  /** False when metrics recording is off: no counting, no timing. */
  readonly #recording: boolean;
  readonly #sampleEvery: number;
  readonly #hrClock: () => number;
  #getSample: number;
  #writeSample: number;
  readonly #getLatency = new Histogram();
  readonly #writeLatency = new Histogram();
  readonly #flushLatency = new Histogram();
  readonly #compactLatency = new Histogram();
  readonly #splitStartDelay = new Histogram();
  readonly #splitRun = new Histogram();

  /** Bumped by every change the manifest records. */
  #generation = 0;
  #durableGeneration = 0;
  #dirty = false;
  #unsynced: FileHandle[] = [];
  /** Tables no longer live, with the generation from which no manifest names them. */
  readonly #obsolete = new Map<number, number>();
  readonly #iterators = new Set<RangeIterator<K, V>>();
  readonly #loaders = new Set<BulkLoader<K, V>>();

  #tasks: { kind: TaskKind; segment: Segment }[] = [];
  #worker: Promise<void> | undefined;
  /** The background flush the worker runs now, if any: `flush()` waits for it. */
  #backgroundFlush: Promise<void> = RESOLVED;
  #commitChain: Promise<void> = RESOLVED;
  #closing: Promise<void> | undefined;
  /** Writes wait while a segment holds twice deltaFileLimit delta files, so compaction keeps up with a bulk load. */
  #stalled = false;
  #stallWaiters: (() => void)[] = [];

  private constructor(
    fs: FileSystem,
    dir: string,
    name: string,
    keyType: TypeDescriptor<K>,
    valueType: TypeDescriptor<V>,
    manifest: ManifestJson,
    lock: FileLock,
    clock: () => number,
    deltaFileLimit: number,
    metrics: MetricsOptions,
  ) {
    this.#recording = metrics !== false;
    this.#sampleEvery = metrics === false ? 0 : metrics.sampleEvery;
    this.#hrClock = metrics === false ? () => 0 : metrics.clock;
    this.#getSample = this.#writeSample = Math.max(1, this.#sampleEvery);
    this.#fs = fs;
    this.#dir = dir;
    this.#name = name;
    this.#keyType = keyType;
    this.#valueType = valueType;
    this.#fixed = manifest.fixed;
    this.#layout = {
      chunkKeyLimit: manifest.fixed.chunkKeyLimit,
      chunkByteTarget: manifest.fixed.chunkByteTarget,
      bloomBitsPerKey: manifest.fixed.bloomBitsPerKey,
    };
    this.#deltaFileLimit = deltaFileLimit;
    this.#lock = lock;
    this.#clock = clock;
    this.#openedAt = clock();
    this.#original = { ...manifest.tuning };
    this.#tuning = { ...manifest.tuning };
    this.#nextFileNo = manifest.nextFileNo;
    this.#nextSegmentId = manifest.nextSegmentId;
    let lower: Uint8Array | undefined;
    this.#segments = manifest.segments.map((s) => {
      const upper = s.upper === null ? undefined : fromHex(s.upper);
      const seg = new Segment(s.id, lower, upper, {
        main: s.main ?? undefined,
        deltas: s.deltas,
        layers: [],
      });
      lower = upper;
      return seg;
    });
    this.#loaded = new Lru(this.#tuning.segmentCacheLimit, (seg) => this.#unload(seg));
    this.#chunkCache = new ChunkCache(this.#tuning.chunkCacheLimit);
  }

  /**
   * Creates a new index in `directory` (created if missing).
   *
   * @throws {AlreadyExistsError} If `directory` already holds an index.
   * @throws {TypeError | RangeError} If an option is invalid.
   */
  static async create<K = string, V = string>(
    directory: string,
    options: SegmentIndexOptions<K, V> = {},
  ): Promise<SegmentIndex<K, V>> {
    const keyType = (options.keyType ?? STRING) as TypeDescriptor<K>;
    const valueType = (options.valueType ?? STRING) as TypeDescriptor<V>;
    assertKeyDescriptor(keyType as TypeDescriptor<unknown>);
    assertValueDescriptor(valueType as TypeDescriptor<unknown>);
    const fixed = resolveFixed(options, keyType, valueType);
    const tuning = resolveTuning(options);
    const deltaFileLimit = checkDeltaFileLimit(options.deltaFileLimit);
    const fs = options.fs ?? new NodeFileSystem();
    const manifestPath = joinPath(directory, MANIFEST);
    if (fs.stat(manifestPath)) throw new AlreadyExistsError(directory);
    // Every directory created here must reach the disk, or a crash could take the whole index with it.
    const created: string[] = [];
    for (let d = directory; fs.stat(d) === undefined && d !== dirname(d); d = dirname(d)) created.unshift(d);
    fs.mkdir(directory);
    for (const d of created) await fs.syncDir(dirname(d));
    const lock = fs.lock(joinPath(directory, LOCK));
    try {
      const manifest: ManifestJson = {
        version: MANIFEST_VERSION,
        fixed,
        tuning,
        nextFileNo: 1,
        nextSegmentId: 2,
        segments: [{ id: 1, upper: null, main: null, deltas: [] }],
      };
      await writeFileAtomic(fs, manifestPath, encodeManifest(manifest));
      const clock = options.clock ?? Date.now;
      const index = new SegmentIndex(
        fs,
        directory,
        options.name ?? basename(directory),
        keyType,
        valueType,
        manifest,
        lock,
        clock,
        deltaFileLimit,
        resolveMetrics(options.metrics),
      );
      await index.#start(options);
      return index;
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  /**
   * Opens an existing index. Fixed options, if given, must match what the
   * index was created with; tunable options given here override the values
   * the index recorded.
   *
   * @throws {NotFoundError} If `directory` holds no index.
   * @throws {LockedError} If another opener holds the index.
   * @throws {UnsupportedFormatError} If the index was written by a newer engine.
   * @throws {CorruptionError} If the manifest is damaged or names missing files, or (with the
   *   `fail-fast` policy) the write-ahead log has a torn or damaged record.
   */
  static async open<K = string, V = string>(
    directory: string,
    options: SegmentIndexOptions<K, V> = {},
  ): Promise<SegmentIndex<K, V>> {
    const fs = options.fs ?? new NodeFileSystem();
    const manifestPath = joinPath(directory, MANIFEST);
    if (!fs.stat(manifestPath)) {
      throw new NotFoundError(directory, {
        cause: new Error(`${directory} is not a HestiaStore index (no ${MANIFEST})`),
      });
    }
    const deltaFileLimit = checkDeltaFileLimit(options.deltaFileLimit);
    const lock = fs.lock(joinPath(directory, LOCK));
    try {
      const manifest = parseManifest(decodeManifest(fs.readFile(manifestPath), manifestPath), manifestPath);
      const keyType = resolveDescriptor("keyType", manifest.fixed.keyType, options.keyType) as TypeDescriptor<
        K
      >;
      const valueType = resolveDescriptor(
        "valueType",
        manifest.fixed.valueType,
        options.valueType,
      ) as TypeDescriptor<
        V
      >;
      checkFixedUnchanged(manifest.fixed, {
        chunkKeyLimit: options.chunkKeyLimit,
        chunkByteTarget: options.chunkByteTarget,
        bloomBitsPerKey: options.bloomBitsPerKey,
        wal: options.wal,
        durability: options.durability === undefined ? undefined : checkDurability(options.durability),
      });
      manifest.tuning = resolveTuning(options, manifest.tuning);
      removeOrphans(fs, directory, manifest);
      const clock = options.clock ?? Date.now;
      const index = new SegmentIndex(
        fs,
        directory,
        options.name ?? basename(directory),
        keyType,
        valueType,
        manifest,
        lock,
        clock,
        deltaFileLimit,
        resolveMetrics(options.metrics),
      );
      await index.#start(options);
      return index;
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  /** Opens the write-ahead log (replaying what it holds after the checkpoint), then goes READY. */
  async #start(options: SegmentIndexOptions<K, V>): Promise<void> {
    if (this.#fixed.wal) {
      const opened = await WriteAheadLog.open(this.#fs, this.#dir, {
        durability: this.#fixed.durability,
        segmentBytes: options.walSegmentBytes,
        maxRetainedBytes: options.walMaxRetainedBytes,
        corruptionPolicy: options.walCorruptionPolicy,
        clock: this.#recording ? this.#hrClock : undefined,
      }, (lsn, ops) => this.#replay(lsn, ops));
      this.#wal = opened.wal;
      this.#recovery = opened.report;
    }
    this.#state = "READY";
    this.#kick();
  }

  /** Opens the index in `directory`, or resolves to `undefined` if there is none. */
  static async tryOpen<K = string, V = string>(
    directory: string,
    options: SegmentIndexOptions<K, V> = {},
  ): Promise<SegmentIndex<K, V> | undefined> {
    const fs = options.fs ?? new NodeFileSystem();
    if (!fs.stat(joinPath(directory, MANIFEST))) return undefined;
    return await SegmentIndex.open(directory, { ...options, fs });
  }

  /** The index's name (metrics and the agent report it). */
  get name(): string {
    return this.#name;
  }

  /** The directory the index lives in. */
  get directory(): string {
    return this.#dir;
  }

  get state(): IndexState {
    return this.#state;
  }

  /** What the write-ahead log's recovery found and did at open (undefined without a log, or after create). */
  get recovery(): RecoveryReport | undefined {
    return this.#recovery;
  }

  /** When this open of the index began, in epoch milliseconds. Counters restart from zero at each open. */
  get openedAt(): number {
    return this.#openedAt;
  }

  /**
   * The runtime metrics snapshot: a deeply frozen plain object, taken in one
   * synchronous step, without I/O and without loading a segment. Counters
   * restart at zero at each open (see `openedAt`) and never go down while
   * the index is open. Every field is documented in docs/metrics.md.
   */
  metrics(): MetricsSnapshot {
    const now = this.#clock();
    const c = this.#counts;
    const t = this.#tuning;
    let totalKeys = 0, deltaFiles = 0, diskBytes = 0, busy = 0;
    for (const seg of this.#segments) {
      for (const table of this.#tablesOf(seg)) {
        totalKeys += table.entryCount;
        diskBytes += table.bytes;
      }
      deltaFiles += seg.version.deltas.length;
      if (seg.busy) busy++;
    }
    const loadedSegments: SegmentMetrics[] = [];
    for (const [seg] of this.#loaded.entries()) loadedSegments.push(this.#segmentMetrics(seg));
    const walStats = this.#wal?.stats();
    const bitsPerKey = this.#fixed.bloomBitsPerKey;
    return deepFreeze({
      indexName: this.#name,
      state: this.#state,
      openedAt: timestamp(this.#openedAt),
      capturedAt: timestamp(now),
      operations: { gets: c.gets, puts: c.puts, deletes: c.deletes, batches: c.batches, ranges: c.ranges },
      segmentCache: {
        hits: c.segmentCacheHits,
        misses: c.segmentCacheMisses,
        loads: c.segmentCacheMisses,
        evictions: this.#loaded.evictions,
        size: this.#loaded.size,
        limit: this.#loaded.limit,
      },
      chunkCache: {
        hits: this.#readStats.chunkCacheHits,
        misses: this.#readStats.chunkCacheMisses,
        loads: this.#readStats.chunkCacheMisses,
        evictions: this.#chunkCache.evictions,
        size: this.#chunkCache.size,
        limit: this.#chunkCache.limit,
        bytes: this.#chunkCache.weight,
      },
      segments: {
        count: this.#segments.length,
        ready: this.#state === "ERROR" ? 0 : this.#segments.length - busy,
        maintenance: busy,
        error: this.#state === "ERROR" ? this.#segments.length : 0,
        loaded: this.#loaded.size,
        unloaded: this.#segments.length - this.#loaded.size,
        totalKeys,
        bufferedKeys: this.#buffered,
        deltaFiles,
        diskBytes,
        loadedSegments,
      },
      writePath: {
        segmentWriteCacheKeyLimit: t.segmentWriteCacheKeyLimit,
        segmentWriteCacheKeyLimitDuringMaintenance: t.segmentWriteCacheKeyLimitDuringMaintenance,
        indexBufferedWriteKeyLimit: t.indexBufferedWriteKeyLimit,
        bufferedKeys: this.#buffered,
        flushingKeys: this.#flushingKeys,
        inlineFlushes: c.inlineFlushes,
        backpressureWaits: c.backpressureWaits,
      },
      maintenance: {
        flushRequests: c.flushRequests,
        flushes: c.flushes,
        compactRequests: c.compactRequests,
        compactions: c.compactions,
        flushAcceptedToDoneP95Micros: this.#flushLatency.quantileMicros(0.95),
        compactAcceptedToDoneP95Micros: this.#compactLatency.quantileMicros(0.95),
        queued: this.#tasks.length,
        inFlight: busy,
        commits: c.commits,
        failures: c.failures,
      },
      split: {
        scheduled: c.splitsScheduled,
        completed: c.splits,
        inFlight: this.#segments.some((seg) => seg.busy === "split") ? 1 : 0,
        startDelayP95Micros: this.#splitStartDelay.quantileMicros(0.95),
        runP95Micros: this.#splitRun.quantileMicros(0.95),
      },
      latency: {
        sampleEvery: this.#sampleEvery,
        get: this.#getLatency.snapshot(),
        write: this.#writeLatency.snapshot(),
      },
      bloomFilter: {
        bitsPerKey,
        hashFunctions: bitsPerKey > 0 ? bloomHashCount(bitsPerKey) : 0,
        falsePositiveProbability: bitsPerKey > 0 ? bloomFalsePositiveRate(bitsPerKey) : 1,
        requests: this.#readStats.bloomChecks,
        refused: this.#readStats.bloomNegatives,
        positives: this.#readStats.bloomChecks - this.#readStats.bloomNegatives,
        falsePositives: this.#readStats.bloomFalsePositives,
      },
      wal: walMetrics(this.#fixed, walStats),
    });
  }

  #segmentMetrics(seg: Segment): SegmentMetrics {
    let deltaKeys = 0, bloomRequests = 0, bloomRefused = 0, bloomFalsePositives = 0;
    for (const d of seg.version.deltas) deltaKeys += d.entryCount;
    if (this.#recording) {
      for (const reader of seg.readers.values()) {
        bloomRequests += reader.bloomRequests;
        bloomRefused += reader.bloomRefused;
        bloomFalsePositives += reader.bloomFalsePositives;
      }
    }
    const state = seg.busy === "flush"
      ? "FLUSHING"
      : seg.busy === "compact"
      ? "COMPACTING"
      : seg.busy === "split"
      ? "SPLITTING"
      : "READY";
    return {
      id: seg.id,
      state,
      mainKeys: seg.version.main?.entryCount ?? 0,
      deltaKeys,
      deltaFiles: seg.version.deltas.length,
      bufferedKeys: seg.buffered,
      flushRequests: seg.flushRequests,
      compactRequests: seg.compactRequests,
      bloomRequests,
      bloomRefused,
      bloomFalsePositives,
    };
  }

  /** Open iterators: each pins the tables of its snapshot until it is finished or closed. */
  get openIterators(): number {
    return this.#iterators.size;
  }

  /** The value stored for `key`, or `undefined` if there is none. */
  get(key: K): V | undefined {
    this.#checkReady();
    // Nothing on the read path keeps the key: the write caches are probed with a copy (keyString).
    const kb = encodeLookupKey(this.#keyType, key);
    if (this.#recording) {
      this.#counts.gets++;
      if (--this.#getSample === 0) {
        this.#getSample = this.#sampleEvery;
        const started = this.#hrClock();
        try {
          return this.#get(kb);
        } finally {
          this.#getLatency.observe((this.#hrClock() - started) / 1000);
        }
      }
    }
    return this.#get(kb);
  }

  #get(kb: Uint8Array): V | undefined {
    const value = this.#lookup(this.#route(kb), kb);
    return value ? this.#valueType.decode(value) : undefined;
  }

  /** Stores `value` under `key`. Applies at once; see the class doc for the returned promise. */
  put(key: K, value: V): Promise<void> {
    this.#checkReady();
    const kb = encodeKey(this.#keyType, key);
    const vb = encodeValue(this.#valueType, value);
    if (this.#recording) this.#counts.puts++;
    return this.#timedWrite([{ type: "put", key: kb, value: vb }]);
  }

  /** Removes `key` (a tombstone until compaction). Applies at once. */
  delete(key: K): Promise<void> {
    this.#checkReady();
    const kb = encodeKey(this.#keyType, key);
    if (this.#recording) this.#counts.deletes++;
    return this.#timedWrite([{ type: "delete", key: kb }]);
  }

  /**
   * Applies several puts and deletes, in order. Every operation is checked
   * before any applies: a bad one throws and leaves the index unchanged.
   */
  batch(ops: Iterable<BatchOp<K, V>>): Promise<void> {
    this.#checkReady();
    const encoded: WalOp[] = [];
    for (const op of ops) {
      if (op === null || typeof op !== "object") {
        throw new TypeError(`Batch operation must be an object, got ${op}`);
      }
      if (op.type === "put") {
        encoded.push({
          type: "put",
          key: encodeKey(this.#keyType, op.key),
          value: encodeValue(this.#valueType, op.value),
        });
      } else if (op.type === "delete") {
        encoded.push({ type: "delete", key: encodeKey(this.#keyType, op.key) });
      } else {
        const type = JSON.stringify((op as { type: unknown }).type);
        throw new TypeError(`Batch operation type must be "put" or "delete", got ${type}`);
      }
    }
    if (this.#recording) {
      this.#counts.batches++;
      for (const op of encoded) {
        if (op.type === "delete") this.#counts.deletes++;
        else this.#counts.puts++;
      }
    }
    return encoded.length === 0 ? RESOLVED : this.#timedWrite(encoded);
  }

  /**
   * Entries in key order (or reverse) between the bounds, as `[key, value]`
   * pairs. The iterator reads a snapshot taken now: writes, flushes,
   * compactions and splits that happen while it is open do not change what
   * it returns. Finish it or call `close()` (a `break` in `for…of` does)
   * to release what it holds.
   */
  range(options: RangeOptions<K> = {}): RangeIterator<K, V> {
    this.#checkReady();
    const lower = this.#bound(options, "gt", "gte");
    const upper = this.#bound(options, "lt", "lte");
    const limit = options.limit ?? Infinity;
    if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) {
      throw new RangeError(`Range option 'limit' must be a non-negative integer, got ${limit}`);
    }
    if (this.#recording) this.#counts.ranges++;
    const snapshots: SegmentSnapshot[] = [];
    let first = lower ? this.#routeIndex(lower.key) : 0;
    const last = upper ? this.#routeIndex(upper.key) : this.#segments.length - 1;
    const empty = lower && upper &&
      (compareBytes(lower.key, upper.key) > 0 ||
        (compareBytes(lower.key, upper.key) === 0 && (lower.exclusive || upper.exclusive)));
    if (empty || limit === 0) first = last + 1;
    for (let i = first; i <= last; i++) snapshots.push(this.#capture(this.#segments[i]));
    if (options.reverse) snapshots.reverse();
    const iterator = new RangeIterator<K, V>(
      this.#iteratorHost,
      snapshots,
      lower,
      upper,
      !!options.reverse,
      limit,
    );
    if (limit === 0) iterator.close();
    else this.#iterators.add(iterator);
    return iterator;
  }

  /**
   * Starts a sorted bulk load: the fast way to fill an index, or to append
   * above its largest key. See {@linkcode BulkLoader}: keys in increasing
   * order, above every key of the index; nothing is visible or durable
   * until `commit()`, and then all of it is. Puts in the metrics count each
   * loaded entry. `close()` aborts loads not yet committing their segments.
   */
  bulkLoad(): BulkLoader<K, V> {
    this.#checkReady();
    const loader = new BulkLoader<K, V>(this.#bulkLoadHost);
    this.#loaders.add(loader);
    return loader;
  }

  /** Flushes every write cache to disk; resolves once the data is durable. */
  async flush(): Promise<void> {
    this.#checkReady();
    if (this.#recording) this.#counts.flushRequests++;
    await this.#timed(this.#flushLatency, () => this.#flushNow());
  }

  /** Runs `work`, recording its duration in `histogram` when metrics are on. */
  async #timed(histogram: Histogram, work: () => Promise<void>): Promise<void> {
    const started = this.#hrClock();
    try {
      await work();
    } finally {
      if (this.#recording) histogram.observe((this.#hrClock() - started) / 1000);
    }
  }

  async #flushNow(): Promise<void> {
    this.#guard(() => {
      for (const seg of this.#segments) this.#spill(seg);
    });
    await this.#backgroundFlush.catch(() => {});
    // A close() that began meanwhile flushes and commits everything itself.
    if (this.#closing && this.#state !== "ERROR") return await this.#closing;
    this.#checkReady();
    await this.#commit();
  }

  /**
   * Flushes, then compacts every segment that has delta tables (splitting
   * those that grew past the threshold); resolves once all of it is durable.
   */
  async compact(): Promise<void> {
    this.#checkReady();
    if (this.#recording) this.#counts.compactRequests++;
    await this.#timed(this.#compactLatency, () => this.#compactNow());
  }

  async #compactNow(): Promise<void> {
    this.#guard(() => {
      for (const seg of this.#segments) this.#spill(seg);
    });
    for (const seg of this.#segments) {
      if (seg.version.deltas.length > 0) this.#enqueue("compact", seg);
      else if ((seg.version.main?.entryCount ?? 0) >= this.#tuning.segmentSplitKeyThreshold) {
        this.#enqueue("split", seg);
      }
    }
    await this.#idle();
    if (this.#closing && this.#state !== "ERROR") return await this.#closing;
    this.#checkReady();
    await this.#commit();
  }

  /** The runtime configuration: original and current values of every tunable option. */
  config(): IndexConfig {
    return {
      original: Object.freeze({ ...this.#original }),
      current: Object.freeze({ ...this.#tuning }),
      revision: this.#revision,
      supportedKeys: TUNABLE_KEYS,
    };
  }

  /** Checks a change of tunable options without applying it; returns the problems (none if valid). */
  validateConfig(patch: Partial<Record<string, unknown>>): TuningProblem[] {
    return validateTuning({ ...this.#tuning, ...patch });
  }

  /**
   * Applies a change of tunable options atomically: all of it or, with a
   * problem, none of it. The change is persisted with the next commit.
   *
   * @param expectedRevision If given, the change applies only if the configuration is still at this revision.
   * @throws {RangeError | TypeError} If a value or a cross-key rule is violated (the message lists every problem).
   * @throws {ConflictError} If the revision moved on.
   */
  applyConfig(patch: Partial<Record<string, unknown>>, expectedRevision?: number): IndexConfig {
    this.#checkReady();
    if (expectedRevision !== undefined && expectedRevision !== this.#revision) {
      throw new ConflictError(`The configuration of index '${this.#name}'`, expectedRevision, this.#revision);
    }
    const problems = this.validateConfig(patch);
    if (problems.length > 0) {
      const message = `Invalid configuration change: ${problems.map((p) => p.message).join("; ")}`;
      throw problems.some((p) =>
          p.message.includes("must be an integer") || p.message.includes("not a tunable")
        )
        ? new TypeError(message)
        : new RangeError(message);
    }
    this.#tuning = { ...this.#tuning, ...(patch as Partial<Tuning>) };
    this.#revision++;
    this.#loaded.limit = this.#tuning.segmentCacheLimit;
    this.#chunkCache.limit = this.#tuning.chunkCacheLimit;
    this.#changed();
    for (const seg of this.#segments) {
      this.#afterWrite(seg);
      const main = seg.version.main;
      if (main && main.entryCount >= this.#tuning.segmentSplitKeyThreshold) this.#enqueue("split", seg);
    }
    this.#kick();
    return this.config();
  }

  /**
   * Verifies every table of every segment — checksums of all files, key
   * order, that each key routes to its segment, Bloom filter membership of
   * every key — and that the manifest matches the files present. Rebuilds
   * a damaged Bloom filter or sparse index from the data and removes orphan
   * files. Data damage cannot be repaired: it is reported, and the index
   * moves to ERROR.
   */
  async checkAndRepairConsistency(): Promise<ConsistencyReport> {
    this.#checkReady();
    await this.#idle();
    this.#checkReady();
    const report = await checkAndRepair({
      fs: this.#fs,
      dir: this.#dir,
      layout: this.#layout,
      segments: this.#segments.map((s) => ({
        id: s.id,
        lower: s.lower,
        upper: s.upper,
        tables: this.#tablesOf(s),
      })),
      liveFiles: new Set([...this.#liveFileNos(), ...this.#obsolete.keys()]),
      dropReader: (fileNo) => this.#dropCachedReader(fileNo),
    });
    if (report.problems.some((p) => p.action.startsWith("none"))) {
      this.#fail(new CorruptionError(this.#dir, 0, report.problems.map((p) => p.problem).join("; ")));
    }
    return report;
  }

  /**
   * Flushes and closes the index and releases its lock. Open iterators are
   * closed. A second call returns the same promise; after it resolves,
   * further calls do nothing. Resolves only if everything written is
   * durable: closing an index in ERROR releases its resources and rejects
   * with the ERROR (`StateError`, the failure as `cause`).
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = this.#closeNow();
    return this.#closing;
  }

  async #closeNow(): Promise<void> {
    const failed = this.#state === "ERROR";
    if (!failed) this.#state = "CLOSING";
    this.#releaseStall();
    for (const loader of [...this.#loaders]) loader.abort();
    let error: unknown;
    try {
      await this.#idle();
      await this.#commitChain;
      if (!failed && this.#state === "CLOSING") {
        for (const seg of this.#segments) this.#spill(seg);
        this.#dirty = this.#dirty || this.#generation > this.#durableGeneration;
        // Through the chain, so it never overlaps a commit the worker or flush() started.
        await this.#commit();
      }
    } catch (e) {
      error = e;
    } finally {
      for (const it of [...this.#iterators]) it.close();
      await this.#wal?.close().catch((e) => error ??= e);
      for (const h of this.#unsynced) h.close();
      this.#unsynced = [];
      this.#loaded.clear();
      for (const { reader } of this.#readers.values()) reader.close();
      this.#readers.clear();
      this.#lock.release();
      this.#state = "CLOSED";
    }
    // ERROR before or during the close: what was written may not all be durable.
    if (this.#error !== undefined) throw this.#stateError();
    if (error !== undefined) throw error;
  }

  // ---- write path ----

  /** {@linkcode #write}, timed for one write in `sampleEvery`. */
  #timedWrite(ops: WalOp[]): Promise<void> {
    if (!this.#recording || --this.#writeSample !== 0) return this.#write(ops);
    this.#writeSample = this.#sampleEvery;
    const started = this.#hrClock();
    try {
      return this.#write(ops);
    } finally {
      this.#writeLatency.observe((this.#hrClock() - started) / 1000);
    }
  }

  /**
   * Logs the operations as one record (so recovery applies all or none),
   * applies them, and returns what the caller waits for: durability at the
   * log's setting, and room in the log when it is over its retention limit.
   */
  #write(ops: WalOp[]): Promise<void> {
    const wal = this.#wal;
    if (!wal) {
      for (const op of ops) this.#apply(op.key, op.value);
      return this.#stalled ? this.#stall(RESOLVED) : RESOLVED;
    }
    let appended;
    try {
      appended = wal.append(ops);
    } catch (e) {
      this.#fail(e);
      throw e;
    }
    for (const op of ops) this.#apply(op.key, op.type === "put" ? op.value : undefined, appended.lsn);
    if (!wal.overLimit) return this.#stalled ? this.#stall(appended.durable) : appended.durable;
    if (this.#recording) this.#counts.backpressureWaits++;
    return appended.durable.then(() => this.#relieve());
  }

  /** `done`, and then room: no segment over the delta-file stall limit, or no maintenance left to make it. */
  #stall(done: Promise<void>): Promise<void> {
    if (this.#recording) this.#counts.backpressureWaits++;
    const room = new Promise<void>((resolve) => this.#stallWaiters.push(resolve));
    return Promise.all([done, room]).then(() => {});
  }

  #updateStall(): void {
    const limit = 2 * this.#deltaFileLimit;
    this.#stalled = this.#state === "READY" && this.#segments.some((s) => s.version.deltas.length >= limit);
    if (!this.#stalled) this.#releaseStall();
  }

  #releaseStall(): void {
    this.#stalled = false;
    const waiters = this.#stallWaiters;
    this.#stallWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Flushes everything and checkpoints, so the log can be trimmed; concurrent callers share one run. */
  #relieve(): Promise<void> {
    this.#relief ??= (async () => {
      try {
        this.#checkReady();
        this.#guard(() => {
          for (const seg of this.#segments) this.#spill(seg);
        });
        await this.#backgroundFlush.catch(() => {});
        await this.#commit();
      } finally {
        this.#relief = undefined;
      }
    })();
    return this.#relief;
  }

  /** Applies a record the log replays at open. */
  #replay(lsn: number, ops: WalOp[]): void {
    for (const op of ops) this.#apply(op.key, op.type === "put" ? op.value : undefined, lsn);
  }

  #apply(kb: Uint8Array, vb: Uint8Array | undefined, lsn = Infinity): void {
    const seg = this.#route(kb);
    if (seg.activeLayer) {
      if (seg.activeLayer.sharers > 0) this.#freezeActive(seg);
      else seg.activeLayer = undefined;
    }
    const before = seg.active.size;
    seg.active.set(keyString(kb), { key: kb, value: vb });
    if (lsn < seg.activeMinLsn) seg.activeMinLsn = lsn;
    if (seg.active.size > before) {
      seg.buffered++;
      this.#buffered++;
    }
    this.#afterWrite(seg);
  }

  /** Enforces the write-cache limits after a write to `seg`. */
  #afterWrite(seg: Segment): void {
    const t = this.#tuning;
    const pending = seg.buffered - seg.flushingKeys;
    if (pending >= t.segmentWriteCacheKeyLimitDuringMaintenance) {
      this.#counts.inlineFlushes++;
      this.#guard(() => this.#spill(seg));
      this.#kick();
    } else if (pending >= t.segmentWriteCacheKeyLimit) {
      this.#enqueue("flush", seg);
    }
    if (this.#buffered - this.#flushingKeys >= t.indexBufferedWriteKeyLimit) {
      let largest = seg;
      for (const s of this.#segments) {
        if (s.buffered - s.flushingKeys > largest.buffered - largest.flushingKeys) largest = s;
      }
      this.#counts.inlineFlushes++;
      this.#guard(() => this.#spill(largest));
      this.#kick();
    }
  }

  /** Moves the active map into the frozen layers, so iterators that share it keep their view. */
  #freezeActive(seg: Segment): void {
    const layer = seg.activeLayer ?? new Layer(seg.active);
    layer.minLsn = seg.activeMinLsn;
    seg.activeMinLsn = Infinity;
    const flushing = seg.version.layers.filter((l) => l.flushing);
    let rest = [...seg.version.layers.filter((l) => !l.flushing), layer];
    if (rest.length > MAX_LAYERS) {
      const merged = new Map<string, Entry>();
      for (const l of rest) for (const [k, e] of l.map) merged.set(k, e);
      const mergedLayer = new Layer(merged);
      mergedLayer.minLsn = Math.min(...rest.map((l) => l.minLsn));
      rest = [mergedLayer];
    }
    // Layers being flushed were frozen first, so they stay the oldest.
    seg.version = { ...seg.version, layers: [...flushing, ...rest] };
    seg.active = new Map();
    seg.activeLayer = undefined;
    this.#recount(seg);
  }

  /** Recomputes the segment's buffered keys after its write cache changed shape. */
  #recount(seg: Segment): void {
    let n = seg.active.size;
    for (const layer of seg.version.layers) n += layer.map.size;
    this.#buffered += n - seg.buffered;
    seg.buffered = n;
  }

  /**
   * Writes the segment's write cache to a new delta table synchronously
   * (synced at the next commit): the active map and every layer except those
   * a background flush is writing.
   */
  #spill(seg: Segment): void {
    if (seg.buffered === 0 || seg.retired) return;
    const layers = seg.version.layers.filter((l) => !l.flushing);
    if (layers.length === 0 && seg.active.size === 0) return;
    let merged = seg.active;
    if (layers.length > 0) {
      merged = new Map<string, Entry>();
      for (const layer of layers) for (const [k, e] of layer.map) merged.set(k, e);
      for (const [k, e] of seg.active) merged.set(k, e);
    }
    // Binary strings sort in unsigned byte order, so the default sort orders the keys.
    const keys = [...merged.keys()].sort();
    const meta = this.#writeTable(keys.map((k) => merged.get(k)!));
    seg.version = {
      main: seg.version.main,
      deltas: [...seg.version.deltas, meta],
      layers: seg.version.layers.filter((l) => l.flushing),
    };
    seg.active = new Map();
    seg.activeLayer = undefined;
    seg.activeMinLsn = Infinity;
    this.#recount(seg);
    this.#flushed(seg);
  }

  #flushed(seg: Segment): void {
    this.#counts.flushes++;
    this.#changed();
    if (seg.version.deltas.length >= this.#deltaFileLimit) this.#enqueue("compact", seg);
  }

  /**
   * The background flush: freezes the write cache and writes it in slices,
   * yielding the event loop between them. Writes go on into a new active
   * map meanwhile; an inline flush during it writes only what came after, and
   * this delta takes its place below that newer one.
   */
  async #flushSegment(seg: Segment): Promise<void> {
    if (seg.retired || seg.version.layers.some((l) => l.flushing)) return;
    if (seg.active.size > 0) this.#freezeActive(seg);
    const layers = [...seg.version.layers];
    if (layers.length === 0) return;
    for (const layer of layers) {
      layer.flushing = true;
      seg.flushingKeys += layer.map.size;
    }
    this.#flushingKeys += seg.flushingKeys;
    const slot = seg.version.deltas.length;
    let builder: TableBuilder | undefined;
    try {
      let entries: Entry[];
      if (layers.length === 1) {
        entries = layers[0].sorted();
      } else {
        const merged = new Map<string, Entry>();
        for (const layer of layers) for (const [k, e] of layer.map) merged.set(k, e);
        entries = [...merged.keys()].sort().map((k) => merged.get(k)!);
      }
      builder = new TableBuilder(this.#fs, this.#dir, this.#nextFileNo++, this.#layout);
      let sliceStart = performance.now();
      for (let i = 0; i < entries.length; i++) {
        builder.add(entries[i].key, entries[i].value);
        if ((i & 255) === 255 && performance.now() - sliceStart > SLICE_MS) {
          await yieldToEventLoop();
          if (this.#state !== "READY" || seg.retired) {
            builder.abort();
            return;
          }
          sliceStart = performance.now();
        }
      }
      const { meta, unsynced } = builder.finish();
      builder = undefined;
      this.#unsynced.push(...unsynced);
      const deltas = [...seg.version.deltas];
      deltas.splice(slot, 0, meta);
      seg.version = {
        main: seg.version.main,
        deltas,
        layers: seg.version.layers.filter((l) => !layers.includes(l)),
      };
      this.#recount(seg);
      this.#flushed(seg);
    } catch (e) {
      builder?.abort();
      throw e;
    } finally {
      for (const layer of layers) layer.flushing = false;
      this.#flushingKeys -= seg.flushingKeys;
      seg.flushingKeys = 0;
    }
  }

  #writeTable(entries: Iterable<Entry>): TableMeta {
    const builder = new TableBuilder(this.#fs, this.#dir, this.#nextFileNo++, this.#layout);
    try {
      for (const e of entries) builder.add(e.key, e.value);
      return this.#finishTable(builder);
    } catch (e) {
      builder.abort();
      throw e;
    }
  }

  // ---- read path ----

  #routeIndex(kb: Uint8Array): number {
    const segs = this.#segments;
    let lo = 0, hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(segs[mid].upper!, kb) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #route(kb: Uint8Array): Segment {
    return this.#segments[this.#routeIndex(kb)];
  }

  /** The key's value in the segment: bytes, `null` for a tombstone, `undefined` when no source has it. */
  #lookup(seg: Segment, kb: Uint8Array): Uint8Array | null | undefined {
    if (seg.buffered > 0) {
      const ks = keyString(kb);
      const hit = seg.active.get(ks);
      if (hit) return hit.value ?? null;
      const layers = seg.version.layers;
      for (let i = layers.length - 1; i >= 0; i--) {
        const e = layers[i].map.get(ks);
        if (e) return e.value ?? null;
      }
    }
    const { main, deltas } = seg.version;
    if (!main && deltas.length === 0) return undefined;
    return this.#guard(() => {
      this.#touch(seg);
      const probe = new Probe(kb);
      for (let i = deltas.length - 1; i >= 0; i--) {
        const value = this.#segmentReader(seg, deltas[i]).get(probe);
        if (value !== undefined) return value;
      }
      return main ? this.#segmentReader(seg, main).get(probe) : undefined;
    });
  }

  #touch(seg: Segment): void {
    if (this.#loaded.get(seg) === undefined) {
      this.#loaded.set(seg, true);
      if (this.#recording) this.#counts.segmentCacheMisses++;
    } else if (this.#recording) {
      this.#counts.segmentCacheHits++;
    }
  }

  #unload(seg: Segment): void {
    for (const fileNo of seg.readers.keys()) this.#releaseReader(fileNo);
    seg.readers.clear();
  }

  #segmentReader(seg: Segment, meta: TableMeta): TableReader {
    let reader = seg.readers.get(meta.fileNo);
    if (!reader) {
      reader = this.#acquireReader(meta);
      seg.readers.set(meta.fileNo, reader);
    }
    return reader;
  }

  #acquireReader(meta: TableMeta): TableReader {
    let slot = this.#readers.get(meta.fileNo);
    if (!slot) {
      slot = {
        // With recording off the counts go to a scratch object nobody reads.
        reader: new TableReader(
          this.#fs,
          this.#dir,
          meta,
          this.#layout,
          this.#chunkCache,
          this.#recording ? this.#readStats : { ...this.#readStats },
        ),
        pins: 0,
      };
      this.#readers.set(meta.fileNo, slot);
    }
    slot.pins++;
    return slot.reader;
  }

  #releaseReader(fileNo: number): void {
    const slot = this.#readers.get(fileNo);
    if (!slot) return;
    if (--slot.pins === 0) {
      slot.reader.close();
      this.#readers.delete(fileNo);
    }
  }

  /** Releases the segment's readers of tables its version no longer names. */
  #dropStaleReaders(seg: Segment): void {
    const live = new Set(this.#tablesOf(seg).map((t) => t.fileNo));
    for (const fileNo of [...seg.readers.keys()]) {
      if (!live.has(fileNo)) {
        seg.readers.delete(fileNo);
        this.#releaseReader(fileNo);
      }
    }
  }

  #dropCachedReader(fileNo: number): void {
    for (const seg of this.#segments) {
      if (seg.readers.delete(fileNo)) this.#releaseReader(fileNo);
    }
  }

  #tablesOf(seg: Segment): TableMeta[] {
    return seg.version.main ? [seg.version.main, ...seg.version.deltas] : [...seg.version.deltas];
  }

  // ---- iterators ----

  #bound(options: RangeOptions<K>, exclusive: "gt" | "lt", inclusive: "gte" | "lte"): StartBound | undefined {
    if (options[exclusive] !== undefined && options[inclusive] !== undefined) {
      throw new TypeError(`Range options '${exclusive}' and '${inclusive}' can't both be given`);
    }
    if (options[exclusive] !== undefined) {
      return { key: encodeKey(this.#keyType, options[exclusive]), exclusive: true };
    }
    if (options[inclusive] !== undefined) {
      return { key: encodeKey(this.#keyType, options[inclusive]), exclusive: false };
    }
    return undefined;
  }

  #capture(seg: Segment): SegmentSnapshot {
    let activeLayer: Layer | undefined;
    if (seg.active.size > 0) {
      seg.activeLayer ??= new Layer(seg.active);
      activeLayer = seg.activeLayer;
      activeLayer.sharers++;
    }
    return { segment: seg, version: seg.version, activeLayer };
  }

  /** What iterators may use of the index, without access to the rest. */
  readonly #iteratorHost: IteratorHost<K, V> = {
    keyType: () => this.#keyType,
    valueType: () => this.#valueType,
    check: () => this.#checkOpen(),
    acquire: (meta, seg) =>
      this.#guard(() => {
        // Also load the reader into the segment, as a get would: a reader only the iterator pins
        // is closed when it finishes, so every short range would reopen the table and decode its
        // sparse index again.
        const { main, deltas } = seg.version;
        if (!seg.retired && (main?.fileNo === meta.fileNo || deltas.some((d) => d.fileNo === meta.fileNo))) {
          this.#touch(seg);
          this.#segmentReader(seg, meta);
        }
        return this.#acquireReader(meta);
      }),
    release: (fileNo) => this.#releaseReader(fileNo),
    failed: (e) => {
      if (e instanceof HestiaStoreError && !(e instanceof StateError)) this.#fail(e);
    },
    closed: (it) => {
      this.#iterators.delete(it);
      this.#deleteObsolete();
    },
  };

  /** What bulk loads may use of the index. */
  readonly #bulkLoadHost: BulkLoadHost<K, V> = {
    keyType: () => this.#keyType,
    valueType: () => this.#valueType,
    check: () => this.#checkReady(),
    newTable: () => new TableBuilder(this.#fs, this.#dir, this.#nextFileNo++, this.#layout),
    // Half the split threshold, as a split leaves them: room to grow before the next split.
    tableKeys: () => Math.max(1, Math.floor(this.#tuning.segmentSplitKeyThreshold / 2)),
    floor: () => this.#guard(() => this.#loadFloor()),
    syncDir: () => this.#fs.syncDir(this.#dir),
    counted: () => {
      if (this.#recording) this.#counts.puts++;
    },
    install: (tables) => this.#installLoad(tables),
    persist: () => this.#commit(),
    remove: (fileNo) => {
      try {
        for (const suffix of TABLE_SUFFIXES) {
          const path = tablePath(this.#dir, fileNo, suffix);
          if (this.#fs.stat(path)) this.#fs.remove(path);
        }
      } catch {
        // No manifest names the table: the next open removes what is left, and the load's own error counts.
      }
    },
    done: (loader) => this.#loaders.delete(loader),
  };

  /**
   * The bound loaded keys must lie above: the largest key of the last
   * segment (tombstones included), or for an empty last segment its lower
   * bound, which it then hands to the first loaded segment.
   */
  #loadFloor(): { key: Uint8Array; what: string } | undefined {
    const last = this.#segments.at(-1)!;
    const max = this.#maxKeyOf(last);
    if (max !== undefined) return { key: max, what: "the largest key of the index" };
    return last.lower && { key: last.lower, what: "the lower bound of the index's last segment" };
  }

  /** Whether the segment holds no key at all: no table entry, nothing buffered. */
  #isEmpty(seg: Segment): boolean {
    return seg.active.size === 0 && seg.version.layers.length === 0 &&
      this.#tablesOf(seg).every((t) => t.entryCount === 0);
  }

  /** The largest key the segment holds in any table or write cache, tombstones included. */
  #maxKeyOf(seg: Segment): Uint8Array | undefined {
    let max: Uint8Array | undefined;
    const consider = (key: Uint8Array | undefined) => {
      if (key !== undefined && (max === undefined || compareBytes(key, max) > 0)) max = key;
    };
    for (const meta of this.#tablesOf(seg)) {
      const reader = this.#acquireReader(meta);
      try {
        const sparse = reader.sparse;
        // A copy: it may become a segment bound, outliving the table.
        if (sparse.count > 0) consider(sparse.lastKey(sparse.count - 1).slice());
      } finally {
        this.#releaseReader(meta.fileNo);
      }
    }
    for (const map of [...seg.version.layers.map((l) => l.map), seg.active]) {
      for (const e of map.values()) consider(e.key);
    }
    return max;
  }

  /** Appends loaded tables as segments after the last one (see {@linkcode BulkLoadHost.install}). */
  #installLoad(tables: readonly LoadedTable[]): void {
    this.#checkReady();
    this.#guard(() => {
      const floor = this.#loadFloor();
      if (floor !== undefined && compareBytes(tables[0].firstKey, floor.key) <= 0) {
        throw new RangeError(
          `Bulk load not committed: ${floor.what} now lies at or above its first key ` +
            "(a write during the load); nothing was loaded",
        );
      }
      const last = this.#segments.at(-1)!;
      const empty = this.#isEmpty(last);
      let lower = floor?.key;
      const added = tables.map((t, i) => {
        const upper = i === tables.length - 1 ? undefined : t.lastKey;
        const seg = new Segment(this.#nextSegmentId++, lower, upper, {
          main: t.meta,
          deltas: [],
          layers: [],
        });
        lower = t.lastKey;
        return seg;
      });
      if (empty) {
        // An empty last segment makes way for the loaded ones, handing them its lower bound.
        this.#segments = [...this.#segments.slice(0, -1), ...added];
        last.retired = true;
        this.#loaded.delete(last);
        this.#unload(last);
      } else {
        last.upper = floor!.key;
        this.#segments = [...this.#segments, ...added];
      }
      this.#changed();
      if (empty) {
        for (const meta of this.#tablesOf(last)) this.#obsolete.set(meta.fileNo, this.#generation);
      }
    });
  }

  // ---- maintenance ----

  #enqueue(kind: TaskKind, seg: Segment): void {
    if (seg.queued.has(kind) || seg.retired) return;
    seg.queued.add(kind);
    seg.queuedAt.set(kind, this.#hrClock());
    if (kind === "flush") {
      seg.flushRequests++;
      if (this.#recording) this.#counts.flushRequests++;
    } else if (kind === "compact") {
      seg.compactRequests++;
      if (this.#recording) this.#counts.compactRequests++;
    } else if (this.#recording) {
      this.#counts.splitsScheduled++;
    }
    this.#tasks.push({ kind, segment: seg });
    this.#kick();
  }

  /** Starts the background worker unless it runs already. */
  #kick(): void {
    if (this.#worker || this.#state !== "READY") return;
    this.#worker = this.#work().finally(() => {
      this.#worker = undefined;
      // A task queued during the worker's last commit found it still running: start it again.
      if (this.#tasks.length > 0) this.#kick();
    });
  }

  async #work(): Promise<void> {
    await yieldToEventLoop();
    try {
      while (this.#tasks.length > 0 && this.#state === "READY") {
        const { kind, segment } = this.#tasks.shift()!;
        segment.queued.delete(kind);
        if (segment.retired) continue;
        const accepted = segment.queuedAt.get(kind) ?? this.#hrClock();
        const started = this.#hrClock();
        segment.busy = kind;
        try {
          if (kind === "flush") {
            this.#backgroundFlush = this.#flushSegment(segment);
            await this.#backgroundFlush;
          } else if (kind === "compact") await this.#compactSegment(segment);
          else await this.#splitSegment(segment);
        } finally {
          segment.busy = undefined;
        }
        if (this.#recording) {
          const done = this.#hrClock();
          if (kind === "flush") this.#flushLatency.observe((done - accepted) / 1000);
          else if (kind === "compact") this.#compactLatency.observe((done - accepted) / 1000);
          else {
            this.#splitStartDelay.observe((started - accepted) / 1000);
            this.#splitRun.observe((done - started) / 1000);
          }
        }
      }
      if (this.#state === "READY" && this.#dirty) await this.#commit();
    } catch (e) {
      this.#fail(e);
    } finally {
      // Nothing queued can lower the delta count now; stalled writers must not wait forever.
      if (this.#tasks.length === 0) this.#releaseStall();
    }
  }

  /** Resolves once the worker has no task left. */
  async #idle(): Promise<void> {
    while (this.#worker) await this.#worker;
  }

  /**
   * Merges the segment's tables into a new main table, dropping tombstones.
   * A large main table whose keys all lie below the deltas' (an ascending
   * load) is not rewritten: the segment splits after its last key instead,
   * the lower half keeping that table and the upper half taking the merged
   * deltas as its main table.
   */
  async #compactSegment(seg: Segment): Promise<void> {
    const inputs = this.#tablesOf(seg);
    if (inputs.length === 0 || (inputs.length === 1 && seg.version.main)) return;
    const inputDeltas = new Set(seg.version.deltas);
    const readers = inputs.map((meta) => this.#acquireReader(meta));
    let builder: TableBuilder | undefined;
    try {
      // Newest first, so the merge keeps the newest version of a key; the main table, if any, comes last.
      let cursors: Cursor[] = readers.map((r) => new ScanCursor(r)).reverse();
      const tail = seg.version.main && this.#tailSplitKey(seg.version.main, readers[0], cursors.slice(0, -1));
      if (tail) cursors = cursors.slice(0, -1);
      const merged = new MergeCursor(cursors, false, false);
      builder = new TableBuilder(this.#fs, this.#dir, this.#nextFileNo++, this.#layout);
      let sliceStart = performance.now();
      for (; merged.current; merged.next()) {
        builder.add(merged.current.key, merged.current.value);
        if (performance.now() - sliceStart > SLICE_MS) {
          await yieldToEventLoop();
          if (this.#state !== "READY" || seg.retired) {
            builder.abort();
            return;
          }
          sliceStart = performance.now();
        }
      }
      let main: TableMeta | undefined;
      if (builder.entryCount > 0) {
        const { meta, unsynced } = builder.finish();
        this.#unsynced.push(...unsynced);
        main = meta;
      } else {
        builder.abort();
      }
      builder = undefined;
      this.#counts.compactions++;
      const newer = seg.version.deltas.filter((d) => !inputDeltas.has(d));
      if (tail) {
        this.#replaceByHalves(seg, tail, seg.version.main, main, newer);
        return;
      }
      seg.version = { main, deltas: newer, layers: seg.version.layers };
      this.#changed();
      for (const meta of inputs) this.#obsolete.set(meta.fileNo, this.#generation);
      this.#dropStaleReaders(seg);
      if (main && main.entryCount >= this.#tuning.segmentSplitKeyThreshold) this.#enqueue("split", seg);
    } catch (e) {
      builder?.abort();
      throw e;
    } finally {
      for (const r of readers) this.#releaseReader(r.meta.fileNo);
    }
  }

  /**
   * The main table's last key when the compaction can split there instead
   * of rewriting it: the table holds at least half the split threshold, and
   * every delta starts above that key (`deltas` are cursors at their first
   * entry). A table with a damaged sparse index or filter is rewritten
   * instead, which repairs it.
   */
  #tailSplitKey(main: TableMeta, reader: TableReader, deltas: Cursor[]): Uint8Array | undefined {
    if (4 * main.entryCount < this.#tuning.segmentSplitKeyThreshold) return undefined;
    let last: Uint8Array | undefined;
    try {
      const sparse = reader.sparse;
      // A copy: it becomes a segment bound, outliving the table.
      last = sparse.count > 0 ? sparse.lastKey(sparse.count - 1).slice() : undefined;
      // Probing the key loads the filter too: a table kept as it is needs intact derived files.
      if (last === undefined || reader.get(new Probe(last)) === undefined) return undefined;
    } catch (e) {
      if (e instanceof CorruptionError) return undefined;
      throw e;
    }
    for (const c of deltas) {
      if (c.current && compareBytes(c.current.key, last) <= 0) return undefined;
    }
    return last;
  }

  /**
   * Splits a segment whose main table passed the threshold: the lower half
   * of its keys and the upper half become two new segments. Writes that
   * arrive meanwhile are partitioned between them at the end.
   */
  async #splitSegment(seg: Segment): Promise<void> {
    const main = seg.version.main;
    if (!main || main.entryCount < Math.max(2, this.#tuning.segmentSplitKeyThreshold)) return;
    const half = Math.floor(main.entryCount / 2);
    const reader = this.#acquireReader(main);
    let low: TableBuilder | undefined, high: TableBuilder | undefined;
    try {
      low = new TableBuilder(this.#fs, this.#dir, this.#nextFileNo++, this.#layout);
      high = new TableBuilder(this.#fs, this.#dir, this.#nextFileNo++, this.#layout);
      let splitKey: Uint8Array | undefined;
      let sliceStart = performance.now();
      for (const cursor = new ScanCursor(reader); cursor.current; cursor.next()) {
        const { key, value } = cursor.current;
        if (low.entryCount < half) {
          low.add(key, value);
          splitKey = key;
        } else {
          high.add(key, value);
        }
        if (performance.now() - sliceStart > SLICE_MS) {
          await yieldToEventLoop();
          if (this.#state !== "READY" || seg.retired || seg.version.main !== main) {
            low.abort();
            high.abort();
            return;
          }
          sliceStart = performance.now();
        }
      }
      const lowMain = this.#finishTable(low);
      const highMain = this.#finishTable(high);
      low = high = undefined;
      this.#replaceByHalves(seg, splitKey!, lowMain, highMain, seg.version.deltas);
    } catch (e) {
      low?.abort();
      high?.abort();
      throw e;
    } finally {
      this.#releaseReader(main.fileNo);
    }
  }

  /**
   * Replaces `seg` by two segments, keys up to `splitKey` and keys above it,
   * with the given main tables. The segment's delta tables `newer` (those
   * not merged into either main table) and its write cache are partitioned
   * between the two as one delta table each. Every other table of `seg`
   * becomes obsolete.
   */
  #replaceByHalves(
    seg: Segment,
    splitKey: Uint8Array,
    lowMain: TableMeta | undefined,
    highMain: TableMeta | undefined,
    newer: readonly TableMeta[],
  ): void {
    const [lowNewer, highNewer] = this.#splitNewerThanMain(seg, splitKey, newer);
    const lower = new Segment(this.#nextSegmentId++, seg.lower, splitKey, {
      main: lowMain,
      deltas: lowNewer ? [lowNewer] : [],
      layers: [],
    });
    const upper = new Segment(this.#nextSegmentId++, splitKey, seg.upper, {
      main: highMain,
      deltas: highNewer ? [highNewer] : [],
      layers: [],
    });
    const at = this.#segments.indexOf(seg);
    this.#segments = [...this.#segments.slice(0, at), lower, upper, ...this.#segments.slice(at + 1)];
    this.#buffered -= seg.buffered;
    seg.retired = true;
    this.#counts.splits++;
    this.#changed();
    for (const meta of this.#tablesOf(seg)) {
      if (meta !== lowMain && meta !== highMain) this.#obsolete.set(meta.fileNo, this.#generation);
    }
    this.#loaded.delete(seg);
    this.#unload(seg);
    // A segment far past the threshold splits again, until every half is below it.
    for (const child of [lower, upper]) {
      if ((child.version.main?.entryCount ?? 0) >= this.#tuning.segmentSplitKeyThreshold) {
        this.#enqueue("split", child);
      }
    }
  }

  /**
   * The delta tables `deltas` and the write cache of `seg` (newest wins,
   * tombstones kept) written as two delta tables, keys up to `splitKey` and
   * keys above it. The deltas stream through a merge, so memory stays that
   * of the write cache however many delta keys there are.
   */
  #splitNewerThanMain(
    seg: Segment,
    splitKey: Uint8Array,
    deltas: readonly TableMeta[],
  ): [TableMeta | undefined, TableMeta | undefined] {
    const memory = new Map<string, Entry>();
    for (const layer of seg.version.layers) for (const [k, e] of layer.map) memory.set(k, e);
    for (const [k, e] of seg.active) memory.set(k, e);
    const inMemory = [...memory.keys()].sort().map((k) => memory.get(k)!);
    const readers = deltas.map((meta) => this.#acquireReader(meta));
    const builders: TableBuilder[] = [];
    try {
      const cursors: Cursor[] = [
        new ArrayCursor(inMemory, undefined, false),
        ...readers.map((r) => new ScanCursor(r)).reverse(),
      ];
      let low: TableBuilder | undefined, high: TableBuilder | undefined;
      for (const merged = new MergeCursor(cursors, false, true); merged.current; merged.next()) {
        const { key, value } = merged.current;
        if (compareBytes(key, splitKey) <= 0) {
          low ??= this.#newBuilder(builders);
          low.add(key, value);
        } else {
          high ??= this.#newBuilder(builders);
          high.add(key, value);
        }
      }
      return [low && this.#finishTable(low), high && this.#finishTable(high)];
    } catch (e) {
      for (const b of builders) b.abort();
      throw e;
    } finally {
      for (const meta of deltas) this.#releaseReader(meta.fileNo);
    }
  }

  #newBuilder(all: TableBuilder[]): TableBuilder {
    const builder = new TableBuilder(this.#fs, this.#dir, this.#nextFileNo++, this.#layout);
    all.push(builder);
    return builder;
  }

  #finishTable(builder: TableBuilder): TableMeta {
    const { meta, unsynced } = builder.finish();
    this.#unsynced.push(...unsynced);
    return meta;
  }

  // ---- commit and cleanup ----

  #changed(): void {
    this.#generation++;
    this.#dirty = true;
    this.#updateStall();
  }

  /** Makes the current state durable; commits run one at a time, in order. */
  #commit(): Promise<void> {
    const run = this.#commitChain.then(() => this.#commitNow());
    this.#commitChain = run.catch(() => {});
    return run;
  }

  async #commitNow(): Promise<void> {
    if (this.#state === "ERROR") throw this.#stateError();
    if (!this.#dirty) return;
    this.#dirty = false;
    const generation = this.#generation;
    const manifest = this.#manifestJson();
    const checkpointLsn = this.#wal ? this.#checkpointCandidate(this.#wal) : 0;
    const unsynced = this.#unsynced;
    this.#unsynced = [];
    try {
      for (const handle of unsynced) {
        await handle.sync();
        handle.close();
      }
      if (unsynced.length > 0) await this.#fs.syncDir(this.#dir);
      // The tables may hold records the log has not written yet (it writes a turn's records together).
      if (this.#wal) await this.#wal.sync();
      await writeFileAtomic(this.#fs, joinPath(this.#dir, MANIFEST), encodeManifest(manifest));
      if (this.#wal && checkpointLsn > this.#wal.checkpointLsn) await this.#wal.checkpoint(checkpointLsn);
      this.#durableGeneration = generation;
      this.#counts.commits++;
      this.#deleteObsolete();
    } catch (e) {
      for (const handle of unsynced) handle.close();
      this.#fail(e);
      throw e;
    }
  }

  /** The highest log sequence number whose writes are all in tables (none is still buffered). */
  #checkpointCandidate(wal: WriteAheadLog): number {
    let min = Infinity;
    for (const seg of this.#segments) {
      if (seg.activeMinLsn < min) min = seg.activeMinLsn;
      for (const layer of seg.version.layers) if (layer.minLsn < min) min = layer.minLsn;
    }
    return min === Infinity ? wal.lastLsn : min - 1;
  }

  #manifestJson(): ManifestJson {
    return {
      version: MANIFEST_VERSION,
      fixed: this.#fixed,
      tuning: { ...this.#tuning },
      nextFileNo: this.#nextFileNo,
      nextSegmentId: this.#nextSegmentId,
      segments: this.#segments.map((s) => ({
        id: s.id,
        upper: s.upper === undefined ? null : toHex(s.upper),
        main: s.version.main ?? null,
        deltas: [...s.version.deltas],
      })),
    };
  }

  #liveFileNos(): Set<number> {
    const live = new Set<number>();
    for (const seg of this.#segments) for (const t of this.#tablesOf(seg)) live.add(t.fileNo);
    return live;
  }

  /** Removes obsolete tables that no durable manifest and no open iterator needs. */
  #deleteObsolete(): void {
    if (this.#obsolete.size === 0 || this.#state === "ERROR") return;
    const pinned = new Set<number>();
    for (const it of this.#iterators) for (const fileNo of it.fileNos) pinned.add(fileNo);
    for (const [fileNo, generation] of this.#obsolete) {
      if (generation > this.#durableGeneration || pinned.has(fileNo) || this.#readers.has(fileNo)) continue;
      this.#guard(() => {
        for (const suffix of TABLE_SUFFIXES) {
          const path = tablePath(this.#dir, fileNo, suffix);
          if (this.#fs.stat(path)) this.#fs.remove(path);
        }
      });
      this.#obsolete.delete(fileNo);
    }
  }

  // ---- state ----

  #checkOpen(): void {
    if (this.#state === "CLOSED") throw new ClosedError(`Index '${this.#name}' is closed`);
    // A failed log fsync is sticky: the index stops taking writes it could not make durable.
    if (this.#wal?.failed && this.#state === "READY") this.#fail(this.#wal.failed);
    if (this.#state === "ERROR") throw this.#stateError();
  }

  #checkReady(): void {
    if (this.#state === "READY" && !this.#wal?.failed) return;
    this.#checkOpen();
    throw new StateError(`Index '${this.#name}' is ${this.#state}, not READY`, this.#state);
  }

  #stateError(): StateError {
    return new StateError(
      `Index '${this.#name}' is in ERROR state after: ${this.#error?.message ?? "unknown error"}`,
      "ERROR",
      { cause: this.#error },
    );
  }

  /** Moves the index to ERROR (sticky). */
  #fail(e: unknown): void {
    if (this.#state === "ERROR" || this.#state === "CLOSED") return;
    this.#counts.failures++;
    this.#error = e instanceof Error ? e : new Error(String(e));
    this.#state = "ERROR";
    this.#releaseStall();
  }

  /** Runs `fn`; an I/O or corruption failure moves the index to ERROR before it propagates. */
  #guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof HestiaStoreError && !(e instanceof StateError)) this.#fail(e);
      throw e;
    }
  }
}

/** The index internals a {@linkcode RangeIterator} uses. */
interface IteratorHost<K, V> {
  keyType(): TypeDescriptor<K>;
  valueType(): TypeDescriptor<V>;
  check(): void;
  /** Pins the reader of table `meta` of `segment` until released. */
  acquire(meta: TableMeta, segment: Segment): TableReader;
  release(fileNo: number): void;
  /** Puts the index into its error state if `e` calls for it, as a failing index operation does. */
  failed(e: unknown): void;
  closed(it: RangeIterator<K, V>): void;
}

/**
 * Iterator over a snapshot of part of the index, from
 * {@linkcode SegmentIndex.range}. Usable with `for…of` and `for await…of`.
 */
export class RangeIterator<K, V> implements IterableIterator<[K, V]> {
  readonly #host: IteratorHost<K, V>;
  readonly #keyType: TypeDescriptor<K>;
  readonly #valueType: TypeDescriptor<V>;
  readonly #segments: SegmentSnapshot[];
  readonly #lower: StartBound | undefined;
  readonly #upper: StartBound | undefined;
  readonly #reverse: boolean;
  #remaining: number;
  #at = 0;
  /** The open segment's sources, merged unless there is only one. */
  #cursor: Cursor | undefined;
  /** For {@linkcode STRING} keys and values: their chunks' text, decoded a chunk at a time. */
  readonly #runs: ScanRuns;
  #held: number[] = [];
  #done = false;
  /** Table files the snapshot may read; they are kept on disk until the iterator closes. */
  readonly fileNos: ReadonlySet<number>;

  /** @internal Created by {@linkcode SegmentIndex.range}. */
  constructor(
    host: IteratorHost<K, V>,
    segments: SegmentSnapshot[],
    lower: StartBound | undefined,
    upper: StartBound | undefined,
    reverse: boolean,
    limit: number,
  ) {
    this.#host = host;
    this.#keyType = host.keyType();
    this.#valueType = host.valueType();
    const runs: ScanRuns = {};
    if ((this.#keyType as TypeDescriptor<unknown>) === STRING) runs.keys = new TextRuns(STRING.decode);
    if ((this.#valueType as TypeDescriptor<unknown>) === STRING) runs.values = new TextRuns(STRING.decode);
    this.#runs = runs;
    this.#segments = segments;
    this.#lower = lower;
    this.#upper = upper;
    this.#reverse = reverse;
    this.#remaining = limit;
    const files = new Set<number>();
    for (const s of segments) {
      if (s.version.main) files.add(s.version.main.fileNo);
      for (const d of s.version.deltas) files.add(d.fileNo);
    }
    this.fileNos = files;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<[K, V]> {
    if (this.#done) return { done: true, value: undefined };
    let entry: Entry | undefined;
    try {
      this.#host.check();
      try {
        entry = this.#nextEntry();
      } catch (e) {
        this.#host.failed(e);
        throw e;
      }
      if (!entry) {
        this.close();
        return { done: true, value: undefined };
      }
      if (--this.#remaining <= 0) this.close();
      const { keys, values } = this.#runs;
      const key = keys ? keys.decode(entry.key) as K : this.#keyType.decode(entry.key);
      const value = values ? values.decode(entry.value!) as V : this.#valueType.decode(entry.value!);
      return { done: false, value: [key, value] };
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Closes the iterator (what `break` in `for…of` calls). */
  return(): IteratorResult<[K, V]> {
    this.close();
    return { done: true, value: undefined };
  }

  /** Releases the snapshot. Further `next()` calls report done. */
  close(): void {
    if (this.#done) return;
    this.#done = true;
    this.#cursor = undefined;
    for (const fileNo of this.#held) this.#host.release(fileNo);
    this.#held = [];
    for (const s of this.#segments) if (s.activeLayer) s.activeLayer.sharers--;
    this.#host.closed(this);
  }

  #nextEntry(): Entry | undefined {
    for (;;) {
      const cursor = this.#cursor ?? this.#openNext();
      if (!cursor) return undefined;
      const entry = cursor.current;
      if (!entry) {
        this.#cursor = undefined;
        continue;
      }
      const end = this.#reverse ? this.#lower : this.#upper;
      if (end) {
        const c = compareBytes(entry.key, end.key);
        const past = this.#reverse
          ? (c < 0 || (c === 0 && end.exclusive))
          : (c > 0 || (c === 0 && end.exclusive));
        if (past) return undefined;
      }
      cursor.next();
      // A lone source is not merged, so its tombstones are skipped here.
      if (entry.value !== undefined) return entry;
    }
  }

  /** Opens the next segment of the snapshot, or returns undefined after the last. */
  #openNext(): Cursor | undefined {
    if (this.#at >= this.#segments.length) return undefined;
    return this.#cursor = this.#open(this.#segments[this.#at++]);
  }

  #open(snapshot: SegmentSnapshot): Cursor {
    const start = this.#reverse ? this.#upper : this.#lower;
    const end = this.#reverse ? this.#lower : this.#upper;
    const { segment, version, activeLayer } = snapshot;
    const cursors: Cursor[] = [];
    if (activeLayer) cursors.push(new ArrayCursor(activeLayer.sorted(), start, this.#reverse));
    for (let i = version.layers.length - 1; i >= 0; i--) {
      cursors.push(new ArrayCursor(version.layers[i].sorted(), start, this.#reverse));
    }
    const tables = [...version.deltas].reverse();
    if (version.main) tables.push(version.main);
    for (const meta of tables) {
      const reader = this.#host.acquire(meta, segment);
      this.#held.push(meta.fileNo);
      cursors.push(new TableCursor(reader, start, this.#reverse, this.#remaining, end, this.#runs));
    }
    return cursors.length === 1 ? cursors[0] : new MergeCursor(cursors, this.#reverse, false);
  }
}

function checkDeltaFileLimit(value: number | undefined): number {
  const v = value ?? DEFAULTS.deltaFileLimit;
  if (!Number.isInteger(v)) throw new TypeError(`Option 'deltaFileLimit' must be an integer, got ${v}`);
  if (v < 1 || v > 1000) throw new RangeError(`Option 'deltaFileLimit' must be between 1 and 1000, got ${v}`);
  return v;
}

function resolveDescriptor(
  option: string,
  recorded: string,
  given: TypeDescriptor<unknown> | undefined,
): TypeDescriptor<unknown> {
  if (given) {
    if (given.name !== recorded) {
      throw new TypeError(
        `Option '${option}' is fixed when the index is created ("${recorded}") and can't be changed to "${given.name}"`,
      );
    }
    return given;
  }
  const builtIn = descriptorByName(recorded);
  if (!builtIn) {
    throw new TypeError(
      `The index uses the custom ${option} "${recorded}"; pass it as option '${option}' to open it`,
    );
  }
  return builtIn;
}

function parseManifest(json: unknown, file: string): ManifestJson {
  const m = json as ManifestJson;
  const bad = (what: string): never => {
    throw new CorruptionError(file, 0, `manifest ${what}`);
  };
  if (typeof m !== "object" || m === null) bad("is not an object");
  if (typeof m.version !== "number") bad("has no version");
  if (m.version > MANIFEST_VERSION) {
    throw new UnsupportedFormatError(
      file,
      `index manifest version ${m.version} is newer than this engine supports (${MANIFEST_VERSION})`,
    );
  }
  if (typeof m.fixed !== "object" || typeof m.tuning !== "object") bad("lacks its options");
  if (!Number.isInteger(m.nextFileNo) || !Number.isInteger(m.nextSegmentId)) bad("lacks its counters");
  if (!Array.isArray(m.segments) || m.segments.length === 0) bad("lists no segments");
  let previous: Uint8Array | undefined;
  m.segments.forEach((s, i) => {
    const last = i === m.segments.length - 1;
    if ((s.upper === null) !== last) bad(`segment ${s.id} has ${last ? "an" : "no"} upper bound`);
    if (s.upper !== null) {
      if (typeof s.upper !== "string" || !/^([0-9a-f]{2})*$/.test(s.upper)) {
        bad(`segment ${s.id} has a bad bound`);
      }
      const upper = fromHex(s.upper);
      if (previous && compareBytes(previous, upper) >= 0) bad(`segment ${s.id} is out of order`);
      previous = upper;
    }
    if (!Array.isArray(s.deltas)) bad(`segment ${s.id} lacks its delta list`);
  });
  return m;
}

/** Removes files of tables no manifest names, and temporary files left by a crash. */
function removeOrphans(fs: FileSystem, dir: string, manifest: ManifestJson): void {
  const live = new Set<number>();
  for (const s of manifest.segments) {
    if (s.main) live.add(s.main.fileNo);
    for (const d of s.deltas) live.add(d.fileNo);
  }
  for (const fileNo of live) {
    for (const suffix of [".chunks", ".sparse"] as const) {
      const path = tablePath(dir, fileNo, suffix);
      if (!fs.stat(path)) throw new CorruptionError(path, 0, "a table file named by the manifest is missing");
    }
  }
  for (const name of fs.list(dir)) {
    const fileNo = parseTableFileName(name);
    if ((fileNo !== undefined && !live.has(fileNo)) || name.endsWith(".tmp")) fs.remove(joinPath(dir, name));
  }
}

/** Metrics recording, resolved: off, or the sampling period and the clock. */
type MetricsOptions = false | { sampleEvery: number; clock: () => number };

function resolveMetrics(options: SegmentIndexOptions<unknown, unknown>["metrics"]): MetricsOptions {
  if (options === false) return false;
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError(`Option 'metrics' must be false or an object, got ${options}`);
  }
  const sampleEvery = options?.sampleEvery ?? DEFAULTS.latencySampleEvery;
  if (!Number.isInteger(sampleEvery) || sampleEvery < 1) {
    throw new RangeError(`Option 'metrics.sampleEvery' must be a positive integer, got ${sampleEvery}`);
  }
  return { sampleEvery, clock: options?.clock ?? (() => performance.now()) };
}

function timestamp(epochMs: number) {
  return { iso: new Date(epochMs).toISOString(), epochMs };
}

function walMetrics(fixed: FixedOptions, stats: WalStats | undefined): MetricsSnapshot["wal"] {
  const s = stats ?? {
    appends: 0,
    appendedBytes: 0,
    syncs: 0,
    syncFailures: 0,
    corruptions: 0,
    truncations: 0,
    retainedBytes: 0,
    fileCount: 0,
    durableLsn: 0,
    checkpointLsn: 0,
    lastLsn: 0,
    pendingSyncBytes: 0,
    syncTimeTotalMs: 0,
    syncTimeMaxMs: 0,
    batchBytesTotal: 0,
    batchBytesMax: 0,
  };
  return {
    enabled: stats !== undefined,
    durability: stats === undefined ? "off" : fixed.durability,
    appends: s.appends,
    appendedBytes: s.appendedBytes,
    syncs: s.syncs,
    syncFailures: s.syncFailures,
    corruptions: s.corruptions,
    truncations: s.truncations,
    retainedBytes: s.retainedBytes,
    fileCount: s.fileCount,
    durableLsn: s.durableLsn,
    checkpointLsn: s.checkpointLsn,
    appliedLsn: s.lastLsn,
    checkpointLagLsn: Math.max(0, s.lastLsn - s.checkpointLsn),
    pendingSyncBytes: s.pendingSyncBytes,
    syncSecondsTotal: s.syncTimeTotalMs / 1000,
    syncSecondsMax: s.syncTimeMaxMs / 1000,
    syncAverageSeconds: s.syncs === 0 ? 0 : s.syncTimeTotalMs / 1000 / s.syncs,
    batchBytesTotal: s.batchBytesTotal,
    batchBytesMax: s.batchBytesMax,
    syncAverageBatchBytes: s.syncs === 0 ? 0 : s.batchBytesTotal / s.syncs,
  };
}
