import { assertEquals } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import { crc32c } from "../../engine/_crc32c.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

function bitwiseCrc32c(data: Uint8Array): number {
  let c = ~0 >>> 0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

/** The slicing-by-8 implementation this one replaced, kept as a reference for equivalence. */
const SLICE8 = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    tables[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[0][n];
    for (let t = 1; t < 8; t++) {
      c = tables[0][c & 0xff] ^ (c >>> 8);
      tables[t][n] = c >>> 0;
    }
  }
  return tables;
})();

function slicing8Crc32c(data: Uint8Array, crc: number, start: number, end: number): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = SLICE8;
  let c = ~crc >>> 0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    c ^= data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    c = t7[c & 0xff] ^ t6[(c >>> 8) & 0xff] ^ t5[(c >>> 16) & 0xff] ^ t4[c >>> 24] ^
      t3[data[i + 4]] ^ t2[data[i + 5]] ^ t1[data[i + 6]] ^ t0[data[i + 7]];
  }
  for (; i < end; i++) c = t0[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

describe("crc32c()", () => {
  it("gives the RFC 3720 B.4 vectors for ascending and descending bytes", () => {
    const up = Uint8Array.from({ length: 32 }, (_, i) => i);
    assertEquals(crc32c(up), 0x46dd794e);
    assertEquals(crc32c(up.reverse()), 0x113fdb5c);
  });
  it("agrees with the slicing-by-8 implementation it replaced, on random data, seeds and ranges", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(), fc.nat(), fc.nat(), (data, seed, a, b) => {
        const start = a % (data.length + 1);
        const end = start + b % (data.length - start + 1);
        const crc = seed >>> 0;
        assertEquals(crc32c(data, crc, start, end), slicing8Crc32c(data, crc, start, end));
      }),
      { numRuns: 300 },
    );
  });
  it("is the same for views at every alignment of their buffer", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 7 }), (data, shift) => {
        const view = new Uint8Array(data.length + 16).subarray(shift, shift + data.length);
        view.set(data);
        assertEquals(crc32c(view), slicing8Crc32c(data, 0, 0, data.length));
        assertEquals(crc32c(view, 7, 1), slicing8Crc32c(data, 7, 1, data.length));
      }),
      { numRuns: 500 },
    );
  });
  it("agrees with the slicing-by-8 implementation on long runs at every alignment, views included", () => {
    const data = Uint8Array.from({ length: 1200 }, (_, i) => (i * 131 + (i >> 7)) & 0xff);
    for (let offset = 0; offset < 4; offset++) {
      const view = data.subarray(offset);
      for (let start = 0; start < 8; start++) {
        for (const length of [255, 256, 257, 270, 1000]) {
          const end = start + length;
          assertEquals(
            crc32c(view, 7, start, end),
            slicing8Crc32c(view, 7, start, end),
            `${offset} ${start} ${length}`,
          );
        }
      }
    }
  });
  it("gives the RFC 3720 check value for '123456789'", () => {
    assertEquals(crc32c(ascii("123456789")), 0xe3069283);
  });
  it("gives the RFC 3720 B.4 vectors for 32 zero bytes and 32 0xFF bytes", () => {
    assertEquals(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assertEquals(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  });
  it("is 0 for empty input", () => {
    assertEquals(crc32c(new Uint8Array(0)), 0);
  });
  it("agrees with the bit-at-a-time definition on any input", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
      assertEquals(crc32c(data), bitwiseCrc32c(data));
    }));
  });
  it("continues across pieces and honours start and end", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (data, cut) => {
      const at = data.length === 0 ? 0 : cut % (data.length + 1);
      assertEquals(crc32c(data, crc32c(data, 0, 0, at), at), crc32c(data));
      assertEquals(crc32c(data, 0, at), crc32c(data.subarray(at)));
    }));
  });
});
