/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby's public-domain
 * `MurmurHash3_x86_32`), the key hash of the Bloom filter. Changing it
 * changes which bits a stored filter has set: it is part of the Bloom filter
 * format, so bump that format's version instead of editing.
 *
 * Test vectors: "" seed 0 → 0x00000000, "" seed 1 → 0x514E28B7,
 * "The quick brown fox jumps over the lazy dog" seed 0 → 0x2E4FF723.
 *
 * @module
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * Hashes `data` with MurmurHash3_x86_32.
 *
 * @param data The bytes to hash.
 * @param seed A 32-bit seed.
 * @returns An unsigned 32-bit hash.
 */
export function murmurHash3X86(data: Uint8Array, seed: number): number {
  const length = data.length;
  const blockEnd = length & ~3;
  let h = seed | 0;
  for (let i = 0; i < blockEnd; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail !== 0) {
    let k = 0;
    if (tail === 3) k ^= data[blockEnd + 2] << 16;
    if (tail >= 2) k ^= data[blockEnd + 1] << 8;
    k ^= data[blockEnd];
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
