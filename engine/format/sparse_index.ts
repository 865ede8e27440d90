/**
 * The sparse index of one chunk file: the last key and the location of each
 * chunk, so a point lookup costs one binary search in memory and one read.
 *
 * ```
 * +--------------------+
 * | file header (16 B) |  kind SPARSE_INDEX, version 1
 * +--------------------+ <- body starts at 16
 * | count     varint   |  number of chunks
 * +--------------------+
 * | keyLength varint   | \
 * | lastKey   bytes    |  |
 * | offset    varint   |   > one entry per chunk, in file order
 * | length    varint   |  |
 * | entries   varint   | /
 * +--------------------+
 * | CRC-32C   u32 LE   |  of the body (count through the last entry)
 * +--------------------+
 * ```
 *
 * Entries describe consecutive chunks: each chunk starts where the previous
 * one ends, and last keys strictly increase (unsigned byte order). A reader
 * checks the CRC first, then that structure, and raises `CorruptionError`
 * with the offset of the first bad entry.
 *
 * @module
 */

import { crc32c } from "../_crc32c.ts";
import { CorruptionError } from "../errors.ts";
import { ByteReader } from "./_byte_reader.ts";
import { ByteWriter } from "./_byte_writer.ts";
import { compareBytes } from "../type_descriptor.ts";
import { FILE_HEADER_SIZE, FileKind, readFileHeader, writeFileHeader } from "./file_header.ts";

/** Size of the trailing CRC. Part of the on-disk format; bump the version instead of editing. */
const CRC_SIZE = 4;
/** Smallest encoded entry: four one-byte varints and an empty key. */
const MIN_ENTRY_SIZE = 4;

/** Where one chunk of a chunk file lies, and the last key in it. */
export interface SparseIndexEntry {
  /** The greatest key in the chunk. */
  lastKey: Uint8Array;
  /** File offset of the chunk's header. */
  offset: number;
  /** Bytes of the chunk, header included. */
  length: number;
  /** Entries (keys, tombstones included) in the chunk. */
  entryCount: number;
}

/**
 * Encodes a sparse index file.
 *
 * @param entries One entry per chunk, in file order.
 * @returns The whole file.
 * @throws {RangeError} If the entries are out of order, not contiguous, or hold bad numbers.
 */
export function encodeSparseIndex(entries: readonly SparseIndexEntry[]): Uint8Array {
  checkEntries(entries);
  const out = new ByteWriter(64 + entries.length * 24);
  out.bytes(writeFileHeader(FileKind.SPARSE_INDEX));
  out.varint(entries.length);
  for (const entry of entries) {
    out.varint(entry.lastKey.length);
    out.bytes(entry.lastKey);
    out.varint(entry.offset);
    out.varint(entry.length);
    out.varint(entry.entryCount);
  }
  out.u32(crc32c(out.view(FILE_HEADER_SIZE)));
  return out.take();
}

/**
 * Decodes and verifies a sparse index file.
 *
 * @param bytes The whole file. Not kept: the index holds its own copy.
 * @param file The file's path, for error messages.
 * @returns The index.
 * @throws {CorruptionError} If any byte is damaged or the file is truncated.
 * @throws {UnsupportedFormatError} If the header is intact but of a newer version or another kind.
 */
export function decodeSparseIndex(bytes: Uint8Array, file: string): SparseIndex {
  readFileHeader(bytes, file, FileKind.SPARSE_INDEX);
  const bodyEnd = bytes.length - CRC_SIZE;
  if (bodyEnd < FILE_HEADER_SIZE + 1) {
    throw new CorruptionError(file, bytes.length, "file ends before the sparse index body");
  }
  const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bodyEnd, true);
  if (crc32c(bytes, 0, FILE_HEADER_SIZE, bodyEnd) !== stored) {
    throw new CorruptionError(file, FILE_HEADER_SIZE, "sparse index checksum mismatch");
  }
  // A view: the index packs what it keeps into its own arrays.
  const body = bytes.subarray(FILE_HEADER_SIZE, bodyEnd);
  const reader = new ByteReader(body, { file, offset: FILE_HEADER_SIZE });
  const count = reader.varint();
  if (count > reader.remaining / MIN_ENTRY_SIZE) {
    reader.fail(`count of ${count} entries cannot fit in ${reader.remaining} bytes`, 0);
  }
  const entries: SparseIndexEntry[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const start = reader.pos;
    const lastKey = reader.bytes(reader.varint());
    const entry = { lastKey, offset: reader.varint(), length: reader.varint(), entryCount: reader.varint() };
    const problem = entryProblem(entry, entries[i - 1]);
    if (problem !== undefined) reader.fail(`entry ${i}: ${problem}`, start);
    entries[i] = entry;
  }
  if (reader.remaining !== 0) reader.fail(`${reader.remaining} unexpected bytes after the last entry`);
  return new SparseIndex(entries);
}

