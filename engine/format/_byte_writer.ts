/**
 * A growing little-endian output buffer, the encoder every format module
 * builds its bytes in.
 *
 * @module
 */

import { encodeVarint, MAX_VARINT_BYTES } from "./_varint.ts";

const TWO_POW_32 = 0x1_0000_0000;

/** Appends integers, varints and raw bytes; grows by doubling. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #length = 0;
  /** Size of the buffer allocated on the first write after {@linkcode ByteWriter.take}. */
  readonly #capacity: number;

  /** @param capacity Initial size of the backing buffer in bytes, and of each one after `take()`. */
  constructor(capacity = 256) {
    this.#capacity = Math.max(16, capacity);
    this.#buf = new Uint8Array(this.#capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /** Appends one byte. */
  u8(value: number): void {
    this.#reserve(1);
    this.#buf[this.#length++] = value;
  }

  /** Appends a little-endian u16. */
  u16(value: number): void {
    this.#reserve(2);
    this.#view.setUint16(this.#length, value, true);
    this.#length += 2;
  }

  /** Appends a little-endian u32. */
  u32(value: number): void {
    this.#reserve(4);
    this.#view.setUint32(this.#length, value, true);
    this.#length += 4;
  }

  /** Appends a little-endian u64 holding a safe non-negative integer. */
  u64(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Cannot encode ${value} as u64: expected an integer in 0..2^53-1`);
    }
    this.#reserve(8);
    this.#view.setUint32(this.#length, value >>> 0, true);
    this.#view.setUint32(this.#length + 4, Math.floor(value / TWO_POW_32), true);
    this.#length += 8;
  }

  /** Appends an unsigned LEB128 varint (see `_varint.ts`). */
  varint(value: number): void {
    this.#reserve(MAX_VARINT_BYTES);
    this.#length = encodeVarint(this.#buf, this.#length, value);
  }

  /** Appends a copy of `data`. */
  bytes(data: Uint8Array): void {
    this.#reserve(data.length);
    this.#buf.set(data, this.#length);
    this.#length += data.length;
  }

  /** Appends a copy of `data[start..]` (no view of it is made: on Deno a view costs an allocation). */
  bytesFrom(data: Uint8Array, start: number): void {
    const n = data.length - start;
    this.#reserve(n);
    const buf = this.#buf;
    let at = this.#length;
    for (let i = start; i < data.length; i++) buf[at++] = data[i];
    this.#length = at;
  }

  /**
   * The bytes in `[start, end)`, without copying. Valid only until the next
   * write or {@linkcode ByteWriter.clear}, which may reuse or move the memory.
   */
  view(start = 0, end = this.#length): Uint8Array {
    return this.#buf.subarray(start, end);
  }

  /**
   * Hands over everything written so far and starts empty. The returned
   * array is the caller's: this writer never touches its memory again.
   */
  take(): Uint8Array {
    const out = this.#buf.subarray(0, this.#length);
    // Allocated lazily, so a one-shot encoder does not pay for a buffer it never uses.
    this.#buf = new Uint8Array(0);
    this.#view = new DataView(this.#buf.buffer);
    this.#length = 0;
    return out;
  }

  /** Forgets what was written, keeping the buffer for reuse. */
  clear(): void {
    this.#length = 0;
  }

  #reserve(extra: number): void {
    const needed = this.#length + extra;
    if (needed <= this.#buf.length) return;
    let capacity = Math.max(this.#buf.length * 2, this.#capacity);
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.#buf.subarray(0, this.#length));
    this.#buf = grown;
    this.#view = new DataView(grown.buffer);
  }
}
