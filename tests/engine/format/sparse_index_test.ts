import { assertEquals, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import { CorruptionError, UnsupportedFormatError } from "../../../engine/errors.ts";
import { ByteWriter } from "../../../engine/format/_byte_writer.ts";
import { compareBytes } from "../../../engine/type_descriptor.ts";
import { FILE_HEADER_SIZE, FileKind, writeFileHeader } from "../../../engine/format/file_header.ts";
import {
  decodeSparseIndex,
  encodeSparseIndex,
  SparseIndex,
  type SparseIndexEntry,
} from "../../../engine/format/sparse_index.ts";
import { assertGolden } from "../../_golden.ts";
import {
  arbitraryEntries,
  byteFlips,
  FIXTURE_ENTRIES,
  FIXTURE_OPTIONS,
  resealCrc,
  utf8,
  writeChunkFile,
} from "./_helpers.ts";

const FILE = "/index/segment-00001/v1-index.sparse";

function fixtureEntries(): SparseIndexEntry[] {
  return writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS).summary.chunks;
}

/** Sparse entries for chunks ending at the given keys, laid out back to back. */
function entriesFor(lastKeys: readonly Uint8Array[]): SparseIndexEntry[] {
  let offset = FILE_HEADER_SIZE;
  return lastKeys.map((lastKey, i) => {
    const entry = { lastKey, offset, length: 20 + i, entryCount: 1 + (i % 3) };
    offset += entry.length;
    return entry;
  });
}

/** A sparse index file with arbitrary entries and a valid CRC, bypassing the encoder's checks. */
function handMadeIndex(entries: readonly SparseIndexEntry[]): Uint8Array {
  const out = new ByteWriter();
  out.bytes(writeFileHeader(FileKind.SPARSE_INDEX));
  out.varint(entries.length);
  for (const entry of entries) {
    out.varint(entry.lastKey.length);
    out.bytes(entry.lastKey);
    out.varint(entry.offset);
    out.varint(entry.length);
    out.varint(entry.entryCount);
  }
  out.u32(0);
  const bytes = out.take();
  resealCrc(bytes, FILE_HEADER_SIZE, bytes.length - 4, bytes.length - 4);
  return bytes;
}

const sortedUniqueKeys = fc.uniqueArray(fc.uint8Array({ maxLength: 5, max: 3 }), {
  maxLength: 30,
  selector: (key) => Array.from(key).join(","),
}).map((keys) => keys.sort(compareBytes));

describe("encodeSparseIndex()", () => {
  it("matches the golden file for the fixture chunk file", () => {
    assertGolden(
      new URL("./testdata/sparse_index_v1.bin", import.meta.url),
      encodeSparseIndex(fixtureEntries()),
    );
  });

  it("round-trips through decodeSparseIndex()", () => {
    fc.assert(fc.property(sortedUniqueKeys, (keys) => {
      const entries = entriesFor(keys);
      assertEquals(decodeSparseIndex(encodeSparseIndex(entries), FILE).entries, entries);
    }));
  });

  it("round-trips the sparse entries of random chunk files", () => {
    fc.assert(fc.property(arbitraryEntries(), fc.integer({ min: 1, max: 8 }), (entries, chunkKeyLimit) => {
      const chunks = writeChunkFile(entries, { chunkKeyLimit }).summary.chunks;
      assertEquals(decodeSparseIndex(encodeSparseIndex(chunks), FILE).entries, chunks);
    }));
  });

  it("encodes an index of no chunks (an empty chunk file)", () => {
    assertEquals(decodeSparseIndex(encodeSparseIndex([]), FILE).entries, []);
  });

  it("throws RangeError for entries out of order, not contiguous, or empty", () => {
    const good = entriesFor([utf8("a"), utf8("b")]);
    assertThrows(() => encodeSparseIndex([good[1], good[0]]), RangeError, "does not follow");
    assertThrows(
      () => encodeSparseIndex([good[0], { ...good[1], lastKey: utf8("a") }]),
      RangeError,
      "last key",
    );
    assertThrows(() => encodeSparseIndex([{ ...good[0], entryCount: 0 }]), RangeError, "no entries");
    assertThrows(() => encodeSparseIndex([{ ...good[0], length: 0 }]), RangeError, "length is 0");
    assertThrows(() => new SparseIndex([{ ...good[0], offset: -1 }]), RangeError, "offset -1");
  });
});

