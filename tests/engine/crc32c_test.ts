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

describe("crc32c()", () => {
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
