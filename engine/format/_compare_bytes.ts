/**
 * The key order of every sorted format: unsigned bytes, compared
 * lexicographically, a proper prefix sorting first.
 *
 * @module
 */

/**
 * Compares two byte strings as unsigned bytes.
 *
 * @param a The first byte string.
 * @param b The second byte string.
 * @returns A negative number if `a` sorts first, a positive number if `b` does, 0 if they are equal.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[i];
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