/**
 * The chunk boundaries of one chunk file, searchable by key.
 *
 * Held packed, not as one object per chunk: a loaded index keeps the
 * sparse index of every table it reads, and at 10 million keys an object
 * and a key view per chunk came to about 160 bytes of heap per chunk; the
 * packed form takes the key bytes plus 36 bytes. Read it through
 * {@linkcode SparseIndex.offset} and its siblings; `entries` and `entry`
 * build objects on each call.
 */
export class SparseIndex {
  readonly #count: number;
  /** Every last key, back to back; key `i` is `#keys[#keyStarts[i], #keyStarts[i + 1])`. */
  readonly #keys: Uint8Array;
  readonly #keyStarts: Uint32Array;
  readonly #offsets: Float64Array;
  readonly #lengths: Float64Array;
  readonly #entryCounts: Float64Array;
  /**
   * The search runs mostly over these flat arrays rather than the key
   * bytes: every last key shares the prefix of the first and the last, so
   * bytes `[common, common + 8)` of each, zero-padded and big-endian, as
   * two words, order the keys wherever they differ. Only equal words need
   * the whole keys compared.
   */
  readonly #common: number;
  readonly #high: Uint32Array;
  readonly #low: Uint32Array;

  /**
   * @param entries One entry per chunk, in file order. Copied: the index keeps none of them.
   * @throws {RangeError} If the entries are out of order, not contiguous, or hold bad numbers.
   */
  constructor(entries: readonly SparseIndexEntry[]) {
    checkEntries(entries);
    const n = entries.length;
    this.#count = n;
    let keyBytes = 0;
    for (const e of entries) keyBytes += e.lastKey.length;
    this.#keys = new Uint8Array(keyBytes);
    this.#keyStarts = new Uint32Array(n + 1);
    this.#offsets = new Float64Array(n);
    this.#lengths = new Float64Array(n);
    this.#entryCounts = new Float64Array(n);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const e = entries[i];
      this.#keyStarts[i] = at;
      this.#keys.set(e.lastKey, at);
      at += e.lastKey.length;
      this.#offsets[i] = e.offset;
      this.#lengths[i] = e.length;
      this.#entryCounts[i] = e.entryCount;
    }
    this.#keyStarts[n] = at;
    this.#common = n === 0 ? 0 : commonPrefixLength(entries[0].lastKey, entries[n - 1].lastKey);
    this.#high = new Uint32Array(n);
    this.#low = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      this.#high[i] = wordAt(entries[i].lastKey, this.#common);
      this.#low[i] = wordAt(entries[i].lastKey, this.#common + 4);
    }
  }

  /** Number of chunks. */
  get count(): number {
    return this.#count;
  }

  /** File offset of chunk `i`'s header. */
  offset(i: number): number {
    return this.#offsets[i];
  }

  /** Bytes of chunk `i`, header included. */
  length(i: number): number {
    return this.#lengths[i];
  }

  /** Entries (tombstones included) in chunk `i`. */
  entryCount(i: number): number {
    return this.#entryCounts[i];
  }

  /** The greatest key in chunk `i`: a view into the index's memory, not to be modified. */
  lastKey(i: number): Uint8Array {
    return this.#keys.subarray(this.#keyStarts[i], this.#keyStarts[i + 1]);
  }

  /** Chunk `i` as a new entry object. */
  entry(i: number): SparseIndexEntry {
    return {
      lastKey: this.lastKey(i),
      offset: this.#offsets[i],
      length: this.#lengths[i],
      entryCount: this.#entryCounts[i],
    };
  }

  /** All chunks as new entry objects, in file order (for verification; lookups use the accessors). */
  get entries(): SparseIndexEntry[] {
    return Array.from({ length: this.#count }, (_, i) => this.entry(i));
  }

  /**
   * The only chunk that can hold `key`: the first whose last key is ≥ `key`.
   *
   * @param key The key to look up.
   * @returns The chunk's entry, or `undefined` if `key` is greater than every key in the file.
   *
   * @example
   * ```ts
   * import { deepStrictEqual as assertEquals } from "node:assert/strict";
   * const k = (s: string) => new TextEncoder().encode(s);
   * const index = new SparseIndex([
   *   { lastKey: k("m"), offset: 16, length: 100, entryCount: 10 },
   *   { lastKey: k("t"), offset: 116, length: 80, entryCount: 8 },
   * ]);
   * assertEquals(index.findChunk(k("a"))?.offset, 16);
   * assertEquals(index.findChunk(k("n"))?.offset, 116);
   * assertEquals(index.findChunk(k("z")), undefined);
   * ```
   */
  findChunk(key: Uint8Array): SparseIndexEntry | undefined {
    const at = this.#firstAtLeast(key);
    return at < this.#count ? this.entry(at) : undefined;
  }

  /**
   * The chunks that can hold keys in `[lo, hi)`, in file order.
   *
   * @param lo Smallest key wanted; `undefined` for no lower bound.
   * @param hi First key not wanted; `undefined` for no upper bound.
   * @returns A new array of entries, empty if the range is empty or past the end.
   */
  chunksInRange(lo?: Uint8Array, hi?: Uint8Array): SparseIndexEntry[] {
    if (lo !== undefined && hi !== undefined && compareBytes(lo, hi) >= 0) return [];
    const start = lo === undefined ? 0 : this.#firstAtLeast(lo);
    // The chunk whose last key is the first ≥ hi may still hold keys below hi.
    const end = hi === undefined ? this.#count : Math.min(this.#firstAtLeast(hi) + 1, this.#count);
    const out: SparseIndexEntry[] = [];
    for (let i = start; i < end; i++) out.push(this.entry(i));
    return out;
  }

  /**
   * Position of {@linkcode findChunk}'s chunk: the first chunk whose last
   * key is ≥ `key`, or the chunk count if none.
   */
  firstAtLeast(key: Uint8Array): number {
    return this.#firstAtLeast(key);
  }

  #firstAtLeast(key: Uint8Array): number {
    const n = this.#count;
    if (n === 0) return 0;
    // A key off the shared prefix is below or above every last key.
    const common = this.#common;
    const keys = this.#keys;
    for (let i = 0; i < common; i++) {
      if (i === key.length || key[i] < keys[i]) return 0;
      if (key[i] > keys[i]) return n;
    }
    const keyHigh = wordAt(key, common);
    const keyLow = wordAt(key, common + 4);
    const high = this.#high, low = this.#low;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      let c = high[mid] - keyHigh;
      if (c === 0) c = low[mid] - keyLow;
      if (c === 0) c = this.#compareLastKey(mid, key);
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Last key `i` compared with `key`, in unsigned byte order, without making a view. */
  #compareLastKey(i: number, key: Uint8Array): number {
    const keys = this.#keys;
    const start = this.#keyStarts[i];
    const length = this.#keyStarts[i + 1] - start;
    const n = length < key.length ? length : key.length;
    for (let j = 0; j < n; j++) {
      const d = keys[start + j] - key[j];
      if (d !== 0) return d;
    }
    return length - key.length;
  }
}

