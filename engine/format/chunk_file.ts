/**
 * The sorted chunk file: a segment's data file and its delta files. Entries
 * sit in strictly increasing unsigned-byte key order, grouped into small
 * chunks that each decode on their own, so a point lookup reads one chunk
 * (found through the sparse index) and a scan reads the file front to back.
 *
 * ```
 * +--------------------+ 0
 * | file header (16 B) |  kind CHUNK_FILE, version 1
 * +--------------------+ 16
 * | chunk 0            |
 * | chunk 1            |
 * | ...                |
 * +--------------------+ dataEnd
 * | trailer (28 B)     |
 * +--------------------+ fileSize = dataEnd + 28
 *
 * chunk (12-byte header, then the payload):
 * +-------------------+-------------------+-------------------+---------------------+
 * | payloadLength u32 | entryCount u32    | CRC-32C u32       | payload             |
 * +-------------------+-------------------+-------------------+---------------------+
 *   the CRC covers payloadLength, entryCount and the payload
 *
 * payload = entryCount entries:
 * +----------------+---------------------+--------+-----------------+-------+
 * | shared varint  | suffixLength varint | suffix | valueTag varint | value |
 * +----------------+---------------------+--------+-----------------+-------+
 *   key = first `shared` bytes of the previous key + suffix; shared is the
 *   whole common prefix, and 0 for the first entry of every chunk.
 *   valueTag 0 = tombstone (no value bytes); n + 1 = a value of n bytes.
 *
 * trailer:
 * +----------------+-------------+----------------+--------------+------------------+
 * | entryCount u64 | dataEnd u64 | chunkCount u32 | magic "HSKT" | CRC-32C of bytes |
 * |                |             |                |              | 0..23 of trailer |
 * +----------------+-------------+----------------+--------------+------------------+
 * ```
 *
 * All integers are little-endian; varints are unsigned LEB128. Every byte
 * is under a checksum: the header's, a chunk's, or the trailer's. Offsets
 * are 64-bit, so files may exceed 2 GiB; keys and values have varint
 * lengths (the type layer caps them at 16 KiB and 16 MiB).
 *
 * Readers raise `CorruptionError` with the offset of the bad bytes for any
 * checksum mismatch, a truncated file, or data that contradicts itself
 * (chunk count, entry count, key order, lengths).
 *
 * @module
 */

import { crc32c } from "../_crc32c.ts";
import { ClosedError, CorruptionError } from "../errors.ts";
import type { FileHandle } from "../fs/file_system.ts";
import { ByteReader } from "./_byte_reader.ts";
import { encodeVarint, MAX_VARINT_BYTES } from "./_varint.ts";
import { compareBytes } from "../type_descriptor.ts";
import { FILE_HEADER_SIZE, FileKind, readFileHeader, writeFileHeader } from "./file_header.ts";
import type { SparseIndexEntry } from "./sparse_index.ts";

/** Bytes before a chunk's payload. Part of the on-disk format; bump the version instead of editing. */
export const CHUNK_HEADER_SIZE = 12;
/** Size of the trailer. Part of the on-disk format; bump the version instead of editing. */
export const CHUNK_TRAILER_SIZE = 28;
/** "HSKT" read as a little-endian u32. Part of the on-disk format; bump the version instead of editing. */
const TRAILER_MAGIC = 0x544b5348;
/** Trailer bytes covered by its CRC. */
const TRAILER_CRC_START = 24;
/** Smallest chunk: a header and one entry of three one-byte varints (empty key, tombstone). */
const MIN_CHUNK_SIZE = CHUNK_HEADER_SIZE + 3;

/** Output is handed to the sink in appends of about this size. */
const OUTPUT_BUFFER_SIZE = 64 * 1024;
/** Sequential scans read this much at a time. */
const SCAN_READ_SIZE = 64 * 1024;
const MAX_U32 = 0xffff_ffff;
/** Bounds that keep every chunk payload below 2^32 bytes, the range of its u32 length. */
const MAX_CHUNK_BYTE_TARGET = 2 ** 30;
const MAX_ENTRY_DATA_BYTES = 2 ** 30;
const TWO_POW_32 = 0x1_0000_0000;
/** Values up to this long are copied byte by byte: below about 12 bytes that beats `set` on both runtimes. */
const VALUE_COPY_LOOP_MAX = 8;

/** Options of {@linkcode ChunkFileWriter}. */
export interface ChunkFileWriterOptions {
  /**
   * A chunk is closed once it holds this many entries.
   * @default {1000}
   */
  chunkKeyLimit?: number;
  /**
   * A chunk is closed once its payload reaches this many bytes. A point
   * lookup reads one whole chunk, so keep it near a page.
   * @default {4096}
   */
  chunkByteTarget?: number;
}

