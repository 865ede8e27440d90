/**
 * The Bloom filter of one chunk file: a read skips the file when the filter
 * says its key is absent.
 *
 * ```
 * +--------------------+ 0
 * | file header (16 B) |  kind BLOOM_FILTER, version 1
 * +--------------------+ 16
 * | bitCount  u32      |  m, a positive multiple of 8
 * | keyCount  u32      |  keys added (a statistic; saturates at 2^32 − 1)
 * | hashCount u8       |  k, 1..30
 * | padding   3 B = 0  |
 * +--------------------+ 28
 * | bits   m / 8 bytes |  bit j is bit (j mod 8), least significant first, of byte ⌊j / 8⌋
 * +--------------------+
 * | CRC-32C   u32      |  of everything from offset 16 to here
 * +--------------------+
 * ```
 *
 * Probing (Kirsch–Mitzenmacher double hashing): h1 = MurmurHash3_x86_32(key,
 * seed 0), h2 = MurmurHash3_x86_32(key, seed h1); probe i, for i = 0 … k − 1,
 * tests bit ((h1 + i·h2) mod 2^32) mod m. The hash and the probe sequence are
 * part of format version 1.
 *
 * @module
 */

import { crc32c } from "../_crc32c.ts";
import { CorruptionError } from "../errors.ts";
import { ByteReader } from "./_byte_reader.ts";
import { ByteWriter } from "./_byte_writer.ts";
import { murmurHash3X86 } from "./_murmur3.ts";
import { FILE_HEADER_SIZE, FileKind, readFileHeader, writeFileHeader } from "./file_header.ts";

/** bitCount, keyCount, hashCount and padding. Part of the on-disk format; bump the version instead of editing. */
const PARAMS_SIZE = 12;
const CRC_SIZE = 4;
const MAX_HASH_COUNT = 30;
const MAX_U32 = 0xffff_ffff;
/** Filters are sized in whole 64-bit words, at least one. */
const MIN_BIT_COUNT = 64;
/** Largest multiple of 64 that fits bitCount's u32 (512 MiB of bits). */
const MAX_BIT_COUNT = 0x1_0000_0000 - 64;

/** Hash functions of a filter with `bitsPerKey` bits per key: round(bitsPerKey · ln 2), the optimum, at least 1. */
export function bloomHashCount(bitsPerKey: number): number {
  return Math.min(Math.max(Math.round(bitsPerKey * Math.LN2), 1), MAX_HASH_COUNT);
}

/** Expected false-positive rate of a full filter: (1 − e^(−k/b))^k for k hashes and b bits per key. */
export function bloomFalsePositiveRate(bitsPerKey: number): number {
  if (bitsPerKey <= 0) return 1;
  const k = bloomHashCount(bitsPerKey);
  return (1 - Math.exp(-k / bitsPerKey)) ** k;
}

/**
 * Writes a key's two hashes, {@linkcode BloomProbe}'s `h1` and `h2`, into
 * `out[at]` and `out[at + 1]`: for a builder that keeps them for every key,
 * without an object per key.
 */
export function writeBloomHashes(key: Uint8Array, out: Uint32Array, at: number): void {
  const h1 = murmurHash3X86(key, 0);
  out[at] = h1;
  out[at + 1] = murmurHash3X86(key, h1);
}

/** A key's two hashes, computed once and checked against any number of filters. */
export class BloomProbe {
  readonly h1: number;
  readonly h2: number;
  constructor(key: Uint8Array) {
    this.h1 = murmurHash3X86(key, 0);
    this.h2 = murmurHash3X86(key, this.h1);
  }
}

/** Options of {@linkcode BloomFilter}. */
export interface BloomFilterOptions {
  /** Keys the filter is sized for; adding more raises the false-positive rate. */
  expectedKeys: number;
  /**
   * Bits per expected key. 10 gives k = 7 hashes and about 1 % false
   * positives (0.8 % in theory; the test measures it).
   * @default {10}
   */
  bitsPerKey?: number;
}

/** A Bloom filter over byte-string keys. Not safe to `add` while another caller reads. */
export class BloomFilter {
  #bits: Uint8Array;
  #bitCount: number;
  #hashCount: number;
  #keyCount = 0;

  /**
   * An empty filter of ⌈expectedKeys · bitsPerKey⌉ bits rounded up to a
   * multiple of 64 (at least 64, at most 2^32 − 64), with
   * k = round(bitsPerKey · ln 2) hashes clamped to 1..30.
   *
   * @param options Sizing.
   * @throws {RangeError} If `expectedKeys` is not a non-negative integer or `bitsPerKey` not a positive number.
   */
  constructor(options: BloomFilterOptions) {
    const { expectedKeys, bitsPerKey = 10 } = options;
    if (!Number.isSafeInteger(expectedKeys) || expectedKeys < 0) {
      throw new RangeError(`expectedKeys must be a non-negative integer, got ${expectedKeys}`);
    }
    if (!Number.isFinite(bitsPerKey) || bitsPerKey <= 0) {
      throw new RangeError(`bitsPerKey must be a positive number, got ${bitsPerKey}`);
    }
    const wanted = Math.ceil((expectedKeys * bitsPerKey) / 64) * 64;
    this.#bitCount = Math.min(Math.max(wanted, MIN_BIT_COUNT), MAX_BIT_COUNT);
    this.#bits = new Uint8Array(this.#bitCount / 8);
    this.#hashCount = bloomHashCount(bitsPerKey);
  }

