import { assertEquals, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import { CorruptionError } from "../../../engine/errors.ts";
import { ByteReader } from "../../../engine/format/_byte_reader.ts";
import { ByteWriter } from "../../../engine/format/_byte_writer.ts";
import { encodeVarint, varintSize } from "../../../engine/format/_varint.ts";

const ORIGIN = { file: "/f", offset: 100 };

function encoded(value: number): number[] {
  const out = new ByteWriter();
  out.varint(value);
  return Array.from(out.view());
}

function decode(bytes: number[]): number {
  return new ByteReader(new Uint8Array(bytes), ORIGIN).varint();
}

describe("varint", () => {
  it("encodes the boundary values in LEB128", () => {
    assertEquals(encoded(0), [0x00]);
    assertEquals(encoded(127), [0x7f]);
    assertEquals(encoded(128), [0x80, 0x01]);
    assertEquals(encoded(300), [0xac, 0x02]);
    assertEquals(encoded(2 ** 32), [0x80, 0x80, 0x80, 0x80, 0x10]);
    assertEquals(encoded(Number.MAX_SAFE_INTEGER), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  it("round-trips every safe integer and varintSize() matches the encoding", () => {
    fc.assert(fc.property(fc.maxSafeNat(), (value) => {
      const bytes = encoded(value);
      assertEquals(bytes.length, varintSize(value));
      const reader = new ByteReader(new Uint8Array([...bytes, 0xee]), ORIGIN);
      assertEquals(reader.varint(), value);
      assertEquals(reader.pos, bytes.length);
    }));
  });

  it("refuses to encode negative, fractional and unsafe numbers", () => {
    for (const bad of [-1, 0.5, 2 ** 53, Number.NaN]) {
      assertThrows(() => encodeVarint(new Uint8Array(8), 0, bad), RangeError);
    }
  });

  it("raises CorruptionError at the varint's offset when the data ends inside it", () => {
    const reader = new ByteReader(new Uint8Array([0x01, 0x80, 0x80]), ORIGIN);
    reader.pos = 1;
    const error = assertThrows(() => reader.varint(), CorruptionError, "runs past the end");
    assertEquals(error.offset, 101);
    assertEquals(reader.pos, 1);
    assertThrows(() => decode([]), CorruptionError, "runs past the end");
  });

  it("raises CorruptionError for a varint above 2^53-1 or longer than 8 bytes", () => {
    assertThrows(() => decode([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10]), CorruptionError, "exceeds");
    assertThrows(
      () => decode([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
      CorruptionError,
      "exceeds",
    );
  });

  it("raises CorruptionError for a padded encoding", () => {
    assertThrows(() => decode([0x80, 0x00]), CorruptionError, "shortest form");
    assertThrows(() => decode([0xff, 0x80, 0x00]), CorruptionError, "shortest form");
  });
});

describe("ByteWriter and ByteReader", () => {
  it("round-trip fixed-width little-endian integers and byte runs across buffer growth", () => {
    const out = new ByteWriter(16);
    out.u8(0xab);
    out.u16(0x1234);
    out.u32(0xdeadbeef);
    out.u64(Number.MAX_SAFE_INTEGER);
    out.bytes(new Uint8Array(100).fill(7));
    assertEquals(Array.from(out.view(0, 7)), [0xab, 0x34, 0x12, 0xef, 0xbe, 0xad, 0xde]);
    const reader = new ByteReader(out.take(), ORIGIN);
    assertEquals(
      [reader.u8(), reader.u16(), reader.u32(), reader.u64()],
      [0xab, 0x1234, 0xdeadbeef, Number.MAX_SAFE_INTEGER],
    );
    assertEquals(reader.bytes(100), new Uint8Array(100).fill(7));
    assertEquals(reader.remaining, 0);
    assertEquals(out.length, 0);
  });

  it("take() hands over memory the writer never touches again", () => {
    const out = new ByteWriter(16);
    out.u32(1);
    const taken = out.take();
    out.u32(0xffffffff);
    assertEquals(Array.from(taken), [1, 0, 0, 0]);
  });

  it("u64() refuses values above 2^53-1 on both sides", () => {
    assertThrows(() => new ByteWriter().u64(2 ** 53), RangeError);
    const bytes = new Uint8Array([0, 0, 0, 0, 0, 0, 0x20, 0]);
    assertThrows(() => new ByteReader(bytes, ORIGIN).u64(), CorruptionError, "exceeds 2^53-1");
  });

  it("raises CorruptionError instead of reading past the end", () => {
    const reader = new ByteReader(new Uint8Array([1, 2, 3]), ORIGIN);
    reader.u8();
    const error = assertThrows(() => reader.u32(), CorruptionError, "needs 4 bytes but only 2 remain");
    assertEquals(error.offset, 101);
    assertThrows(() => reader.bytes(3), CorruptionError);
  });
});
