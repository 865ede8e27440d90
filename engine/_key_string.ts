/**
 * Encoded keys as "binary strings" (one UTF-16 code unit per byte), the
 * keys of the in-memory write caches. JS compares such strings code unit by
 * code unit, which is exactly unsigned byte order, so sorting them sorts
 * the keys.
 *
 * @module
 */

/** The binary string of `bytes`. */
export function keyString(bytes: Uint8Array): string {
  if (bytes.length <= 64) {
    let s = "";
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return s;
  }
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  }
  return s;
}
