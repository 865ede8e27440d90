/**
 * Shared fixtures of the format tests: the small fixed data set behind the
 * golden files, an in-memory file over given bytes, and byte corruptions.
 *
 * @module
 */
import fc from "fast-check";
import { crc32c } from "../../../engine/_crc32c.ts";
import { MemoryFileSystem } from "../../../engine/fs/mem_fs.ts";
import type { FileHandle } from "../../../engine/fs/file_system.ts";
import { compareBytes } from "../../../engine/type_descriptor.ts";
import {
  type ChunkFileSummary,
  ChunkFileWriter,
  type ChunkFileWriterOptions,
} from "../../../engine/format/chunk_file.ts";

/** An entry as the chunk file stores it; `value` undefined is a tombstone. */
export interface Entry {
  key: Uint8Array;
  value: Uint8Array | undefined;
}

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/**
 * The fixed entries of the golden chunk file: shared-prefix runs ("ap…",
 * "band…"), tombstones, an empty value and a non-ASCII key byte. Written with
 * {@linkcode FIXTURE_OPTIONS} they make three chunks.
 */
export const FIXTURE_ENTRIES: readonly Entry[] = [
  { key: utf8("apple"), value: utf8("red") },
  { key: utf8("apricot"), value: utf8("orange") },
  { key: utf8("avocado"), value: undefined },
  { key: utf8("banana"), value: utf8("yellow") },
  { key: utf8("band"), value: new Uint8Array(0) },
  { key: utf8("bandana"), value: utf8("cloth") },
  { key: utf8("bandanas"), value: undefined },
  { key: utf8("cherry"), value: utf8("dark red") },
  { key: new Uint8Array([0x63, 0xff]), value: new Uint8Array([0, 1, 2]) },
];

/** Chunk limits of the golden chunk file. */
export const FIXTURE_OPTIONS: ChunkFileWriterOptions = { chunkKeyLimit: 3, chunkByteTarget: 4096 };

/** Writes `entries` as a chunk file into memory. */
export function writeChunkFile(
  entries: readonly Entry[],
  options?: ChunkFileWriterOptions,
): { bytes: Uint8Array; summary: ChunkFileSummary; appends: number } {
  const parts: Uint8Array[] = [];
  // The writer reuses the memory of each append.
  const writer = new ChunkFileWriter({ append: (bytes) => parts.push(bytes.slice()) }, options);
  for (const { key, value } of entries) writer.add(key, value);
  const summary = writer.finish();
  return { bytes: concat(parts), summary, appends: parts.length };
}

/** Joins byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** An open in-memory file holding `bytes`. */
export function openBytes(bytes: Uint8Array, path = "/index/segment-00001/v1-data.chunks"): FileHandle {
  const fs = new MemoryFileSystem();
  fs.mkdir("/index/segment-00001");
  const handle = fs.open(path, "create");
  handle.append(bytes);
  return handle;
}

/** XOR patterns applied to each byte position: all bits, the lowest, the highest. */
export const FLIP_PATTERNS = [0xff, 0x01, 0x80] as const;

/** Every single-byte corruption of `bytes`: each position XORed with each pattern. */
export function* byteFlips(
  bytes: Uint8Array,
): Generator<{ position: number; pattern: number; bytes: Uint8Array }> {
  for (let position = 0; position < bytes.length; position++) {
    for (const pattern of FLIP_PATTERNS) {
      const copy = bytes.slice();
      copy[position] ^= pattern;
      yield { position, pattern, bytes: copy };
    }
  }
}

/** Sets the u32 at `at` to the CRC-32C of `bytes[start, end)`, making a crafted edit pass the checksum. */
export function resealCrc(bytes: Uint8Array, start: number, end: number, at: number): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, crc32c(bytes, 0, start, end), true);
}

/** Random entry sets: unique keys in increasing unsigned-byte order, values or tombstones. */
export function arbitraryEntries(maxEntries = 60): fc.Arbitrary<Entry[]> {
  const key = fc.uint8Array({ maxLength: 10, max: 4 }).chain((prefix) =>
    fc.uint8Array({ maxLength: 6 }).map((rest) => concat([prefix, rest]))
  );
  const value = fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined, freq: 4 });
  return fc.uniqueArray(fc.record({ key, value }), {
    maxLength: maxEntries,
    selector: (entry) => Array.from(entry.key).join(","),
  }).map((entries) =>
    // fast-check builds records without a prototype; deep equality would tell them from plain objects.
    entries.map(({ key, value }) => ({ key, value })).sort((a, b) => compareBytes(a.key, b.key))
  );
}

/** Index of `key` among sorted `keys`, or -1: the lookup a segment does inside one chunk. */
export function searchKeys(keys: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(keys[mid], key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < keys.length && compareBytes(keys[lo], key) === 0 ? lo : -1;
}
