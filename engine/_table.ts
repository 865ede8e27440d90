/**
 * A table: one sorted chunk file with its sparse index and Bloom filter,
 * the unit a segment's data and delta files are made of. The three files
 * share a file number: `000042.chunks`, `000042.sparse`, `000042.bloom`.
 * Tables are written once under a fresh number and never modified; the index
 * manifest decides which tables are live.
 *
 * @module
 */
import { BloomFilter, BloomProbe, writeBloomHashes } from "./format/bloom_filter.ts";
import {
  type Chunk,
  ChunkFileReader,
  ChunkFileWriter,
  decodeChunkIn,
  findInChunk,
  type KeyArena,
} from "./format/chunk_file.ts";
import { decodeSparseIndex, encodeSparseIndex, SparseIndex } from "./format/sparse_index.ts";
import type { FileHandle, FileSystem } from "./fs/file_system.ts";
import { joinPath } from "./fs/path.ts";
import { compareBytes } from "./type_descriptor.ts";
import type { ChunkCache, ChunkSlot } from "./_chunk_cache.ts";

/** A key and its value; `value === undefined` is a tombstone. */
export interface Entry {
  readonly key: Uint8Array;
  readonly value: Uint8Array | undefined;
}

/** What the manifest records of a table. */
export interface TableMeta {
  readonly fileNo: number;
  readonly entryCount: number;
  /** Bytes of the three files together. */
  readonly bytes: number;
}

/** Layout settings shared by every table of an index (fixed at create). */
export interface TableLayout {
  chunkKeyLimit: number;
  chunkByteTarget: number;
  /** 0 writes no Bloom filter. */
  bloomBitsPerKey: number;
}

export const TABLE_SUFFIXES = [".chunks", ".sparse", ".bloom"] as const;

/** Path of one of a table's files. */
export function tablePath(dir: string, fileNo: number, suffix: typeof TABLE_SUFFIXES[number]): string {
  return joinPath(dir, String(fileNo).padStart(6, "0") + suffix);
}

