import { assert, assertEquals, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import { crc32c } from "../../../engine/_crc32c.ts";
import { ClosedError, CorruptionError, UnsupportedFormatError } from "../../../engine/errors.ts";
import { ByteWriter } from "../../../engine/format/_byte_writer.ts";
import {
  type Chunk,
  CHUNK_HEADER_SIZE,
  CHUNK_TRAILER_SIZE,
  ChunkFileReader,
  ChunkFileWriter,
  decodeChunkIn,
  findInChunk,
} from "../../../engine/format/chunk_file.ts";
import { FILE_HEADER_SIZE, FileKind, writeFileHeader } from "../../../engine/format/file_header.ts";
import {
  encodeSparseIndex,
  SparseIndex,
  type SparseIndexEntry,
} from "../../../engine/format/sparse_index.ts";
import { assertGolden } from "../../_golden.ts";
import {
  arbitraryEntries,
  byteFlips,
  concat,
  type Entry,
  FIXTURE_ENTRIES,
  FIXTURE_OPTIONS,
  openBytes,
  searchKeys,
  utf8,
  writeChunkFile,
} from "./_helpers.ts";

const GOLDEN = new URL("./testdata/chunk_file_v1.bin", import.meta.url);

function entriesOf(chunks: Iterable<Chunk>): Entry[] {
  const out: Entry[] = [];
  for (const chunk of chunks) {
    chunk.keys.forEach((key, i) => out.push({ key, value: chunk.values[i] }));
  }
  return out;
}

/** The scan path: open, then read every chunk front to back. */
function scanAll(bytes: Uint8Array): Entry[] {
  return entriesOf(ChunkFileReader.open(openBytes(bytes)).chunks());
}

/** The lookup path: open, then read every chunk where the sparse index says it is. */
function lookupAll(bytes: Uint8Array, chunks: readonly SparseIndexEntry[]): Entry[] {
  const reader = ChunkFileReader.open(openBytes(bytes));
  return entriesOf(chunks.map((c) => reader.readChunk(c.offset, c.length)));
}

/** Looks `key` up the way a segment does: sparse index, one chunk read, binary search. */
function lookup(reader: ChunkFileReader, index: SparseIndex, key: Uint8Array): Entry | undefined {
  const location = index.findChunk(key);
  if (location === undefined) return undefined;
  const chunk = reader.readChunk(location.offset, location.length);
  const i = searchKeys(chunk.keys, key);
  return i < 0 ? undefined : { key: chunk.keys[i], value: chunk.values[i] };
}

/** A chunk file built by hand, so tests can seal inconsistent content under valid checksums. */
function handMadeFile(
  chunks: { count: number; payload: number[] }[],
  trailer: { entries?: number; chunks?: number } = {},
): Uint8Array {
  const out = new ByteWriter();
  out.bytes(writeFileHeader(FileKind.CHUNK_FILE));
  let entries = 0;
  for (const { count, payload } of chunks) {
    const start = out.length;
    out.u32(payload.length);
    out.u32(count);
    out.u32(crc32c(new Uint8Array(payload), crc32c(out.view(start))));
    out.bytes(new Uint8Array(payload));
    entries += count;
  }
  const dataEnd = out.length;
  out.u64(trailer.entries ?? entries);
  out.u64(dataEnd);
  out.u32(trailer.chunks ?? chunks.length);
  out.u32(0x544b5348);
  out.u32(crc32c(out.view(dataEnd)));
  return out.take();
}

/** A writer whose output nobody reads, for tests of argument checks. */
function discardingWriter(): ChunkFileWriter {
  return new ChunkFileWriter({ append: () => {} });
}

describe("ChunkFileWriter", () => {
  it("matches the golden file for the fixture: three chunks, tombstones, shared prefixes", () => {
    const { bytes, summary } = writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS);
    assertGolden(GOLDEN, bytes);
    assertEquals(summary.chunkCount, 3);
    assertEquals(summary.chunks.map((c) => c.entryCount), [3, 3, 3]);
  });

  it("is deterministic: the same entries always give the same bytes", () => {
    const copies = FIXTURE_ENTRIES.map((e) => ({ key: e.key.slice(), value: e.value?.slice() }));
    assertEquals(
      writeChunkFile(copies, FIXTURE_OPTIONS).bytes,
      writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS).bytes,
    );
  });

  it("summarizes what it wrote: counts, size, key range, one sparse entry per chunk", () => {
    const { bytes, summary } = writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS);
    assertEquals(summary.entryCount, 9);
    assertEquals(summary.fileSize, bytes.length);
    assertEquals(summary.minKey, utf8("apple"));
    assertEquals(summary.maxKey, new Uint8Array([0x63, 0xff]));
    assertEquals(summary.chunks.map((c) => new TextDecoder().decode(c.lastKey)), [
      "avocado",
      "bandana",
      "c\ufffd",
    ]);
    assertEquals(summary.chunks[0].offset, FILE_HEADER_SIZE);
    for (let i = 1; i < summary.chunks.length; i++) {
      assertEquals(summary.chunks[i].offset, summary.chunks[i - 1].offset + summary.chunks[i - 1].length);
    }
    const last = summary.chunks[summary.chunks.length - 1];
    assertEquals(last.offset + last.length + CHUNK_TRAILER_SIZE, bytes.length);
  });

  it("stores only the suffix after the common prefix, and no prefix for a chunk's first key", () => {
    const { bytes } = writeChunkFile([
      { key: utf8("bandana"), value: undefined },
      { key: utf8("bandanas"), value: undefined },
    ]);
    const payload = Array.from(
      bytes.subarray(FILE_HEADER_SIZE + CHUNK_HEADER_SIZE, bytes.length - CHUNK_TRAILER_SIZE),
    );
    assertEquals(payload, [0, 7, ...utf8("bandana"), 0, 7, 1, 0x73, 0]);
  });

  it("closes a chunk at chunkByteTarget bytes of payload", () => {
    const entries = Array.from(
      { length: 10 },
      (_, i) => ({ key: new Uint8Array([i]), value: new Uint8Array(20) }),
    );
    const { summary } = writeChunkFile(entries, { chunkByteTarget: 50 });
    // Each entry is 1 + 1 + 1 + 1 + 20 = 24 bytes: the third one reaches 72 ≥ 50.
    assertEquals(summary.chunks.map((c) => c.entryCount), [3, 3, 3, 1]);
  });

  it("hands the sink large appends, not one per chunk", () => {
    const entries = Array.from(
      { length: 20_000 },
      (_, i) => ({ key: utf8(`key-${100_000 + i}`), value: utf8("v") }),
    );
    const { bytes, appends, summary } = writeChunkFile(entries, { chunkKeyLimit: 16 });
    assertEquals(summary.chunkCount, 1250);
    assert(
      appends <= Math.ceil(bytes.length / (64 * 1024)) + 1,
      `${appends} appends for ${bytes.length} bytes`,
    );
    assertEquals(scanAll(bytes).length, 20_000);
  });

  it("writes chunks larger than the output buffer and the scan window", () => {
    const big = new Uint8Array(200_000).map((_, i) => i % 251);
    const entries = [
      { key: utf8("a"), value: utf8("small") },
      { key: utf8("b"), value: big },
      { key: utf8("c"), value: undefined },
    ];
    const { bytes, summary } = writeChunkFile(entries, { chunkByteTarget: 100 });
    assertEquals(summary.chunks.map((c) => c.entryCount), [2, 1]);
    assertEquals(scanAll(bytes), entries);
    assertEquals(lookupAll(bytes, summary.chunks), entries);
  });

  it("writes an empty file: header and trailer only", () => {
    const { bytes, summary } = writeChunkFile([]);
    assertEquals(bytes.length, FILE_HEADER_SIZE + CHUNK_TRAILER_SIZE);
    assertEquals([summary.entryCount, summary.chunkCount, summary.minKey, summary.maxKey], [
      0,
      0,
      undefined,
      undefined,
    ]);
    const reader = ChunkFileReader.open(openBytes(bytes));
    assertEquals([reader.entryCount, reader.chunkCount, [...reader.chunks()]], [0, 0, []]);
  });

  it("throws RangeError on a duplicate or out-of-order key", () => {
    const writer = discardingWriter();
    writer.add(utf8("b"), undefined);
    assertThrows(() => writer.add(utf8("b"), undefined), RangeError, "strictly increase");
    assertThrows(() => writer.add(utf8("a"), undefined), RangeError, "strictly increase");
    assertThrows(() => writer.add(new Uint8Array(0), undefined), RangeError, "strictly increase");
    writer.add(utf8("b\x00"), undefined);
  });

  it("copies keys, so the caller may reuse its buffer", () => {
    const writer = discardingWriter();
    const key = utf8("aa");
    writer.add(key, undefined);
    key[1] = 0x62;
    writer.add(key, undefined);
    assertEquals(writer.finish().minKey, utf8("aa"));
  });

  it("throws ClosedError after finish()", () => {
    const writer = discardingWriter();
    writer.finish();
    assertThrows(() => writer.add(utf8("a"), undefined), ClosedError);
    assertThrows(() => writer.finish(), ClosedError);
  });

  it("throws RangeError for bad options", () => {
    for (
      const options of [{ chunkKeyLimit: 0 }, { chunkKeyLimit: 1.5 }, { chunkByteTarget: -1 }, {
        chunkByteTarget: 2 ** 31,
      }]
    ) {
      assertThrows(() => writeChunkFile([], options), RangeError);
    }
  });
});