  /**
   * Decodes and verifies a Bloom filter file.
   *
   * @param bytes The whole file. Not kept: the filter holds its own copy of the bits.
   * @param file The file's path, for error messages.
   * @returns The filter.
   * @throws {CorruptionError} If any byte is damaged or the file is truncated.
   * @throws {UnsupportedFormatError} If the header is intact but of a newer version or another kind.
   */
  static decode(bytes: Uint8Array, file: string): BloomFilter {
    readFileHeader(bytes, file, FileKind.BLOOM_FILTER);
    const bitsStart = FILE_HEADER_SIZE + PARAMS_SIZE;
    const crcStart = bytes.length - CRC_SIZE;
    if (crcStart < bitsStart) {
      throw new CorruptionError(file, bytes.length, "file ends inside the Bloom filter parameters");
    }
    const reader = new ByteReader(bytes.subarray(FILE_HEADER_SIZE), { file, offset: FILE_HEADER_SIZE });
    const bitCount = reader.u32();
    const keyCount = reader.u32();
    const hashCount = reader.u8();
    const padding = reader.bytes(3);
    reader.pos = crcStart - FILE_HEADER_SIZE;
    if (crc32c(bytes, 0, FILE_HEADER_SIZE, crcStart) !== reader.u32()) {
      reader.fail("Bloom filter checksum mismatch", 0);
    }
    if (bitCount === 0 || bitCount % 8 !== 0) {
      reader.fail(`bit count ${bitCount} is not a positive multiple of 8`, 0);
    }
    if (bitCount / 8 !== crcStart - bitsStart) {
      reader.fail(`bit count ${bitCount} does not match the ${crcStart - bitsStart} bytes of bits`, 0);
    }
    if (hashCount < 1 || hashCount > MAX_HASH_COUNT) {
      reader.fail(`hash count ${hashCount} is not in 1..30`, 8);
    }
    if (padding.some((b) => b !== 0)) reader.fail("padding bytes are not zero", 9);
    const filter = new BloomFilter({ expectedKeys: 0 });
    filter.#bits = bytes.slice(bitsStart, crcStart);
    filter.#bitCount = bitCount;
    filter.#hashCount = hashCount;
    filter.#keyCount = keyCount;
    return filter;
  }

  /** Size of the bit array (m). */
  get bitCount(): number {
    return this.#bitCount;
  }

  /** Bits tested per key (k). */
  get hashCount(): number {
    return this.#hashCount;
  }

  /** Calls to {@linkcode BloomFilter.add} so far (duplicates count again), saturating at 2^32 − 1. */
  get keyCount(): number {
    return this.#keyCount;
  }

  /**
   * Records `key` as present.
   *
   * @param key The key's bytes.
   */
  add(key: Uint8Array): void {
    const h1 = murmurHash3X86(key, 0);
    this.addHashes(h1, murmurHash3X86(key, h1));
  }

  /**
   * {@linkcode add} for a key whose two hashes ({@linkcode BloomProbe}'s
   * `h1` and `h2`) were computed earlier, so a builder that learns the key
   * count only at the end keeps 8 bytes per key instead of the key.
   *
   * @param h1 The key's first hash.
   * @param h2 The key's second hash.
   */
  addHashes(h1: number, h2: number): void {
    const bits = this.#bits;
    // Both typed as u32, V8 compiles `%` to an integer division instead of a float modulo (twice as fast).
    const m = this.#bitCount >>> 0;
    let h = h1 >>> 0;
    for (let i = 0; i < this.#hashCount; i++) {
      const bit = h % m;
      bits[bit >>> 3] |= 1 << (bit & 7);
      h = (h + h2) >>> 0;
    }
    if (this.#keyCount < MAX_U32) this.#keyCount++;
  }

  /**
   * Tells whether `key` may have been added.
   *
   * @param key The key's bytes.
   * @returns `false` only if `key` was never added (no false negatives); `true` for every added
   *   key and, with the false-positive probability, for some keys that were not.
   *
   * @example
   * ```ts
   * import { ok as assert } from "node:assert/strict";
   * const filter = new BloomFilter({ expectedKeys: 100 });
   * const key = new TextEncoder().encode("apple");
   * filter.add(key);
   * assert(filter.mayContain(key));
   * ```
   */
  mayContain(key: Uint8Array): boolean {
    return this.mayContainProbe(new BloomProbe(key));
  }

  /**
   * {@linkcode mayContain} with the key's hashes computed once, for a key
   * checked against several filters.
   *
   * @param probe The key's hashes.
   * @returns As {@linkcode mayContain}.
   */
  mayContainProbe(probe: BloomProbe): boolean {
    const { h1, h2 } = probe;
    const bits = this.#bits;
    // As in addHashes: u32 operands make `%` an integer division.
    const m = this.#bitCount >>> 0;
    let h = h1 >>> 0;
    for (let i = 0; i < this.#hashCount; i++) {
      const bit = h % m;
      if ((bits[bit >>> 3] & (1 << (bit & 7))) === 0) return false;
      h = (h + h2) >>> 0;
    }
    return true;
  }

  /**
   * Encodes the filter as a file.
   *
   * @returns The whole file.
   */
  encode(): Uint8Array {
    const out = new ByteWriter(FILE_HEADER_SIZE + PARAMS_SIZE + this.#bits.length + CRC_SIZE);
    out.bytes(writeFileHeader(FileKind.BLOOM_FILTER));
    out.u32(this.#bitCount);
    out.u32(this.#keyCount);
    out.u8(this.#hashCount);
    out.bytes(new Uint8Array(3));
    out.bytes(this.#bits);
    out.u32(crc32c(out.view(FILE_HEADER_SIZE)));
    return out.take();
  }
}
