/**
 * Encoded keys as "binary strings" (one UTF-16 code unit per byte), the
 * keys of the in-memory write caches. JS compares such strings code unit by
 * code unit, which is exactly unsigned byte order, so sorting them sorts
 * the keys.
 *
 * @module
 */

/** Bytes per `String.fromCharCode` call, well below engines' argument limits. */
const SLICE = 4096;

/** The binary string of `bytes`. */
export function keyString(bytes: Uint8Array): string {
  // One call builds a flat string; appending per byte builds a rope that is garbage once hashed.
  if (bytes.length <= SLICE) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let s = "";
  for (let i = 0; i < bytes.length; i += SLICE) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + SLICE) as unknown as number[]);
  }
  return s;
}