/** The file number of a table file name, or undefined if the name is not one. */
export function parseTableFileName(name: string): number | undefined {
  const m = /^(\d{6,})\.(chunks|sparse|bloom)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Writes a table from entries in strictly increasing key order. The files
 * are written but not synced: `finish()` hands back the open handles, which
 * the caller syncs before a manifest may name the table.
 */
export class TableBuilder {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #fileNo: number;
  readonly #layout: TableLayout;
  readonly #chunks: FileHandle;
  readonly #writer: ChunkFileWriter;
  /** Each key's two Bloom hashes, since the filter is sized by the key count known only at the end. */
  #hashes = new Uint32Array(1024);
  #count = 0;
  #done = false;

  constructor(fs: FileSystem, dir: string, fileNo: number, layout: TableLayout) {
    this.#fs = fs;
    this.#dir = dir;
    this.#fileNo = fileNo;
    this.#layout = layout;
    this.#chunks = fs.open(tablePath(dir, fileNo, ".chunks"), "create");
    this.#writer = new ChunkFileWriter(this.#chunks, layout);
  }

  get entryCount(): number {
    return this.#count;
  }

  add(key: Uint8Array, value: Uint8Array | undefined): void {
    this.#writer.add(key, value);
    this.#added(key);
  }

  /** {@linkcode TableBuilder.add}, or `false`, changing nothing, if `key` is not above every key added so far. */
  addNext(key: Uint8Array, value: Uint8Array | undefined): boolean {
    if (!this.#writer.addNext(key, value)) return false;
    this.#added(key);
    return true;
  }

  /** Keeps the Bloom hashes of a key just written and counts it. */
  #added(key: Uint8Array): void {
    if (this.#layout.bloomBitsPerKey > 0) {
      if (2 * this.#count === this.#hashes.length) {
        const grown = new Uint32Array(this.#hashes.length * 2);
        grown.set(this.#hashes);
        this.#hashes = grown;
      }
      writeBloomHashes(key, this.#hashes, 2 * this.#count);
    }
    this.#count++;
  }

  /**
   * Finishes the three files; returns the table, its first and last keys
   * (`undefined` when it is empty) and the handles still to sync and close.
   */
  finish(): { meta: TableMeta; unsynced: FileHandle[]; firstKey?: Uint8Array; lastKey?: Uint8Array } {
    this.#done = true;
    const summary = this.#writer.finish();
    const sparse = this.#fs.open(tablePath(this.#dir, this.#fileNo, ".sparse"), "create");
    const sparseBytes = encodeSparseIndex(summary.chunks);
    sparse.append(sparseBytes);
    const unsynced = [this.#chunks, sparse];
    let bytes = summary.fileSize + sparseBytes.length;
    if (this.#layout.bloomBitsPerKey > 0) {
      const filter = new BloomFilter({
        expectedKeys: this.#count,
        bitsPerKey: this.#layout.bloomBitsPerKey,
      });
      const hashes = this.#hashes;
      for (let i = 0; i < 2 * this.#count; i += 2) filter.addHashes(hashes[i], hashes[i + 1]);
      const bloom = this.#fs.open(tablePath(this.#dir, this.#fileNo, ".bloom"), "create");
      const bloomBytes = filter.encode();
      bloom.append(bloomBytes);
      unsynced.push(bloom);
      bytes += bloomBytes.length;
    }
    return {
      meta: { fileNo: this.#fileNo, entryCount: summary.entryCount, bytes },
      unsynced,
      firstKey: summary.minKey,
      lastKey: summary.maxKey,
    };
  }

  /** Closes and removes whatever was written. */
  abort(): void {
    if (this.#done) return;
    this.#done = true;
    this.#chunks.close();
    for (const suffix of TABLE_SUFFIXES) {
      const path = tablePath(this.#dir, this.#fileNo, suffix);
      if (this.#fs.stat(path)) this.#fs.remove(path);
    }
  }
}

/** Consecutive chunks of a table read in one go by a scan; verified only as each is decoded. */
export interface ScanSpan {
  /** Number of the first chunk in the span. */
  readonly first: number;
  /** Number of the last chunk in the span. */
  readonly last: number;
  /** File offset of `bytes[0]`. */
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/** A key looked up in several tables: its bytes and, computed on first need, its Bloom hashes. */
export class Probe {
  readonly key: Uint8Array;
  #bloom: BloomProbe | undefined;
  constructor(key: Uint8Array) {
    this.key = key;
  }
  get bloom(): BloomProbe {
    return this.#bloom ??= new BloomProbe(this.key);
  }
}

/** Counters a table reader bumps; owned by the index. */
export interface ReadStats {
  bloomChecks: number;
  bloomNegatives: number;
  bloomFalsePositives: number;
  chunkCacheHits: number;
  chunkCacheMisses: number;
}

/**
 * Reads one table: the sparse index and Bloom filter in memory, chunks on
 * demand through the shared chunk cache.
 */
export class TableReader {
  readonly meta: TableMeta;
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #useBloom: boolean;
  /** Loaded on first use, so a table whose derived files are damaged can still be scanned (and repaired). */
  #sparse: SparseIndex | undefined;
  #bloom: BloomFilter | undefined;
  readonly #handle: FileHandle;
  readonly #chunks: ChunkFileReader;
  readonly #cache: ChunkCache;
  readonly #stats: ReadStats;
  /** Base of this table's chunk cache keys: chunk i is cached under base + i. */
  readonly #cacheBase: number;
  /** This table's own Bloom filter counters, for its segment's metrics. */
  bloomRequests = 0;
  bloomRefused = 0;
  bloomFalsePositives = 0;

  constructor(
    fs: FileSystem,
    dir: string,
    meta: TableMeta,
    layout: TableLayout,
    cache: ChunkCache,
    stats: ReadStats,
  ) {
    this.meta = meta;
    this.#fs = fs;
    this.#dir = dir;
    this.#useBloom = layout.bloomBitsPerKey > 0;
    this.#handle = fs.open(tablePath(dir, meta.fileNo, ".chunks"), "read");
    try {
      this.#chunks = ChunkFileReader.open(this.#handle);
    } catch (e) {
      this.#handle.close();
      throw e;
    }
    this.#cache = cache;
    this.#stats = stats;
    this.#cacheBase = meta.fileNo * 2 ** 32;
  }

  /** The sparse index, read on first use. */
  get sparse(): SparseIndex {
    if (!this.#sparse) {
      const path = tablePath(this.#dir, this.meta.fileNo, ".sparse");
      this.#sparse = decodeSparseIndex(this.#fs.readFile(path), path);
    }
    return this.#sparse;
  }

  #filter(): BloomFilter | undefined {
    if (!this.#bloom && this.#useBloom) {
      const path = tablePath(this.#dir, this.meta.fileNo, ".bloom");
      this.#bloom = BloomFilter.decode(this.#fs.readFile(path), path);
    }
    return this.#bloom;
  }

  /**
   * The probed key's value in this table: bytes, `null` for a tombstone,
   * `undefined` if the table has no entry. The bytes are a view into the
   * chunk cache, valid until the next lookup in any table sharing it.
   */
  get(probe: Probe): Uint8Array | null | undefined {
    const key = probe.key;
    const bloom = this.#filter();
    if (bloom) {
      this.#stats.bloomChecks++;
      this.bloomRequests++;
      if (!bloom.mayContainProbe(probe.bloom)) {
        this.#stats.bloomNegatives++;
        this.bloomRefused++;
        return undefined;
      }
    }
    const sparse = this.sparse;
    const at = sparse.firstAtLeast(key);
    let value: Uint8Array | null | undefined;
    if (at < sparse.count) {
      const offset = sparse.offset(at), length = sparse.length(at);
      const slot = this.#chunkSlot(at, offset, length);
      value = findInChunk(slot.bytes, key, this.#chunks.path, offset, length);
    }
    if (value === undefined && bloom) {
      this.#stats.bloomFalsePositives++;
      this.bloomFalsePositives++;
    }
    return value;
  }

  /** Chunk number `at`, verified and undecoded, through the cache. */
  #chunkSlot(at: number, offset: number, length: number): ChunkSlot {
    const cacheKey = this.#cacheBase + at;
    const cached = this.#cache.get(cacheKey);
    if (cached) {
      this.#stats.chunkCacheHits++;
      return cached;
    }
    this.#stats.chunkCacheMisses++;
    const slot = this.#cache.claim(length);
    this.#chunks.readChunkInto(offset, length, slot.bytes);
    this.#cache.insert(cacheKey, slot, length);
    return slot;
  }

  /**
   * Chunks `first`..`last` (file order, inclusive) with one positioned read,
   * bypassing the chunk cache: a scan reads many chunks once, and would only
   * push out the ones point lookups reuse.
   */
  readScanSpan(first: number, last: number): ScanSpan {
    const sparse = this.sparse;
    const offset = sparse.offset(first);
    const end = sparse.offset(last) + sparse.length(last);
    return { first, last, offset, bytes: this.#chunks.readSpan(offset, end - offset) };
  }

  /** Chunk number `at` of `span`, verified and decoded; its values are views into the span, its keys into `arena`. */
  decodeScanChunk(span: ScanSpan, at: number, arena: KeyArena): Chunk {
    const sparse = this.sparse;
    return decodeChunkIn(
      span.bytes,
      span.offset,
      sparse.offset(at),
      sparse.length(at),
      this.#chunks.path,
      arena,
    );
  }

  /** Every chunk in file order, bypassing the cache (verification and repair). */
  scanChunks(): Generator<Chunk, void, undefined> {
    return this.#chunks.chunks();
  }

  close(): void {
    this.#handle.close();
  }
}

/** Index of `key` in sorted `keys`, or -1. */
export function searchKeys(keys: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0, hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareBytes(keys[mid], key);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * Index of the first item whose key is ≥ `key` (> when `exclusive`) in an
 * array sorted by key, of keys or of entries; the array's length if none.
 */
export function lowerBound(
  items: readonly (Uint8Array | Entry)[],
  key: Uint8Array,
  exclusive: boolean,
): number {
  let lo = 0, hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const item = items[mid];
    const c = compareBytes(item instanceof Uint8Array ? item : item.key, key);
    if (c < 0 || (exclusive && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
