/**
 * Unsigned LEB128 varints, limited to JavaScript's safe integers
 * (0 … 2^53 − 1), as used inside chunk payloads and sparse indexes.
 *
 * ```
 * value 300 = 0b10_0101100
 * +----------+----------+
 * | 10101100 | 00000010 |   low 7 bits first; the top bit says "more follows"
 * +----------+----------+
 * ```
 *
 * A value takes 1 to 8 bytes. Decoding accepts only the shortest encoding,
 * so every value has exactly one byte form and a flipped continuation bit
 * cannot go unnoticed as a "padded" number.
 *
 * @module
 */

/** Longest encoding: 8 × 7 bits cover the 53 bits of a safe integer. */
export const MAX_VARINT_BYTES = 8;

/** {@linkcode decodeVarint} result: the input ends inside the varint. */
export const VARINT_TRUNCATED = -1;
/** {@linkcode decodeVarint} result: more than 8 bytes, or a value above 2^53 − 1. */
export const VARINT_TOO_LARGE = -2;
/** {@linkcode decodeVarint} result: a longer encoding than the value needs (ends in a zero byte). */
export const VARINT_NOT_MINIMAL = -3;

/** Where {@linkcode decodeVarint} reads; `pos` moves past the varint on success. */
export interface VarintCursor {
  pos: number;
}

/**
 * Number of bytes the varint encoding of `value` takes.
 *
 * @param value A safe non-negative integer.
 * @returns 1 to 8.
 */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

/**
 * Writes the varint encoding of `value` into `target` at `pos`. The caller
 * makes room for {@linkcode varintSize} bytes.
 *
 * @param target The buffer to write into.
 * @param pos Where the first byte goes.
 * @param value A safe non-negative integer.
 * @returns The position after the last byte written.
 * @throws {RangeError} If `value` is negative, fractional or above 2^53 − 1.
 */
export function encodeVarint(target: Uint8Array, pos: number, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Cannot encode ${value} as a varint: expected an integer in 0..2^53-1`);
  }
  // Division rather than shifts above 2^31: JavaScript's bit operators work on 32 bits.
  while (value >= 0x80) {
    target[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  target[pos++] = value;
  return pos;
}

/**
 * Reads one varint from `source[cursor.pos, end)`.
 *
 * @param source The bytes to read.
 * @param cursor Start position; advanced past the varint on success, untouched on failure.
 * @param end Position the varint must not run past.
 * @returns The value, or one of the negative `VARINT_*` codes for malformed input.
 */
export function decodeVarint(source: Uint8Array, cursor: VarintCursor, end: number): number {
  let pos = cursor.pos;
  if (pos >= end) return VARINT_TRUNCATED;
  let byte = source[pos++];
  if (byte < 0x80) {
    cursor.pos = pos;
    return byte;
  }
  let value = byte & 0x7f;
  let scale = 0x80;
  for (let i = 1; i < MAX_VARINT_BYTES; i++) {
    if (pos >= end) return VARINT_TRUNCATED;
    byte = source[pos++];
    // Byte 8 holds bits 49..55; a safe integer uses only bits 49..52 of it.
    if (i === MAX_VARINT_BYTES - 1 && byte >= 0x10) return VARINT_TOO_LARGE;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (byte === 0) return VARINT_NOT_MINIMAL;
      cursor.pos = pos;
      return value;
    }
    scale *= 0x80;
  }
  return VARINT_TOO_LARGE;
}