describe("ChunkFileReader", () => {
  it("reads the golden file back by scan and by sparse-index lookup", () => {
    const { bytes, summary } = writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS);
    const reader = ChunkFileReader.open(openBytes(bytes));
    assertEquals([reader.entryCount, reader.chunkCount, reader.dataEnd], [
      9,
      3,
      bytes.length - CHUNK_TRAILER_SIZE,
    ]);
    assertEquals(scanAll(bytes), [...FIXTURE_ENTRIES]);
    assertEquals(lookupAll(bytes, summary.chunks), [...FIXTURE_ENTRIES]);
    const index = new SparseIndex(summary.chunks);
    assertEquals(lookup(reader, index, utf8("band"))?.value, new Uint8Array(0));
    assertEquals(lookup(reader, index, utf8("avocado")), { key: utf8("avocado"), value: undefined });
    assertEquals(lookup(reader, index, utf8("b")), undefined);
    assertEquals(lookup(reader, index, utf8("zebra")), undefined);
  });

  it("round-trips random entry sets and chunk limits, by scan and by lookup", () => {
    fc.assert(
      fc.property(
        arbitraryEntries(),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.uint8Array({ maxLength: 8, max: 4 }), { maxLength: 10 }),
        (entries, chunkKeyLimit, chunkByteTarget, probes) => {
          const { bytes, summary } = writeChunkFile(entries, { chunkKeyLimit, chunkByteTarget });
          assertEquals(summary.entryCount, entries.length);
          for (const chunk of summary.chunks) assert(chunk.entryCount <= chunkKeyLimit);
          assertEquals(scanAll(bytes), entries);
          const reader = ChunkFileReader.open(openBytes(bytes));
          const index = new SparseIndex(summary.chunks);
          for (const entry of entries) {
            assertEquals(lookup(reader, index, entry.key), entry);
            assertEquals(findRaw(reader, index, entry.key), entry.value ?? null);
          }
          for (const probe of probes) {
            const found = entries.find((e) =>
              e.key.length === probe.length && e.key.every((b, i) => b === probe[i])
            );
            assertEquals(findRaw(reader, index, probe), found ? found.value ?? null : undefined);
            const expected = entries.find((e) =>
              e.key.length === probe.length && e.key.every((b, i) => b === probe[i])
            );
            assertEquals(lookup(reader, index, probe), expected);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("rebuilds the sparse index from a scan exactly as the writer summarized it", () => {
    const { bytes, summary } = writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS);
    const rebuilt = [...ChunkFileReader.open(openBytes(bytes)).chunks()].map((c) => ({
      lastKey: c.keys[c.keys.length - 1],
      offset: c.offset,
      length: c.length,
      entryCount: c.keys.length,
    }));
    assertEquals(encodeSparseIndex(rebuilt), encodeSparseIndex(summary.chunks));
  });

  it("raises CorruptionError for every single flipped byte, on the scan and the lookup path", () => {
    const { bytes, summary } = writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS);
    let checked = 0;
    for (const flip of byteFlips(bytes)) {
      const where = `byte ${flip.position} ^ 0x${flip.pattern.toString(16)}`;
      const scan = assertThrows(() => scanAll(flip.bytes), CorruptionError, undefined, where);
      assertEquals(scan.file, "/index/segment-00001/v1-data.chunks");
      assertThrows(() => lookupAll(flip.bytes, summary.chunks), CorruptionError, undefined, where);
      checked++;
    }
    assertEquals(checked, bytes.length * 3);
  });

  it("raises CorruptionError for the file cut at every length, or with bytes appended", () => {
    const { bytes, summary } = writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS);
    for (let length = 0; length < bytes.length; length++) {
      const cut = bytes.subarray(0, length);
      assertThrows(() => scanAll(cut), CorruptionError, undefined, `cut at ${length}`);
      assertThrows(() => lookupAll(cut, summary.chunks), CorruptionError, undefined, `cut at ${length}`);
    }
    const longer = concat([bytes, new Uint8Array(5)]);
    assertThrows(() => scanAll(longer), CorruptionError, "trailer magic");
  });

  it("reports a damaged chunk at the chunk's offset", () => {
    const { bytes, summary } = writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS);
    const second = summary.chunks[1];
    const damaged = bytes.slice();
    damaged[second.offset + CHUNK_HEADER_SIZE + 2] ^= 0x20;
    const error = assertThrows(() => scanAll(damaged), CorruptionError, "chunk checksum mismatch");
    assertEquals(error.offset, second.offset);
    const reader = ChunkFileReader.open(openBytes(damaged));
    const first = summary.chunks[0];
    assertEquals(reader.readChunk(first.offset, first.length).keys.length, 3);
    assertThrows(
      () => reader.readChunk(second.offset, second.length),
      CorruptionError,
      "chunk checksum mismatch",
    );
  });

  it("raises CorruptionError when the sparse index location does not match a chunk", () => {
    const { bytes, summary } = writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS);
    const reader = ChunkFileReader.open(openBytes(bytes));
    const { offset, length } = summary.chunks[1];
    assertThrows(() => reader.readChunk(offset, length - 1), CorruptionError, "payload");
    assertThrows(() => reader.readChunk(offset + 1, length), CorruptionError);
    assertThrows(() => reader.readChunk(offset, bytes.length), CorruptionError, "does not fit");
    assertThrows(() => reader.readChunk(0, length), CorruptionError, "does not fit");
    assertThrows(() => reader.readChunk(-1, length), RangeError);
  });

  it("raises UnsupportedFormatError for a newer version or another kind of file", () => {
    const { bytes } = writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS);
    const newer = bytes.slice();
    newer.set(writeFileHeader(FileKind.CHUNK_FILE, 2));
    assertThrows(
      () => ChunkFileReader.open(openBytes(newer)),
      UnsupportedFormatError,
      "format version 2 of chunk file",
    );
    const index = encodeSparseIndex(writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS).summary.chunks);
    assertThrows(
      () => ChunkFileReader.open(openBytes(index)),
      UnsupportedFormatError,
      "expected a chunk file",
    );
  });
});

