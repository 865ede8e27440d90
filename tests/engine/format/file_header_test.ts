import { assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { CorruptionError, UnsupportedFormatError } from "../../../engine/errors.ts";
import {
  CURRENT_VERSION,
  FILE_HEADER_SIZE,
  FileKind,
  readFileHeader,
  writeFileHeader,
} from "../../../engine/format/file_header.ts";
import { assertGolden } from "../../_golden.ts";
import { byteFlips, concat, resealCrc } from "./_helpers.ts";

const ALL_KINDS = Object.values(FileKind);
const FILE = "/index/some.file";

/** A header with arbitrary fields and a valid CRC: intact bytes this engine must still refuse. */
function craftedHeader(kind: number, version: number, flags = 0): Uint8Array {
  const bytes = writeFileHeader(FileKind.CHUNK_FILE);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  view.setUint16(4, kind, true);
  view.setUint16(6, version, true);
  view.setUint32(8, flags, true);
  resealCrc(bytes, 0, 12, 12);
  return bytes;
}

describe("writeFileHeader()", () => {
  it("matches the golden headers of every kind at version 1", () => {
    assertGolden(
      new URL("./testdata/file_header_v1.bin", import.meta.url),
      concat(ALL_KINDS.map((kind) => writeFileHeader(kind))),
    );
  });

  it("writes magic, kind, version, zero flags and the CRC, little-endian", () => {
    const bytes = writeFileHeader(FileKind.BLOOM_FILTER, 0x0102);
    assertEquals(bytes.length, FILE_HEADER_SIZE);
    assertEquals(Array.from(bytes.subarray(0, 12)), [0x48, 0x53, 0x4b, 0x56, 3, 0, 2, 1, 0, 0, 0, 0]);
  });

  it("rejects a version outside u16", () => {
    assertThrows(() => writeFileHeader(FileKind.MANIFEST, 0x10000), RangeError);
    assertThrows(() => writeFileHeader(FileKind.MANIFEST, 1.5), RangeError);
  });
});

describe("readFileHeader()", () => {
  it("reads back every kind at its current version", () => {
    for (const kind of ALL_KINDS) {
      assertEquals(readFileHeader(writeFileHeader(kind), FILE, kind), {
        kind,
        version: CURRENT_VERSION[kind],
      });
    }
  });

  it("ignores the bytes after the header", () => {
    const bytes = concat([writeFileHeader(FileKind.MANIFEST), new Uint8Array([9, 9, 9])]);
    assertEquals(readFileHeader(bytes, FILE, FileKind.MANIFEST).version, 1);
  });

  it("raises CorruptionError for every single flipped byte", () => {
    for (const kind of ALL_KINDS) {
      for (const flip of byteFlips(writeFileHeader(kind))) {
        const error = assertThrows(() => readFileHeader(flip.bytes, FILE, kind), CorruptionError);
        assertStrictEquals(error.file, FILE);
        // Magic bytes are reported where they differ; anything else fails the CRC of the whole header.
        assertEquals(error.offset, flip.position < 4 ? flip.position : 0);
      }
    }
  });

  it("raises CorruptionError for a header cut at any length", () => {
    const bytes = writeFileHeader(FileKind.SPARSE_INDEX);
    for (let length = 0; length < FILE_HEADER_SIZE; length++) {
      const error = assertThrows(
        () => readFileHeader(bytes.subarray(0, length), FILE, FileKind.SPARSE_INDEX),
        CorruptionError,
      );
      assertEquals(error.offset, length);
    }
  });

  it("raises CorruptionError on bad magic before looking at the CRC", () => {
    const bytes = new TextEncoder().encode("PK\x03\x04 not ours at all");
    assertThrows(() => readFileHeader(bytes, FILE, FileKind.MANIFEST), CorruptionError, "bad magic");
  });

  it("raises UnsupportedFormatError for a newer version, naming both versions", () => {
    assertThrows(
      () => readFileHeader(craftedHeader(FileKind.SPARSE_INDEX, 3), FILE, FileKind.SPARSE_INDEX),
      UnsupportedFormatError,
      "format version 3 of sparse index is newer than this engine supports (1)",
    );
  });

  it("raises UnsupportedFormatError for version 0", () => {
    assertThrows(
      () => readFileHeader(craftedHeader(FileKind.MANIFEST, 0), FILE, FileKind.MANIFEST),
      UnsupportedFormatError,
      "format version 0 of manifest does not exist",
    );
  });

  it("raises UnsupportedFormatError for an unknown kind", () => {
    for (const kind of [0, 7, 0xffff]) {
      assertThrows(
        () => readFileHeader(craftedHeader(kind, 1), FILE, FileKind.CHUNK_FILE),
        UnsupportedFormatError,
        `unknown file kind ${kind}`,
      );
    }
  });

  it("raises UnsupportedFormatError for another kind than expected", () => {
    assertThrows(
      () => readFileHeader(writeFileHeader(FileKind.BLOOM_FILTER), FILE, FileKind.SPARSE_INDEX),
      UnsupportedFormatError,
      "expected a sparse index but the file is a Bloom filter",
    );
  });

  it("raises UnsupportedFormatError for flags it does not know", () => {
    assertThrows(
      () => readFileHeader(craftedHeader(FileKind.CHUNK_FILE, 1, 0x10), FILE, FileKind.CHUNK_FILE),
      UnsupportedFormatError,
      "header flags 0x10",
    );
  });
});