/** What {@linkcode ChunkFileWriter.finish} wrote, enough to build the sparse index and Bloom filter. */
export interface ChunkFileSummary {
  /** Entries written, tombstones included. */
  entryCount: number;
  chunkCount: number;
  /** Bytes written to the sink in total. */
  fileSize: number;
  /** The first key, or `undefined` for an empty file. */
  minKey: Uint8Array | undefined;
  /** The last key, or `undefined` for an empty file. */
  maxKey: Uint8Array | undefined;
  /** One sparse index entry per chunk, in file order. */
  chunks: SparseIndexEntry[];
}

/**
 * Where a {@linkcode ChunkFileWriter} puts its bytes: usually a `FileHandle`
 * of a temporary file. `append` must be done with the bytes when it returns
 * (write or copy them), as every `FileHandle` is: the writer reuses that memory.
 */
export type ChunkSink = Pick<FileHandle, "append">;

/** One decoded chunk. */
export interface Chunk {
  /** File offset of the chunk header. */
  offset: number;
  /** Bytes of the chunk, header included. */
  length: number;
  /** The chunk's keys, in increasing order. Fresh arrays, the caller's to keep. */
  keys: Uint8Array[];
  /**
   * Values by position in `keys`; `undefined` is a tombstone. Views into the
   * read buffer, which the reader never reuses, so they stay valid; but in a
   * scan that buffer spans up to 256 KiB of neighbouring chunks, so copy a
   * value you keep for long.
   */
  values: (Uint8Array | undefined)[];
}

/**
 * Writes a chunk file from entries given in strictly increasing key order.
 * The caller owns atomicity (write to a temporary file, sync, rename) and
 * must discard the file if any call throws.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const parts: Uint8Array[] = [];
 * // The writer reuses the memory it appends, so a sink that keeps the bytes copies them.
 * const writer = new ChunkFileWriter({ append: (bytes) => parts.push(bytes.slice()) });
 * writer.add(new Uint8Array([1]), new Uint8Array([42]));
 * writer.add(new Uint8Array([2]), undefined);
 * const summary = writer.finish();
 * assertEquals([summary.entryCount, summary.chunkCount], [2, 1]);
 * ```
 */
export class ChunkFileWriter {
  readonly #sink: ChunkSink;
  readonly #keyLimit: number;
  readonly #byteTarget: number;
  /**
   * The bytes not yet handed to the sink: closed chunks, then the open
   * chunk's header slot and payload. Entries are encoded straight into it,
   * and it is reused after each append, so a flush allocates nothing.
   */
  #buf = new Uint8Array(OUTPUT_BUFFER_SIZE + 4096);
  /** End of the bytes written into `#buf`. */
  #pos = 0;
  /** Offset in `#buf` of the open chunk's header; its payload starts 12 bytes later. */
  #chunkStart = 0;
  readonly #chunks: SparseIndexEntry[] = [];
  /** Bytes already handed to the sink. */
  #flushed = 0;
  #chunkEntries = 0;
  #entryCount = 0;
  #minKey: Uint8Array | undefined;
  /** The previous key, copied into a buffer reused across entries: a copy per entry was garbage. */
  #last = new Uint8Array(64);
  #lastLength = -1;
  /** The current chunk's last key, once the chunk is closed; its own copy, as the sparse index keeps it. */
  #closedKey: Uint8Array | undefined;
  #finished = false;