describe("SparseIndex", () => {
  it("findChunk() returns the first chunk whose last key is ≥ the key, as a linear search does", () => {
    fc.assert(fc.property(sortedUniqueKeys, fc.uint8Array({ maxLength: 6, max: 3 }), (keys, probe) => {
      const entries = entriesFor(keys);
      const expected = entries.find((e) => compareBytes(e.lastKey, probe) >= 0);
      assertEquals(new SparseIndex(entries).findChunk(probe), expected);
    }));
  });

  it("findChunk() agrees with a linear search for keys sharing long prefixes and differing past 8 bytes", () => {
    const prefixed = (prefix: Uint8Array) => (tail: Uint8Array) => new Uint8Array([...prefix, ...tail]);
    const byte = fc.constantFrom(0, 1, 0x7f, 0x80, 0xfe, 0xff);
    const tail = fc.array(byte, { maxLength: 12 }).map((b) => new Uint8Array(b));
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 6 }),
        fc.uniqueArray(tail, { maxLength: 40, selector: (k) => Array.from(k).join(",") }),
        fc.array(fc.oneof(tail, fc.uint8Array({ maxLength: 8 })), { maxLength: 20 }),
        (prefix, tails, probes) => {
          const keys = tails.map(prefixed(prefix)).sort(compareBytes);
          const entries = entriesFor(keys);
          const index = new SparseIndex(entries);
          for (const probe of [...probes.map(prefixed(prefix)), ...probes, ...keys, prefix]) {
            const expected = entries.find((e) => compareBytes(e.lastKey, probe) >= 0);
            assertEquals(index.findChunk(probe), expected);
          }
        },
      ),
    );
  });

  it("findChunk() finds every key of a chunk file in the chunk that holds it", () => {
    const { summary } = writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS);
    const index = new SparseIndex(summary.chunks);
    const expected = [0, 0, 0, 1, 1, 1, 2, 2, 2];
    const chunkOf = (key: Uint8Array) =>
      summary.chunks.findIndex((c) => c.offset === index.findChunk(key)!.offset);
    assertEquals(FIXTURE_ENTRIES.map((e) => chunkOf(e.key)), expected);
    assertEquals(index.findChunk(utf8("d")), undefined);
  });

  it("chunksInRange() returns exactly the chunks that can hold keys in [lo, hi)", () => {
    const bound = fc.option(fc.uint8Array({ maxLength: 6, max: 3 }), { nil: undefined });
    fc.assert(fc.property(sortedUniqueKeys, bound, bound, (keys, lo, hi) => {
      const entries = entriesFor(keys);
      // Chunk i holds keys in (lastKey[i-1], lastKey[i]]; it overlaps [lo, hi) when both ends allow.
      const expected = entries.filter((e, i) => {
        const after = lo === undefined || compareBytes(e.lastKey, lo) >= 0;
        const before = hi === undefined || i === 0 || compareBytes(entries[i - 1].lastKey, hi) < 0;
        const nonEmpty = lo === undefined || hi === undefined || compareBytes(lo, hi) < 0;
        return after && before && nonEmpty;
      });
      assertEquals(new SparseIndex(entries).chunksInRange(lo, hi), expected);
    }));
  });

  it("holds its entries packed: the accessors give them back, and the given objects are not kept", () => {
    fc.assert(
      fc.property(arbitraryEntries(), fc.integer({ min: 1, max: 8 }), (chunkEntries, chunkKeyLimit) => {
        const entries = writeChunkFile(chunkEntries, { chunkKeyLimit }).summary.chunks;
        const given = structuredClone(entries);
        const index = new SparseIndex(given);
        for (const e of given) {
          e.lastKey.fill(0);
          e.offset = -1;
        }
        assertEquals(index.count, entries.length);
        assertEquals(index.entries, entries);
        entries.forEach((e, i) => {
          assertEquals(index.lastKey(i), e.lastKey);
          assertEquals([index.offset(i), index.length(i), index.entryCount(i)], [
            e.offset,
            e.length,
            e.entryCount,
          ]);
          assertEquals(index.entry(i), e);
        });
      }),
    );
  });

  it("chunksInRange() with no bounds returns every chunk", () => {
    const entries = fixtureEntries();
    assertEquals(new SparseIndex(entries).chunksInRange(), entries);
  });
});

