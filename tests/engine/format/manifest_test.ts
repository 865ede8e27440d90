import { assertEquals, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import { CorruptionError, UnsupportedFormatError } from "../../../engine/errors.ts";
import { FILE_HEADER_SIZE, FileKind, writeFileHeader } from "../../../engine/format/file_header.ts";
import { decodeManifest, encodeManifest } from "../../../engine/format/manifest.ts";
import { assertGolden } from "../../_golden.ts";
import { byteFlips, concat, resealCrc, utf8 } from "./_helpers.ts";

const FILE = "/index/manifest";

const FIXTURE = {
  version: 7,
  name: "orders-ü✓",
  nextSegmentId: 3,
  segments: [
    { id: 1, maxKey: "m", deltaFiles: 0 },
    { id: 2, maxKey: "zz", deltaFiles: 2 },
  ],
  options: { chunkKeyLimit: 1000, bloom: null, compress: false, ratio: -0.25 },
};

/** A manifest file with arbitrary JSON bytes and a valid CRC. */
function handMade(json: Uint8Array, length = json.length): Uint8Array {
  const lengthField = new Uint8Array(4);
  new DataView(lengthField.buffer).setUint32(0, length, true);
  const bytes = concat([writeFileHeader(FileKind.MANIFEST), lengthField, json, new Uint8Array(4)]);
  resealCrc(bytes, FILE_HEADER_SIZE, bytes.length - 4, bytes.length - 4);
  return bytes;
}

describe("encodeManifest()", () => {
  it("matches the golden file for a fixed manifest", () => {
    assertGolden(new URL("./testdata/manifest_v1.bin", import.meta.url), encodeManifest(FIXTURE));
  });

  it("writes canonical JSON: sorted keys, no whitespace, undefined properties left out", () => {
    const bytes = encodeManifest({ b: [1, { y: true, x: "é" }], a: null, c: undefined, "10": 0, "9": 1 });
    const json = new TextDecoder().decode(bytes.subarray(FILE_HEADER_SIZE + 4, bytes.length - 4));
    assertEquals(json, '{"10":0,"9":1,"a":null,"b":[1,{"x":"é","y":true}]}');
  });

  it("gives the same bytes whatever the property insertion order", () => {
    const reordered = {
      options: { ratio: -0.25, compress: false, bloom: null, chunkKeyLimit: 1000 },
      segments: FIXTURE.segments.map(({ deltaFiles, maxKey, id }) => ({ deltaFiles, maxKey, id })),
      nextSegmentId: 3,
      name: "orders-ü✓",
      version: 7,
    };
    assertEquals(encodeManifest(reordered), encodeManifest(FIXTURE));
  });

  it("throws TypeError for values JSON cannot carry exactly", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (
      const [value, reason] of [
        [{ n: Number.NaN }, "value.n"],
        [{ n: Infinity }, "not finite"],
        [{ big: 1n }, "bigint"],
        [{ f() {} }, "function"],
        [[1, undefined], "value[1]"],
        [{ when: new Date(0) }, "plain objects"],
        [new Map(), "plain objects"],
        [cyclic, "refers to itself"],
        [undefined, "undefined"],
      ] as const
    ) {
      assertThrows(() => encodeManifest(value), TypeError, reason);
    }
  });
});

describe("decodeManifest()", () => {
  it("reads back the golden manifest", () => {
    assertEquals(decodeManifest(encodeManifest(FIXTURE), FILE), FIXTURE);
  });

  it("round-trips any JSON value", () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      // JSON itself turns -0 into 0; compare with what JSON.parse makes of the same text.
      const expected = JSON.parse(JSON.stringify(value));
      const decoded = decodeManifest(encodeManifest(expected), FILE);
      assertEquals(decoded, expected);
      assertEquals(encodeManifest(decoded), encodeManifest(expected));
    }));
  });

  it("raises CorruptionError for every single flipped byte", () => {
    const bytes = encodeManifest(FIXTURE);
    for (const flip of byteFlips(bytes)) {
      assertThrows(() => decodeManifest(flip.bytes, FILE), CorruptionError, undefined, `${flip.position}`);
    }
  });

  it("raises CorruptionError for the file cut at every length", () => {
    const bytes = encodeManifest(FIXTURE);
    for (let length = 0; length < bytes.length; length++) {
      assertThrows(
        () => decodeManifest(bytes.subarray(0, length), FILE),
        CorruptionError,
        undefined,
        `${length}`,
      );
    }
  });

  it("raises UnsupportedFormatError for a newer version or another kind", () => {
    const newer = encodeManifest(FIXTURE);
    newer.set(writeFileHeader(FileKind.MANIFEST, 2));
    assertThrows(() => decodeManifest(newer, FILE), UnsupportedFormatError, "format version 2 of manifest");
    const wal = encodeManifest(FIXTURE);
    wal.set(writeFileHeader(FileKind.WAL));
    assertThrows(
      () => decodeManifest(wal, FILE),
      UnsupportedFormatError,
      "expected a manifest but the file is a WAL",
    );
  });

  it("raises CorruptionError for a bad length, bad UTF-8 or bad JSON sealed under a valid checksum", () => {
    assertThrows(() => decodeManifest(handMade(utf8("{}"), 3), FILE), CorruptionError, "length field says 3");
    assertThrows(
      () => decodeManifest(handMade(new Uint8Array([0x7b, 0xff, 0x7d])), FILE),
      CorruptionError,
      "UTF-8",
    );
    const error = assertThrows(
      () => decodeManifest(handMade(utf8("{oops")), FILE),
      CorruptionError,
      "not valid JSON",
    );
    assertEquals(error.offset, FILE_HEADER_SIZE + 4);
  });
});
