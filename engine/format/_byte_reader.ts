/**
 * A bounds-checked little-endian cursor over bytes read from a file. Every
 * failure is a `CorruptionError` naming the file and the absolute offset of
 * the bad bytes; nothing reads past the end of the given array.
 *
 * @module
 */

import { CorruptionError } from "../errors.ts";
import { decodeVarint, VARINT_NOT_MINIMAL, VARINT_TRUNCATED } from "./_varint.ts";

const TWO_POW_32 = 0x1_0000_0000;
/** u64 high words above this make the value exceed 2^53 − 1. */
const MAX_SAFE_HIGH_WORD = 0x1f_ffff;

/** Where a byte array came from, for error messages. */
export interface ByteOrigin {
  /** The file the bytes were read from. */
  file: string;
  /** Offset in `file` of the array's first byte. */
  offset: number;
}

/** Reads integers, varints and byte runs from the front of an array. */
export class ByteReader {
  /** Index in the array of the next byte to read. */
  pos = 0;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #file: string;
  readonly #offset: number;

  /**
   * @param bytes The bytes to decode; the reader keeps a reference and never writes to them.
   * @param origin Where `bytes` starts, so errors carry absolute file offsets.
   */
  constructor(bytes: Uint8Array, origin: ByteOrigin) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#file = origin.file;
    this.#offset = origin.offset;
  }

  /** Bytes left after `pos`. */
  get remaining(): number {
    return this.#bytes.length - this.pos;
  }

  /** Absolute file offset of `pos`. */
  get fileOffset(): number {
    return this.#offset + this.pos;
  }

  /** Reads one byte. */
  u8(): number {
    this.#need(1, "u8");
    return this.#bytes[this.pos++];
  }

  /** Reads a little-endian u16. */
  u16(): number {
    this.#need(2, "u16");
    const value = this.#view.getUint16(this.pos, true);
    this.pos += 2;
    return value;
  }

  /** Reads a little-endian u32. */
  u32(): number {
    this.#need(4, "u32");
    const value = this.#view.getUint32(this.pos, true);
    this.pos += 4;
    return value;
  }

  /** Reads a little-endian u64, which must not exceed 2^53 − 1. */
  u64(): number {
    this.#need(8, "u64");
    const low = this.#view.getUint32(this.pos, true);
    const high = this.#view.getUint32(this.pos + 4, true);
    if (high > MAX_SAFE_HIGH_WORD) this.fail("u64 value exceeds 2^53-1");
    this.pos += 8;
    return high * TWO_POW_32 + low;
  }

  /** Reads an unsigned LEB128 varint in its shortest form. */
  varint(): number {
    const value = decodeVarint(this.#bytes, this, this.#bytes.length);
    if (value >= 0) return value;
    if (value === VARINT_TRUNCATED) this.fail("varint runs past the end of the data");
    if (value === VARINT_NOT_MINIMAL) this.fail("varint is not in its shortest form");
    return this.fail("varint is longer than 8 bytes or exceeds 2^53-1");
  }

  /** Returns the next `length` bytes without copying them. */
  bytes(length: number): Uint8Array {
    this.#need(length, "byte run");
    const out = this.#bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  /**
   * Throws the `CorruptionError` for bad data at `pos` (or at array index `at`).
   *
   * @param reason What is wrong, e.g. "chunk holds no entries".
   * @param at Index in the array where the bad data starts.
   */
  fail(reason: string, at: number = this.pos): never {
    throw new CorruptionError(this.#file, this.#offset + at, reason);
  }

  #need(length: number, what: string): void {
    if (length > this.#bytes.length - this.pos) {
      this.fail(`${what} needs ${length} bytes but only ${this.#bytes.length - this.pos} remain`);
    }
  }
}