describe("decodeSparseIndex()", () => {
  it("raises CorruptionError for every single flipped byte", () => {
    const bytes = encodeSparseIndex(fixtureEntries());
    for (const flip of byteFlips(bytes)) {
      const error = assertThrows(
        () => decodeSparseIndex(flip.bytes, FILE),
        CorruptionError,
        undefined,
        `${flip.position}`,
      );
      assertEquals(error.file, FILE);
    }
  });

  it("raises CorruptionError for the file cut at every length", () => {
    const bytes = encodeSparseIndex(fixtureEntries());
    for (let length = 0; length < bytes.length; length++) {
      assertThrows(
        () => decodeSparseIndex(bytes.subarray(0, length), FILE),
        CorruptionError,
        undefined,
        `${length}`,
      );
    }
  });

  it("raises UnsupportedFormatError for a newer version", () => {
    const bytes = encodeSparseIndex(fixtureEntries());
    bytes.set(writeFileHeader(FileKind.SPARSE_INDEX, 3));
    assertThrows(
      () => decodeSparseIndex(bytes, FILE),
      UnsupportedFormatError,
      "format version 3 of sparse index is newer than this engine supports (1)",
    );
  });

  it("raises UnsupportedFormatError for another kind of file", () => {
    const bytes = encodeSparseIndex(fixtureEntries());
    bytes.set(writeFileHeader(FileKind.BLOOM_FILTER));
    assertThrows(() => decodeSparseIndex(bytes, FILE), UnsupportedFormatError, "expected a sparse index");
  });

  it("raises CorruptionError for bad entries sealed under a valid checksum, at the entry's offset", () => {
    const [a, b] = entriesFor([utf8("a"), utf8("b")]);
    const secondEntryOffset = FILE_HEADER_SIZE + 1 + 5;
    for (
      const [entries, reason] of [
        [[a, { ...b, offset: b.offset + 1 }], "does not follow"],
        [[a, { ...b, lastKey: utf8("a") }], "last key is not greater"],
        [[a, { ...b, entryCount: 0 }], "no entries"],
      ] as const
    ) {
      const error = assertThrows(
        () => decodeSparseIndex(handMadeIndex(entries), FILE),
        CorruptionError,
        reason,
      );
      assertEquals(error.offset, secondEntryOffset);
    }
  });

  it("raises CorruptionError for a count that does not match the entries, under a valid checksum", () => {
    const bytes = handMadeIndex(entriesFor([utf8("a")]));
    bytes[FILE_HEADER_SIZE] = 2;
    resealCrc(bytes, FILE_HEADER_SIZE, bytes.length - 4, bytes.length - 4);
    assertThrows(() => decodeSparseIndex(bytes, FILE), CorruptionError, "cannot fit");
    const extra = handMadeIndex(entriesFor([utf8("a"), utf8("b")]));
    extra[FILE_HEADER_SIZE] = 1;
    resealCrc(extra, FILE_HEADER_SIZE, extra.length - 4, extra.length - 4);
    assertThrows(
      () => decodeSparseIndex(extra, FILE),
      CorruptionError,
      "unexpected bytes after the last entry",
    );
  });
});