/** The big-endian word of `key[at, at + 4)`, bytes past the end read as 0. */
function wordAt(key: Uint8Array, at: number): number {
  const n = key.length;
  return ((at < n ? key[at] << 24 : 0) | (at + 1 < n ? key[at + 1] << 16 : 0) |
    (at + 2 < n ? key[at + 2] << 8 : 0) | (at + 3 < n ? key[at + 3] : 0)) >>> 0;
}

function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function checkEntries(entries: readonly SparseIndexEntry[]): void {
  for (let i = 0; i < entries.length; i++) {
    const problem = entryProblem(entries[i], entries[i - 1]);
    if (problem !== undefined) throw new RangeError(`Bad sparse index entry ${i}: ${problem}`);
  }
}

/** Why `entry` cannot follow `previous`, or `undefined` if it can. */
function entryProblem(entry: SparseIndexEntry, previous: SparseIndexEntry | undefined): string | undefined {
  for (const field of ["offset", "length", "entryCount"] as const) {
    const value = entry[field];
    if (!Number.isSafeInteger(value) || value < 0) return `${field} ${value} is not an integer in 0..2^53-1`;
  }
  if (entry.length === 0) return "chunk length is 0";
  if (entry.entryCount === 0) return "chunk holds no entries";
  if (previous === undefined) return undefined;
  if (entry.offset !== previous.offset + previous.length) {
    return `chunk offset ${entry.offset} does not follow the previous chunk, which ends at ${
      previous.offset + previous.length
    }`;
  }
  if (compareBytes(previous.lastKey, entry.lastKey) >= 0) {
    return "last key is not greater than the previous one";
  }
  return undefined;
}