describe("ChunkFileReader on content sealed under valid checksums", () => {
  // Such files come only from a writer bug; the reader must still refuse them.
  const key = (s: string) => [...utf8(s)];

  it("accepts the hand-made baseline", () => {
    const bytes = handMadeFile([{ count: 2, payload: [0, 1, ...key("a"), 0, 1, 1, ...key("b"), 0] }]);
    assertEquals(scanAll(bytes), [{ key: utf8("a"), value: undefined }, {
      key: utf8("ab"),
      value: undefined,
    }]);
  });

  it("refuses a first entry with a shared prefix", () => {
    const bytes = handMadeFile([{ count: 1, payload: [1, 1, ...key("a"), 0] }]);
    assertThrows(() => scanAll(bytes), CorruptionError, "first entry of the chunk shares a prefix");
  });

  it("refuses keys out of order, equal keys, and a prefix shorter than the common one", () => {
    for (
      const payload of [
        [0, 1, ...key("b"), 0, 0, 1, ...key("a"), 0],
        [0, 1, ...key("b"), 0, 1, 0, 0],
        [0, 2, ...key("ab"), 0, 0, 2, ...key("ac"), 0],
        [0, 1, ...key("a"), 0, 2, 1, ...key("b"), 0],
      ]
    ) {
      const bytes = handMadeFile([{ count: 2, payload }]);
      const error = assertThrows(() => scanAll(bytes), CorruptionError, "not the next key in order");
      // The second entry starts after the first: shared, suffix length, suffix, value tag.
      assertEquals(error.offset, FILE_HEADER_SIZE + CHUNK_HEADER_SIZE + 3 + payload[1]);
    }
  });

  it("refuses keys that do not increase across chunks", () => {
    const bytes = handMadeFile([{ count: 1, payload: [0, 1, ...key("b"), 0] }, {
      count: 1,
      payload: [0, 1, ...key("b"), 0],
    }]);
    assertThrows(() => scanAll(bytes), CorruptionError, "not greater than the previous chunk");
  });

  it("refuses an empty chunk, a wrong entry count and trailing bytes", () => {
    assertThrows(
      () => scanAll(handMadeFile([{ count: 0, payload: [0, 0, 0] }], { entries: 1 })),
      CorruptionError,
      "no entries",
    );
    assertThrows(
      () => scanAll(handMadeFile([{ count: 2, payload: [0, 1, ...key("a"), 0] }])),
      CorruptionError,
    );
    assertThrows(
      () => scanAll(handMadeFile([{ count: 1, payload: [0, 1, ...key("a"), 0, 9] }])),
      CorruptionError,
      "1 bytes follow the last entry",
    );
  });

  it("refuses a value running past the payload", () => {
    assertThrows(
      () => scanAll(handMadeFile([{ count: 1, payload: [0, 1, ...key("a"), 5, 1] }])),
      CorruptionError,
      "needs 4 bytes",
    );
  });

  it("refuses a trailer whose counts disagree with the chunks", () => {
    const chunks = [{ count: 1, payload: [0, 1, ...key("a"), 0] }, {
      count: 1,
      payload: [0, 1, ...key("b"), 0],
    }];
    assertThrows(
      () => scanAll(handMadeFile(chunks, { chunks: 1, entries: 2 })),
      CorruptionError,
      "data continues after the 1 chunks",
    );
    assertThrows(
      () => scanAll(handMadeFile(chunks, { chunks: 2, entries: 3 })),
      CorruptionError,
      "trailer counts 2 chunks and 3 entries",
    );
    assertThrows(
      () => scanAll(handMadeFile(chunks, { chunks: 2, entries: 1 })),
      CorruptionError,
      "trailer counts 2 chunks for 1 entries",
    );
    assertThrows(
      () => scanAll(handMadeFile(chunks, { chunks: 9, entries: 9 })),
      CorruptionError,
      "more than",
    );
    assertThrows(() => scanAll(handMadeFile([], { chunks: 0, entries: 4 })), CorruptionError);
  });
});

