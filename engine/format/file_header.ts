/**
 * The 16-byte header that starts every file the engine writes. It names the
 * file's kind and format version, so a reader refuses a file it does not
 * understand instead of misreading it.
 *
 * ```
 * offset 0        4        6        8                 12                16
 *        +--------+--------+--------+-----------------+-----------------+
 *        | "HSKV" | kind   | version| flags           | CRC-32C         |
 *        | 4 B    | u16    | u16    | u32, must be 0  | of bytes 0..11  |
 *        +--------+--------+--------+-----------------+-----------------+
 * ```
 *
 * Integers are little-endian. A reader checks, in this order: the magic and
 * the CRC (a mismatch is a `CorruptionError`: the bytes are damaged), then
 * the flags, kind and version (a mismatch is an `UnsupportedFormatError`:
 * the bytes are intact but mean something this engine does not know).
 *
 * @module
 */

import { crc32c } from "../_crc32c.ts";
import { CorruptionError, UnsupportedFormatError } from "../errors.ts";
import { ByteReader } from "./_byte_reader.ts";
import { ByteWriter } from "./_byte_writer.ts";

/** Size of the header in bytes. Part of the on-disk format; bump the version instead of editing. */
export const FILE_HEADER_SIZE = 16;

/** "HSKV" in ASCII. Part of the on-disk format; bump the version instead of editing. */
const MAGIC = new Uint8Array([0x48, 0x53, 0x4b, 0x56]);
/** Bytes covered by the header CRC. */
const CRC_START = 12;

/**
 * What a file holds. The numbers are part of the on-disk format; add new
 * kinds, never renumber.
 */
export const FileKind = {
  /** Sorted chunk file: a segment's data file or one of its delta files. */
  CHUNK_FILE: 1,
  /** Sparse index of a chunk file's chunk boundaries. */
  SPARSE_INDEX: 2,
  /** Bloom filter over a chunk file's keys. */
  BLOOM_FILTER: 3,
  /** Checksummed JSON manifest. */
  MANIFEST: 4,
  /** Write-ahead log segment (reserved for the WAL). */
  WAL: 5,
  /** WAL checkpoint (reserved for the WAL). */
  CHECKPOINT: 6,
} as const;

/** One of the {@linkcode FileKind} numbers. */
export type FileKind = typeof FileKind[keyof typeof FileKind];

/**
 * The newest format version of each kind this engine reads and writes.
 * Raise an entry when the format of that kind changes, and keep reading the
 * older versions.
 */
export const CURRENT_VERSION: Readonly<Record<FileKind, number>> = {
  [FileKind.CHUNK_FILE]: 1,
  [FileKind.SPARSE_INDEX]: 1,
  [FileKind.BLOOM_FILTER]: 1,
  [FileKind.MANIFEST]: 1,
  [FileKind.WAL]: 1,
  [FileKind.CHECKPOINT]: 1,
};

const KIND_NAMES: Readonly<Record<FileKind, string>> = {
  [FileKind.CHUNK_FILE]: "chunk file",
  [FileKind.SPARSE_INDEX]: "sparse index",
  [FileKind.BLOOM_FILTER]: "Bloom filter",
  [FileKind.MANIFEST]: "manifest",
  [FileKind.WAL]: "WAL",
  [FileKind.CHECKPOINT]: "checkpoint",
};

/** A decoded, validated file header. */
export interface FileHeader {
  kind: FileKind;
  /** Between 1 and `CURRENT_VERSION[kind]`. */
  version: number;
}

/**
 * Encodes a file header.
 *
 * @param kind What the file holds.
 * @param version The format version of the body that follows; tests pass other values to build
 *   files from the future.
 * @returns 16 bytes.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const header = writeFileHeader(FileKind.MANIFEST);
 * assertEquals(readFileHeader(header, "manifest", FileKind.MANIFEST), { kind: FileKind.MANIFEST, version: 1 });
 * ```
 */
export function writeFileHeader(kind: FileKind, version: number = CURRENT_VERSION[kind]): Uint8Array {
  if (!Number.isInteger(version) || version < 0 || version > 0xffff) {
    throw new RangeError(`File format version must be an integer in 0..65535, got ${version}`);
  }
  const out = new ByteWriter(FILE_HEADER_SIZE);
  out.bytes(MAGIC);
  out.u16(kind);
  out.u16(version);
  out.u32(0);
  out.u32(crc32c(out.view()));
  return out.take();
}

/**
 * Decodes and checks the header at the start of `bytes`.
 *
 * @param bytes The file's first bytes (at least 16 for a valid file; more are ignored).
 * @param file The file's path, for error messages.
 * @param expectedKind The kind the caller is about to parse.
 * @returns The header; its version is one this engine reads.
 * @throws {CorruptionError} If the file is shorter than a header, or the magic or CRC is wrong.
 * @throws {UnsupportedFormatError} If the header is intact but has flags set, is of another or
 *   an unknown kind, or carries a version newer than this engine supports.
 */
export function readFileHeader(bytes: Uint8Array, file: string, expectedKind: FileKind): FileHeader {
  if (bytes.length < FILE_HEADER_SIZE) {
    throw new CorruptionError(
      file,
      bytes.length,
      `file ends after ${bytes.length} bytes, inside the ${FILE_HEADER_SIZE}-byte header`,
    );
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new CorruptionError(file, i, "bad magic: not a HestiaStore file");
  }
  const reader = new ByteReader(bytes.subarray(0, FILE_HEADER_SIZE), { file, offset: 0 });
  reader.pos = MAGIC.length;
  const kind = reader.u16();
  const version = reader.u16();
  const flags = reader.u32();
  const storedCrc = reader.u32();
  if (crc32c(bytes, 0, 0, CRC_START) !== storedCrc) {
    throw new CorruptionError(file, 0, "file header checksum mismatch");
  }
  const expectedName = KIND_NAMES[expectedKind];
  if (flags !== 0) {
    throw new UnsupportedFormatError(
      file,
      `header flags 0x${flags.toString(16)} are not known to this engine (expected a ${expectedName})`,
    );
  }
  if (!isFileKind(kind)) {
    throw new UnsupportedFormatError(file, `unknown file kind ${kind} (expected a ${expectedName})`);
  }
  if (kind !== expectedKind) {
    throw new UnsupportedFormatError(
      file,
      `expected a ${expectedName} but the file is a ${KIND_NAMES[kind]}`,
    );
  }
  const supported = CURRENT_VERSION[kind];
  if (version > supported) {
    throw new UnsupportedFormatError(
      file,
      `format version ${version} of ${expectedName} is newer than this engine supports (${supported})`,
    );
  }
  if (version < 1) {
    throw new UnsupportedFormatError(file, `format version 0 of ${expectedName} does not exist`);
  }
  return { kind, version };
}

function isFileKind(kind: number): kind is FileKind {
  return Object.hasOwn(KIND_NAMES, kind);
}