  /**
   * @param sink Receives the file's bytes in order, in appends of about 64 KiB. The writer reuses
   *   the memory of an append once it returns, so a sink that keeps the bytes must copy them.
   * @param options Chunk size limits.
   * @throws {RangeError} If an option is not a positive integer in range.
   */
  constructor(sink: ChunkSink, options: ChunkFileWriterOptions = {}) {
    this.#sink = sink;
    this.#keyLimit = checkedOption("chunkKeyLimit", options.chunkKeyLimit ?? 1000, MAX_U32);
    this.#byteTarget = checkedOption(
      "chunkByteTarget",
      options.chunkByteTarget ?? 4096,
      MAX_CHUNK_BYTE_TARGET,
    );
    this.#buf.set(writeFileHeader(FileKind.CHUNK_FILE));
    this.#chunkStart = FILE_HEADER_SIZE;
    this.#pos = FILE_HEADER_SIZE + CHUNK_HEADER_SIZE;
  }

  /**
   * Appends one entry. The writer copies what it keeps, so the caller may reuse `key` and `value`.
   *
   * @param key Greater (unsigned byte order) than every key added before.
   * @param value The value, or `undefined` for a tombstone.
   * @throws {RangeError} If `key` is not greater than the previous key, or key and value exceed 1 GiB.
   * @throws {ClosedError} After {@linkcode ChunkFileWriter.finish}.
   */
  add(key: Uint8Array, value: Uint8Array | undefined): void {
    if (!this.addNext(key, value)) {
      throw new RangeError(
        `Cannot add key ${hex(key)}: keys must strictly increase, and the previous key was ${
          hex(this.#last.subarray(0, this.#lastLength))
        }`,
      );
    }
  }

  /**
   * {@linkcode ChunkFileWriter.add} for a caller with its own error for a key out of order: the
   * order check and the shared prefix come from one pass over the keys.
   *
   * @returns `false`, having changed nothing, if `key` is not greater than the previous key.
   * @throws {RangeError} If key and value exceed 1 GiB.
   * @throws {ClosedError} After {@linkcode ChunkFileWriter.finish}.
   */
  addNext(key: Uint8Array, value: Uint8Array | undefined): boolean {
    if (this.#finished) throw new ClosedError("ChunkFileWriter.add() called after finish()");
    const last = this.#last;
    const lastLength = this.#lastLength;
    const keyLength = key.length;
    let prefix = 0;
    if (lastLength >= 0) {
      const n = keyLength < lastLength ? keyLength : lastLength;
      while (prefix < n && key[prefix] === last[prefix]) prefix++;
      if (prefix < n ? key[prefix] < last[prefix] : keyLength <= lastLength) return false;
    }
    const valueLength = value === undefined ? 0 : value.length;
    if (keyLength + valueLength > MAX_ENTRY_DATA_BYTES) {
      throw new RangeError(`Cannot add an entry of ${keyLength + valueLength} bytes: limit is 1 GiB`);
    }
    const shared = this.#chunkEntries === 0 ? 0 : prefix;
    const suffix = keyLength - shared;
    // One capacity check per entry; varints are one byte for nearly every entry, written inline.
    let p = this.#pos;
    let buf = this.#buf;
    if (p + keyLength + valueLength + 3 * MAX_VARINT_BYTES > buf.length) {
      buf = this.#grow(p + keyLength + valueLength + 3 * MAX_VARINT_BYTES);
    }
    if (shared < 0x80) buf[p++] = shared;
    else p = encodeVarint(buf, p, shared);
    if (suffix < 0x80) buf[p++] = suffix;
    else p = encodeVarint(buf, p, suffix);
    for (let i = shared; i < keyLength; i++) buf[p++] = key[i];
    if (value === undefined) {
      buf[p++] = 0;
    } else {
      const tag = valueLength + 1;
      if (tag < 0x80) buf[p++] = tag;
      else p = encodeVarint(buf, p, tag);
      if (valueLength <= VALUE_COPY_LOOP_MAX) {
        for (let i = 0; i < valueLength; i++) buf[p + i] = value[i];
      } else {
        buf.set(value, p);
      }
      p += valueLength;
    }
    this.#pos = p;
    // The previous key's first `prefix` bytes are already the new key's.
    if (keyLength > last.length) {
      this.#last = new Uint8Array(Math.max(keyLength, 2 * last.length));
      this.#last.set(key);
    } else {
      for (let i = prefix; i < keyLength; i++) last[i] = key[i];
    }
    this.#lastLength = keyLength;
    this.#minKey ??= key.slice();
    this.#entryCount++;
    this.#chunkEntries++;
    if (
      this.#chunkEntries >= this.#keyLimit || p - this.#chunkStart - CHUNK_HEADER_SIZE >= this.#byteTarget
    ) {
      this.#closeChunk();
    }
    return true;
  }

  /**
   * Writes the last chunk and the trailer. The writer is unusable afterwards.
   *
   * @returns What was written; its `chunks` are the sparse index entries of the file.
   * @throws {ClosedError} On a second call.
   */
  finish(): ChunkFileSummary {
    if (this.#finished) throw new ClosedError("ChunkFileWriter.finish() called twice");
    this.#finished = true;
    if (this.#chunkEntries > 0) this.#closeChunk();
    // The trailer takes the place of the header slot no entry followed.
    const start = this.#chunkStart;
    const buf = start + CHUNK_TRAILER_SIZE > this.#buf.length
      ? this.#grow(start + CHUNK_TRAILER_SIZE)
      : this.#buf;
    const dataEnd = this.#flushed + start;
    writeU32(buf, start, this.#entryCount >>> 0);
    writeU32(buf, start + 4, Math.floor(this.#entryCount / TWO_POW_32));
    writeU32(buf, start + 8, dataEnd >>> 0);
    writeU32(buf, start + 12, Math.floor(dataEnd / TWO_POW_32));
    writeU32(buf, start + 16, this.#chunks.length);
    writeU32(buf, start + 20, TRAILER_MAGIC);
    writeU32(buf, start + 24, crc32c(buf, 0, start, start + TRAILER_CRC_START));
    this.#sink.append(buf.subarray(0, start + CHUNK_TRAILER_SIZE));
    return {
      entryCount: this.#entryCount,
      chunkCount: this.#chunks.length,
      fileSize: dataEnd + CHUNK_TRAILER_SIZE,
      minKey: this.#minKey,
      maxKey: this.#closedKey,
      chunks: this.#chunks,
    };
  }

  #closeChunk(): void {
    const buf = this.#buf;
    const start = this.#chunkStart;
    let end = this.#pos;
    const payloadLength = end - start - CHUNK_HEADER_SIZE;
    this.#closedKey = this.#last.slice(0, this.#lastLength);
    writeU32(buf, start, payloadLength);
    writeU32(buf, start + 4, this.#chunkEntries);
    writeU32(buf, start + 8, crc32c(buf, crc32c(buf, 0, start, start + 8), start + CHUNK_HEADER_SIZE, end));
    this.#chunks.push({
      lastKey: this.#closedKey,
      offset: this.#flushed + start,
      length: CHUNK_HEADER_SIZE + payloadLength,
      entryCount: this.#chunkEntries,
    });
    this.#chunkEntries = 0;
    if (end >= OUTPUT_BUFFER_SIZE) {
      this.#sink.append(buf.subarray(0, end));
      this.#flushed += end;
      end = 0;
    }
    this.#chunkStart = end;
    this.#pos = end + CHUNK_HEADER_SIZE;
  }

  /** Replaces `#buf` by one of at least `needed` bytes holding the bytes written so far. */
  #grow(needed: number): Uint8Array<ArrayBuffer> {
    const grown = new Uint8Array(Math.max(needed, 2 * this.#buf.length));
    grown.set(this.#buf.subarray(0, this.#pos));
    return this.#buf = grown;
  }
}

/**
 * Reads and verifies a chunk file. Reads go straight to the handle; the
 * reader holds no buffers between calls and never closes the handle.
 */
export class ChunkFileReader {
  readonly #handle: FileHandle;
  readonly #entryCount: number;
  readonly #chunkCount: number;
  readonly #dataEnd: number;

  private constructor(handle: FileHandle, entryCount: number, chunkCount: number, dataEnd: number) {
    this.#handle = handle;
    this.#entryCount = entryCount;
    this.#chunkCount = chunkCount;
    this.#dataEnd = dataEnd;
  }

  /**
   * Checks the header and the trailer of an open chunk file (two small reads).
   *
   * @param handle The open file; it must stay open while the reader is used.
   * @returns A reader for the file.
   * @throws {CorruptionError} If the header or trailer is damaged, or the file was truncated.
   * @throws {UnsupportedFormatError} If the file is of another kind or a newer version.
   */
  static open(handle: FileHandle): ChunkFileReader {
    const file = handle.path;
    readFileHeader(handle.read(0, FILE_HEADER_SIZE), file, FileKind.CHUNK_FILE);
    const size = handle.size();
    const trailerStart = size - CHUNK_TRAILER_SIZE;
    if (trailerStart < FILE_HEADER_SIZE) {
      throw new CorruptionError(file, size, `file of ${size} bytes is too short to hold a trailer`);
    }
    const bytes = handle.read(trailerStart, CHUNK_TRAILER_SIZE);
    const reader = new ByteReader(bytes, { file, offset: trailerStart });
    // Magic and CRC first: the fields mean nothing until the trailer is known to be intact.
    reader.pos = TRAILER_CRC_START - 4;
    if (reader.u32() !== TRAILER_MAGIC) {
      reader.fail("bad trailer magic: the file is truncated or was not finished", TRAILER_CRC_START - 4);
    }
    if (crc32c(bytes, 0, 0, TRAILER_CRC_START) !== reader.u32()) reader.fail("trailer checksum mismatch", 0);
    reader.pos = 0;
    const entryCount = reader.u64();
    const dataEnd = reader.u64();
    const chunkCount = reader.u32();
    if (dataEnd !== trailerStart) {
      reader.fail(`trailer says the chunks end at ${dataEnd}, but the trailer starts at ${trailerStart}`, 0);
    }
    if ((chunkCount === 0) !== (entryCount === 0) || chunkCount > entryCount) {
      reader.fail(`trailer counts ${chunkCount} chunks for ${entryCount} entries`, 0);
    }
    if (chunkCount > (dataEnd - FILE_HEADER_SIZE) / MIN_CHUNK_SIZE) {
      reader.fail(
        `trailer counts ${chunkCount} chunks, more than ${dataEnd - FILE_HEADER_SIZE} bytes can hold`,
        0,
      );
    }
    return new ChunkFileReader(handle, entryCount, chunkCount, dataEnd);
  }

  /** The file's path. */
  get path(): string {
    return this.#handle.path;
  }

  /** Entries in the file, tombstones included. */
  get entryCount(): number {
    return this.#entryCount;
  }

  /** Chunks in the file. */
  get chunkCount(): number {
    return this.#chunkCount;
  }

  /** Offset where the trailer starts; chunks occupy `[16, dataEnd)`. */
  get dataEnd(): number {
    return this.#dataEnd;
  }

  /**
   * Reads and decodes one chunk with a single positioned read.
   *
   * @param offset The chunk's offset, from the sparse index.
   * @param length The chunk's length, header included, from the sparse index.
   * @returns The chunk.
   * @throws {CorruptionError} If the chunk's checksum or structure is bad, or it does not lie
   *   inside the data region with exactly this length.
   * @throws {RangeError} If `offset` or `length` is not a non-negative integer.
   */
  readChunk(offset: number, length: number): Chunk {
    const { bytes, reader } = this.#readLocated(offset, length);
    return decodeChunk(bytes, reader, offset);
  }

  /**
   * Reads the bytes of consecutive chunks with one positioned read, for a
   * scan to decode with {@linkcode decodeChunkIn}. The span comes from the
   * sparse index; nothing in it is verified yet.
   *
   * @param offset Offset of the first chunk's header.
   * @param length Bytes from there to the end of the last chunk.
   * @returns A fresh array of exactly `length` bytes, never reused by the reader.
   * @throws {CorruptionError} If the span does not lie inside the data region, or the file ends
   *   inside it.
   * @throws {RangeError} If `offset` or `length` is not a non-negative integer.
   */
  readSpan(offset: number, length: number): Uint8Array {
    this.#checkLocation(offset, length, "chunk span");
    const bytes = this.#handle.read(offset, length);
    if (bytes.length !== length) {
      throw new CorruptionError(this.#handle.path, offset + bytes.length, "file ends inside a chunk");
    }
    return bytes;
  }

  /**
   * Reads one chunk with a single positioned read into `buffer[0, length)`
   * and verifies its checksum, without decoding it: for
   * {@linkcode findInChunk} and caches that keep chunks compact in buffers
   * they reuse.
   *
   * @param offset The chunk's offset, from the sparse index.
   * @param length The chunk's length, header included, from the sparse index.
   * @param buffer Receives the chunk's bytes, header included; at least `length` long.
   * @throws {CorruptionError} If the checksum is bad, or the chunk does not lie inside the data
   *   region with exactly this length.
   * @throws {RangeError} If `offset` or `length` is not a non-negative integer, or `buffer` is
   *   shorter than `length`.
   */
  readChunkInto(offset: number, length: number, buffer: Uint8Array): void {
    this.#checkLocation(offset, length);
    const file = this.#handle.path;
    const got = this.#handle.readInto(offset, buffer, length);
    if (got !== length) throw new CorruptionError(file, offset + got, "file ends inside the chunk");
    const payloadLength = u32At(buffer, 0);
    if (payloadLength !== length - CHUNK_HEADER_SIZE) {
      throw new CorruptionError(
        file,
        offset,
        `chunk header gives a ${payloadLength}-byte payload, the index ${length - CHUNK_HEADER_SIZE}`,
      );
    }
    if (crc32c(buffer, crc32c(buffer, 0, 0, 8), CHUNK_HEADER_SIZE, length) !== u32At(buffer, 8)) {
      throw new CorruptionError(file, offset, "chunk checksum mismatch");
    }
  }

  /** Throws unless `[offset, offset + length)` can be a chunk (or a span of chunks, `what`) of the data region. */
  #checkLocation(offset: number, length: number, what = "chunk"): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`Bad ${what} location: offset ${offset}, length ${length}`);
    }
    if (offset < FILE_HEADER_SIZE || length < MIN_CHUNK_SIZE || offset + length > this.#dataEnd) {
      throw new CorruptionError(
        this.#handle.path,
        offset,
        `${what} of ${length} bytes does not fit the data region [${FILE_HEADER_SIZE}, ${this.#dataEnd})`,
      );
    }
  }

  /** Reads the chunk at a sparse-index location; the reader is left after the payload length. */
  #readLocated(offset: number, length: number): { bytes: Uint8Array; reader: ByteReader } {
    this.#checkLocation(offset, length);
    const file = this.#handle.path;
    const bytes = this.#handle.read(offset, length);
    if (bytes.length !== length) {
      throw new CorruptionError(file, offset + bytes.length, "file ends inside the chunk");
    }
    const reader = new ByteReader(bytes, { file, offset });
    const payloadLength = reader.u32();
    if (payloadLength !== length - CHUNK_HEADER_SIZE) {
      reader.fail(
        `chunk header gives a ${payloadLength}-byte payload, the index ${length - CHUNK_HEADER_SIZE}`,
        0,
      );
    }
    return { bytes, reader };
  }

  /**
   * Reads every chunk in file order, in large sequential reads, and checks
   * that they tile the data region, that keys increase across chunks, and
   * that the chunk and entry counts match the trailer. A mismatch with the
   * trailer surfaces after the last chunk has been yielded.
   *
   * @returns An iterator of the decoded chunks.
   * @throws {CorruptionError} On the first bad byte or inconsistency.
   */
  *chunks(): Generator<Chunk, void, undefined> {
    const file = this.#handle.path;
    const dataEnd = this.#dataEnd;
    let window: Uint8Array = new Uint8Array(0);
    let windowStart = FILE_HEADER_SIZE;
    let offset = FILE_HEADER_SIZE;
    let chunkCount = 0;
    let entryCount = 0;
    let lastKey: Uint8Array | undefined;
    while (offset < dataEnd) {
      if (chunkCount === this.#chunkCount) {
        throw new CorruptionError(
          file,
          offset,
          `data continues after the ${chunkCount} chunks the trailer counts`,
        );
      }
      if (dataEnd - offset < MIN_CHUNK_SIZE) {
        throw new CorruptionError(
          file,
          offset,
          `${dataEnd - offset} bytes before the trailer are too few for a chunk`,
        );
      }
      if (offset + CHUNK_HEADER_SIZE > windowStart + window.length) {
        window = this.#readWindow(offset, CHUNK_HEADER_SIZE);
        windowStart = offset;
      }
      const header = new ByteReader(window.subarray(offset - windowStart), { file, offset });
      const length = CHUNK_HEADER_SIZE + header.u32();
      if (length > dataEnd - offset) {
        header.fail(`chunk of ${length} bytes runs past the end of the data at ${dataEnd}`, 0);
      }
      if (offset + length > windowStart + window.length) {
        window = this.#readWindow(offset, length);
        windowStart = offset;
      }
      const bytes = window.subarray(offset - windowStart, offset - windowStart + length);
      const reader = new ByteReader(bytes, { file, offset });
      reader.pos = 4;
      const chunk = decodeChunk(bytes, reader, offset);
      if (lastKey !== undefined && compareBytes(chunk.keys[0], lastKey) <= 0) {
        throw new CorruptionError(
          file,
          offset,
          "first key of the chunk is not greater than the previous chunk's last",
        );
      }
      lastKey = chunk.keys[chunk.keys.length - 1];
      chunkCount++;
      entryCount += chunk.keys.length;
      offset += length;
      yield chunk;
    }
    if (chunkCount !== this.#chunkCount || entryCount !== this.#entryCount) {
      throw new CorruptionError(
        file,
        dataEnd,
        `trailer counts ${this.#chunkCount} chunks and ${this.#entryCount} entries, ` +
          `the file holds ${chunkCount} and ${entryCount}`,
      );
    }
  }

  /** Reads at least `length` bytes at `offset`, up to a scan window, never past the data region. */
  #readWindow(offset: number, length: number): Uint8Array {
    const want = Math.min(Math.max(length, SCAN_READ_SIZE), this.#dataEnd - offset);
    const bytes = this.#handle.read(offset, want);
    if (bytes.length < length) {
      throw new CorruptionError(this.#handle.path, offset + bytes.length, "file ends inside a chunk");
    }
    return bytes;
  }
}

/**
 * Verifies and decodes one chunk inside a span from
 * {@linkcode ChunkFileReader.readSpan}, without copying it out.
 *
 * @param span Bytes read from the file starting at `spanOffset`.
 * @param spanOffset File offset of `span[0]`.
 * @param offset The chunk's file offset, from the sparse index.
 * @param length The chunk's length, header included, from the sparse index.
 * @param file The file's path, for error messages.
 * @param arena Where the keys go; by default a buffer of their own.
 * @returns The decoded chunk; its values are views into `span`.
 * @throws {CorruptionError} If the chunk's checksum or structure is bad, or its header
 *   disagrees with `length`.
 * @throws {RangeError} If the chunk does not lie inside `span`.
 */
export function decodeChunkIn(
  span: Uint8Array,
  spanOffset: number,
  offset: number,
  length: number,
  file: string,
  arena?: KeyArena,
): Chunk {
  const start = offset - spanOffset;
  if (start < 0 || start + length > span.length) {
    throw new RangeError(`Chunk at ${offset} (${length} bytes) is outside the span read at ${spanOffset}`);
  }
  const bytes = span.subarray(start, start + length);
  const reader = new ByteReader(bytes, { file, offset });
  const payloadLength = reader.u32();
  if (payloadLength !== length - CHUNK_HEADER_SIZE) {
    reader.fail(
      `chunk header gives a ${payloadLength}-byte payload, the index ${length - CHUNK_HEADER_SIZE}`,
      0,
    );
  }
  return decodeChunk(bytes, reader, offset, arena);
}

/** {@linkcode scanVarint}'s cursor, module state so that it allocates nothing. */
let at = 0;

/** Reads the varint at `at` and advances it; a varint running past `end` is corruption. */
function scanVarint(bytes: Uint8Array, end: number, file: string, offset: number): number {
  let value = 0, shift = 0, b: number;
  do {
    if (at >= end) overrun(file, offset + at);
    b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return value;
}

/**
 * Looks `key` up in a chunk read by {@linkcode ChunkFileReader.readChunkInto}
 * by walking its entries in place, allocating nothing but the result view.
 * Trusts the checksum the read verified, yet never reads out of bounds.
 *
 * Keys are never rebuilt: the walk tracks how many leading bytes the
 * previous key (always less than `key`) shares with `key`, and an entry's
 * shared-prefix length alone settles most comparisons.
 *
 * @param bytes The chunk, header included, in `bytes[0, length)`.
 * @param key The key to find.
 * @param file The file's path, for error messages.
 * @param offset The chunk's offset in the file, for error messages.
 * @param length The chunk's length in `bytes`.
 * @returns The value (a view into `bytes`), `null` for a tombstone, or `undefined` if the chunk
 *   does not hold `key`.
 * @throws {CorruptionError} If an entry runs past the end of the chunk.
 */
export function findInChunk(
  bytes: Uint8Array,
  key: Uint8Array,
  file: string,
  offset: number,
  length: number = bytes.length,
): Uint8Array | null | undefined {
  const end = length;
  const count = u32At(bytes, 4);
  const keyLength = key.length;
  // Bytes the previous key shares with `key`; the previous key is less than `key`.
  let matched = 0;
  // A local cursor, with one-byte varints (nearly all of them) read inline: going through
  // scanVarint's module-level cursor for each took twice as long in a profile of cached gets.
  let p = CHUNK_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    if (p >= end) overrun(file, offset + p);
    let shared = bytes[p++];
    if (shared >= 0x80) {
      at = p - 1;
      shared = scanVarint(bytes, end, file, offset);
      p = at;
    }
    if (p >= end) overrun(file, offset + p);
    let suffix = bytes[p++];
    if (suffix >= 0x80) {
      at = p - 1;
      suffix = scanVarint(bytes, end, file, offset);
      p = at;
    }
    if (p + suffix > end) overrun(file, offset + p);
    // Keys ascend and `shared` is the whole common prefix with the previous key: sharing less than
    // the previous key matched means a byte above `key`'s; sharing more means still below it.
    if (shared < matched) return undefined;
    let c = -1;
    if (shared === matched) {
      const n = suffix < keyLength - matched ? suffix : keyLength - matched;
      let j = 0;
      while (j < n && bytes[p + j] === key[matched + j]) j++;
      c = j < n ? bytes[p + j] - key[matched + j] : shared + suffix - keyLength;
      matched += j;
    }
    p += suffix;
    if (p >= end) overrun(file, offset + p);
    let tag = bytes[p++];
    if (tag >= 0x80) {
      at = p - 1;
      tag = scanVarint(bytes, end, file, offset);
      p = at;
    }
    const valueLength = tag === 0 ? 0 : tag - 1;
    if (p + valueLength > end) overrun(file, offset + p);
    if (c === 0) return tag === 0 ? null : bytes.subarray(p, p + valueLength);
    if (c > 0) return undefined;
    p += valueLength;
  }
  return undefined;
}

/** Writes `value` as a little-endian u32 at `i`. */
function writeU32(bytes: Uint8Array, i: number, value: number): void {
  bytes[i] = value;
  bytes[i + 1] = value >>> 8;
  bytes[i + 2] = value >>> 16;
  bytes[i + 3] = value >>> 24;
}

/** The little-endian u32 at `i`. */
function u32At(bytes: Uint8Array, i: number): number {
  return (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) >>> 0;
}

function overrun(file: string, at: number): never {
  throw new CorruptionError(file, at, "entry runs past the end of the chunk");
}

/** Runs up to this long are copied byte by byte: cheaper than `set` with its `subarray` views. */
const KEY_COPY_LOOP_MAX = 64;
/** Bytes per remaining key a chunk's key buffer gets beyond the current key, for longer keys later. */
const KEY_ARENA_SLACK = 8;
/** Largest buffer a shared {@linkcode KeyArena} allocates unless one key run needs more. */
const KEY_ARENA_MAX_BLOCK = 64 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * The buffer decoded keys are views into. A chunk decoded on its own gets
 * one buffer for its keys; a scan passes one arena to every chunk it
 * decodes, whose buffers double up to 64 KiB, so that most chunks allocate
 * nothing (a fresh array costs 300 ns and more on Deno 2.9.6). Buffers are
 * never reused: the keys stay valid as long as they are referenced.
 */
export class KeyArena {
  bytes: Uint8Array = EMPTY;
  used = 0;
  readonly #shared: boolean;

  /** @param shared True if the arena serves many chunks, false for a single chunk's keys. */
  constructor(shared: boolean) {
    this.#shared = shared;
  }

  /** Starts a new buffer that holds at least `need` bytes. */
  grow(need: number): void {
    const size = this.#shared ? Math.min(Math.max(2 * this.bytes.length, need), KEY_ARENA_MAX_BLOCK) : need;
    this.bytes = new Uint8Array(Math.max(size, need));
    this.used = 0;
  }
}

/** Copies `from[at, at + n)` to `to[into, into + n)`. */
function copyBytes(from: Uint8Array, at: number, to: Uint8Array, into: number, n: number): void {
  if (n <= KEY_COPY_LOOP_MAX) {
    for (let j = 0; j < n; j++) to[into + j] = from[at + j];
  } else {
    to.set(from.subarray(at, at + n), into);
  }
}

/**
 * Verifies and decodes one chunk; `reader` is positioned after the payload
 * length, which the caller has checked against `bytes.length`. One-byte
 * varints, nearly all of them, are read inline; anything longer or bad goes
 * through `reader`, which also raises the errors.
 */
function decodeChunk(
  bytes: Uint8Array,
  reader: ByteReader,
  offset: number,
  arena: KeyArena = new KeyArena(false),
): Chunk {
  const count = reader.u32();
  const storedCrc = reader.u32();
  if (crc32c(bytes, crc32c(bytes, 0, 0, 8), CHUNK_HEADER_SIZE) !== storedCrc) {
    reader.fail("chunk checksum mismatch", 0);
  }
  if (count === 0) reader.fail("chunk holds no entries", 4);
  if (count > reader.remaining / 3) {
    reader.fail(`entry count ${count} cannot fit in ${reader.remaining} bytes`, 4);
  }
  const end = bytes.length;
  const keys: Uint8Array[] = new Array(count);
  const values: (Uint8Array | undefined)[] = new Array(count);
  let pos = reader.pos;
  // The keys are views into the arena's buffers: a fresh array per key costs about 300 ns on
  // Deno 2.9.6 against 25 ns for a view. Keys are built in `store` and the previous key read
  // from it by position, which is cheaper than going through the views.
  let store = arena.bytes;
  let used = arena.used;
  let previous = store;
  let previousStart = 0;
  let previousLength = -1;
  const valueBuffer = bytes.buffer;
  const valueBase = bytes.byteOffset;
  for (let i = 0; i < count; i++) {
    const start = pos;
    let shared = pos < end ? bytes[pos] : 0x80;
    if (shared < 0x80) pos++;
    else {
      reader.pos = pos;
      shared = reader.varint();
      pos = reader.pos;
    }
    let suffix = pos < end ? bytes[pos] : 0x80;
    if (suffix < 0x80) pos++;
    else {
      reader.pos = pos;
      suffix = reader.varint();
      pos = reader.pos;
    }
    if (suffix > end - pos) {
      reader.pos = pos;
      reader.bytes(suffix);
    }
    const keyLength = shared + suffix;
    if (used + keyLength > store.length) {
      arena.grow((count - i) * (keyLength + KEY_ARENA_SLACK));
      store = arena.bytes;
      used = 0;
    }
    if (previousLength < 0) {
      if (shared !== 0) reader.fail("first entry of the chunk shares a prefix", start);
    } else {
      // With `shared` the whole common prefix, the key is greater than the previous one exactly
      // when the previous key ends at the prefix, or its next byte is smaller than the suffix's first.
      if (
        shared > previousLength || suffix === 0 ||
        (shared < previousLength && bytes[pos] <= previous[previousStart + shared])
      ) {
        reader.fail(`entry ${i} is not the next key in order after the previous entry`, start);
      }
      copyBytes(previous, previousStart, store, used, shared);
    }
    copyBytes(bytes, pos, store, used + shared, suffix);
    keys[i] = new Uint8Array(store.buffer, store.byteOffset + used, keyLength);
    previous = store;
    previousStart = used;
    previousLength = keyLength;
    used += keyLength;
    pos += suffix;
    let tag = pos < end ? bytes[pos] : 0x80;
    if (tag < 0x80) pos++;
    else {
      reader.pos = pos;
      tag = reader.varint();
      pos = reader.pos;
    }
    if (tag === 0) values[i] = undefined;
    else {
      const length = tag - 1;
      if (length > end - pos) {
        reader.pos = pos;
        reader.bytes(length);
      }
      values[i] = new Uint8Array(valueBuffer, valueBase + pos, length);
      pos += length;
    }
  }
  arena.used = used;
  reader.pos = pos;
  if (reader.remaining !== 0) reader.fail(`${reader.remaining} bytes follow the last entry of the chunk`);
  return { offset, length: bytes.length, keys, values };
}

function checkedOption(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer in 1..${max}, got ${value}`);
  }
  return value;
}

/** Short hex form of a key for error messages. */
function hex(bytes: Uint8Array): string {
  const shown = Array.from(bytes.subarray(0, 32), (b) => b.toString(16).padStart(2, "0")).join("");
  return `0x${shown}${bytes.length > 32 ? "…" : ""}`;
}