/** Reads a chunk the way TableReader does: into a reused buffer larger than the chunk, with stale bytes after it. */
function readRaw(reader: ChunkFileReader, offset: number, length: number): Uint8Array {
  const buffer = new Uint8Array(length + 37).fill(0xa5);
  reader.readChunkInto(offset, length, buffer);
  return buffer;
}

/** Looks `key` up the way TableReader does: raw chunk bytes searched in place (checked against the decoder). */
function findRaw(reader: ChunkFileReader, index: SparseIndex, key: Uint8Array) {
  const at = index.findChunk(key);
  if (!at) return undefined;
  const raw = readRaw(reader, at.offset, at.length);
  assertEquals(
    decodeChunkIn(raw, at.offset, at.offset, at.length, reader.path),
    reader.readChunk(at.offset, at.length),
  );
  return findInChunk(raw, key, reader.path, at.offset, at.length);
}

describe("findInChunk() over readChunkInto()", () => {
  it("readChunkInto() raises CorruptionError for every single flipped byte of a chunk", () => {
    const { bytes, summary } = writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS);
    for (const flip of byteFlips(bytes)) {
      if (flip.position < FILE_HEADER_SIZE || flip.position >= bytes.length - CHUNK_TRAILER_SIZE) continue;
      const reader = ChunkFileReader.open(openBytes(flip.bytes));
      const chunk = summary.chunks.find((c) =>
        flip.position >= c.offset && flip.position < c.offset + c.length
      )!;
      assertThrows(
        () => readRaw(reader, chunk.offset, chunk.length),
        CorruptionError,
        undefined,
        `byte ${flip.position}`,
      );
    }
  });

  it("agrees with the decoded chunk for any probe in any chunk, not only the indexed one", () => {
    fc.assert(
      fc.property(
        arbitraryEntries(),
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.uint8Array({ maxLength: 8, max: 4 }), { maxLength: 10 }),
        (entries, chunkByteTarget, probes) => {
          const { bytes, summary } = writeChunkFile(entries, { chunkKeyLimit: 7, chunkByteTarget });
          const reader = ChunkFileReader.open(openBytes(bytes));
          for (const at of summary.chunks) {
            const raw = readRaw(reader, at.offset, at.length);
            const chunk = reader.readChunk(at.offset, at.length);
            for (const probe of [...probes, ...chunk.keys]) {
              const i = chunk.keys.findIndex((k) =>
                k.length === probe.length && k.every((b, j) => b === probe[j])
              );
              const expected = i < 0 ? undefined : chunk.values[i] ?? null;
              assertEquals(findInChunk(raw, probe, reader.path, at.offset, at.length), expected);
            }
          }
        },
      ),
    );
  });

  it("readChunkInto() rejects a buffer shorter than the chunk", () => {
    const { bytes, summary } = writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS);
    const first = summary.chunks[0];
    const reader = ChunkFileReader.open(openBytes(bytes));
    assertThrows(
      () => reader.readChunkInto(first.offset, first.length, new Uint8Array(first.length - 1)),
      RangeError,
    );
  });

  it("never reads past a chunk whose entries overrun it, even under a valid checksum", () => {
    const { bytes, summary } = writeChunkFile(FIXTURE_ENTRIES, FIXTURE_OPTIONS);
    const first = summary.chunks[0];
    const raw = readRaw(ChunkFileReader.open(openBytes(bytes)), first.offset, first.length);
    assertThrows(
      () => findInChunk(raw, utf8("zzz"), "f", first.offset, first.length - 2),
      CorruptionError,
      "past the end",
    );
  });
});
