/**
 * The write-ahead log's on-disk format: log files holding checksummed
 * records, and the checkpoint file. `write_ahead_log.ts` writes and recovers
 * them; docs/wal.md describes the same bytes.
 *
 * A log file is `wal/NNNNNNNNNNNNNNNNNNNN.log`, named after the LSN of its
 * first record (20 digits, zero-padded, so names sort in LSN order):
 *
 * ```
 * +--------------------+ 0
 * | file header (16 B) |  kind WAL, version 1
 * +--------------------+ 16
 * | record             |  LSN = the number in the file name
 * | record             |  LSN + 1
 * | ...                |
 * +--------------------+
 * ```
 *
 * A record, then one op of its body:
 *
 * ```
 * offset 0            4             8           16        17
 *        +------------+-------------+-----------+---------+----------------+-----------------+
 *        | length u32 | CRC-32C u32 | LSN u64   | type u8 | opCount varint | opCount ops     |
 *        +------------+-------------+-----------+---------+----------------+-----------------+
 *                                   |<---------------- body: `length` bytes ---------------->|
 *
 *        +---------+------------------+-----+--------------------+-------+
 *        | kind u8 | keyLength varint | key | valueLength varint | value |  put (kind 1)
 *        +---------+------------------+-----+--------------------+-------+
 *        | kind u8 | keyLength varint | key |                               delete (kind 2)
 *        +---------+------------------+-----+
 * ```
 *
 * - `length` counts the body only, so it is at least 12 (an LSN, the type,
 *   a count and the smallest op) and a whole record is at most 64 MiB.
 * - The CRC covers `length` (bytes 0..3) and the body, so a damaged length
 *   cannot send a reader to the wrong end of the record unnoticed.
 * - `type` 1 is the only record type: a batch of ops applied all or none.
 * - The body must be consumed exactly: no bytes may follow the last op.
 *
 * The checkpoint file, `wal/CHECKPOINT`, replaced atomically:
 *
 * ```
 * +--------------------+ 0
 * | file header (16 B) |  kind CHECKPOINT, version 1
 * +--------------------+ 16
 * | LSN u64            |  every record up to here is durable elsewhere
 * +--------------------+ 24
 * | CRC-32C u32        |  of the LSN
 * +--------------------+ 28 = file size
 * ```
 *
 * Integers are little-endian; varints are the unsigned LEB128 of docs/format.md.
 *
 * @module
 */

import { crc32c } from "../_crc32c.ts";
import { CorruptionError } from "../errors.ts";
import { ByteReader } from "../format/_byte_reader.ts";
import { ByteWriter } from "../format/_byte_writer.ts";
import { decodeVarint, encodeVarint, varintSize } from "../format/_varint.ts";
import { FILE_HEADER_SIZE, FileKind, readFileHeader, writeFileHeader } from "../format/file_header.ts";

/** One change in a record. `value` is required for a put and absent for a delete. */
export interface WalOp {
  type: "put" | "delete";
  key: Uint8Array;
  value?: Uint8Array;
}

/** Bytes before a record's body: length and CRC. Part of the on-disk format; bump the version instead of editing. */
export const RECORD_PREFIX_SIZE = 8;
/**
 * Largest record, prefix included: 64 MiB. Part of the on-disk format (a
 * reader takes a longer length for damage); bump the version instead of editing.
 */
export const MAX_RECORD_SIZE = 64 * 1024 * 1024;
/**
 * Smallest body: LSN (8), type (1), op count (1) and a delete of an empty
 * key (2). Part of the on-disk format; bump the version instead of editing.
 */
export const MIN_RECORD_BODY = 12;
/** Record type of a batch of ops. Part of the on-disk format; bump the version instead of editing. */
export const RECORD_TYPE_OPS = 1;
/** Op kind of a put. Part of the on-disk format; bump the version instead of editing. */
export const OP_PUT = 1;
/** Op kind of a delete. Part of the on-disk format; bump the version instead of editing. */
export const OP_DELETE = 2;

/** Name of the checkpoint file in the log directory. Part of the on-disk format. */
export const CHECKPOINT_FILE = "CHECKPOINT";
/** Size of the checkpoint file. Part of the on-disk format; bump the version instead of editing. */
export const CHECKPOINT_SIZE = FILE_HEADER_SIZE + 8 + 4;
/** Digits of the LSN in a log file name. Part of the on-disk format. */
const LSN_DIGITS = 20;
/** Suffix of a log file name. Part of the on-disk format. */
const LOG_SUFFIX = ".log";
const LOG_NAME = /^(\d{20})\.log$/;

const TWO_POW_32 = 0x1_0000_0000;
/** u64 high words above this make the value exceed 2^53 − 1. */
const MAX_SAFE_HIGH_WORD = 0x1f_ffff;

/**
 * Name (not path) of the log file whose first record has LSN `firstLsn`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(logFileName(42), "00000000000000000042.log");
 * ```
 */
export function logFileName(firstLsn: number): string {
  return String(firstLsn).padStart(LSN_DIGITS, "0") + LOG_SUFFIX;
}

/** The first LSN a log file name stands for, or `undefined` if `name` is not a log file's name. */
export function parseLogFileName(name: string): number | undefined {
  const match = LOG_NAME.exec(name);
  if (!match) return undefined;
  const lsn = Number(match[1]);
  return Number.isSafeInteger(lsn) && lsn >= 1 ? lsn : undefined;
}

/** The 16-byte header every log file starts with. */
export function logFileHeader(): Uint8Array {
  return writeFileHeader(FileKind.WAL);
}

/**
 * Encodes one record.
 *
 * @param lsn The record's LSN, 1 or more.
 * @param ops One op or more, applied all or none at recovery.
 * @returns The whole record, prefix included.
 * @throws {TypeError} If `ops` is empty or an op is malformed (unknown type, key or value not a
 *   `Uint8Array`, a put without a value, a delete with one).
 * @throws {RangeError} If `lsn` is not a safe integer ≥ 1, or the record would exceed
 *   {@linkcode MAX_RECORD_SIZE}.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const key = new Uint8Array([1]);
 * const record = encodeRecord(7, [{ type: "delete", key }]);
 * const decoded = decodeRecord(record, 0);
 * assertEquals(decoded.ok && decoded.lsn, 7);
 * ```
 */
export function encodeRecord(lsn: number, ops: readonly WalOp[]): Uint8Array {
  checkLsn(lsn);
  const size = recordSize(ops);
  const record = new Uint8Array(size);
  writeRecord(record, 0, lsn, ops, size);
  return record;
}

/**
 * Size of the record that would hold `ops`, prefix included; with
 * {@linkcode writeRecord} it encodes a record straight into a caller's
 * buffer, as the log does into its pending bytes.
 *
 * @param ops One op or more.
 * @returns The record's size in bytes.
 * @throws {TypeError} If `ops` is empty or an op is malformed.
 * @throws {RangeError} If the record would exceed {@linkcode MAX_RECORD_SIZE}.
 */
export function recordSize(ops: readonly WalOp[]): number {
  if (!Array.isArray(ops) || ops.length === 0) {
    throw new TypeError("A WAL record needs at least one op");
  }
  let size = RECORD_PREFIX_SIZE + 8 + 1 + varintSize(ops.length);
  for (const op of ops) size += opSize(op);
  if (size > MAX_RECORD_SIZE) {
    throw new RangeError(`A WAL record of ${size} bytes exceeds the limit of ${MAX_RECORD_SIZE} bytes`);
  }
  return size;
}

/**
 * Writes the record holding `ops` into `target` at `offset`, the same bytes
 * {@linkcode encodeRecord} returns.
 *
 * @param target Where to write; needs `size` bytes from `offset`.
 * @param offset Where the record starts in `target`.
 * @param lsn The record's LSN, 1 or more.
 * @param ops The ops {@linkcode recordSize} accepted.
 * @param size What {@linkcode recordSize} returned for `ops`.
 * @throws {RangeError} If `lsn` is not a safe integer ≥ 1, or `target` is too short.
 */
export function writeRecord(
  target: Uint8Array,
  offset: number,
  lsn: number,
  ops: readonly WalOp[],
  size: number,
): void {
  checkLsn(lsn);
  if (offset + size > target.length) {
    throw new RangeError(
      `A WAL record of ${size} bytes does not fit at offset ${offset} of ${target.length}`,
    );
  }
  // Byte stores instead of a DataView: no object per record on the append path.
  writeU32(target, offset, size - RECORD_PREFIX_SIZE);
  writeU32(target, offset + 8, lsn >>> 0);
  writeU32(target, offset + 12, Math.floor(lsn / TWO_POW_32));
  target[offset + 16] = RECORD_TYPE_OPS;
  let pos = encodeVarint(target, offset + 17, ops.length);
  for (const op of ops) {
    target[pos++] = op.type === "put" ? OP_PUT : OP_DELETE;
    pos = encodeVarint(target, pos, op.key.length);
    target.set(op.key, pos);
    pos += op.key.length;
    if (op.value) {
      pos = encodeVarint(target, pos, op.value.length);
      target.set(op.value, pos);
      pos += op.value.length;
    }
  }
  writeU32(target, offset + 4, recordCrc(target, offset, offset + size));
}

/** A record read back by {@linkcode decodeRecord}. */
export interface DecodedRecord {
  ok: true;
  lsn: number;
  /** The ops; keys and values are views into the decoded bytes, not copies. */
  ops: WalOp[];
  /** Bytes the record takes, prefix included. */
  size: number;
}

/** Why {@linkcode decodeRecord} found no valid record. */
export interface InvalidRecord {
  ok: false;
  /** What is wrong, for error messages and recovery reports. */
  reason: string;
  /**
   * True if the bytes end inside the record (a write cut short by a crash),
   * false if bytes that are there are wrong (a bad length, checksum or body).
   */
  torn: boolean;
}

/**
 * Reads the record starting at `bytes[offset]`. Returns a result instead of
 * throwing, since recovery meets a bad record at the tail of almost every
 * crashed log and must decide what to do with it.
 *
 * @param bytes A log file's bytes (or any bytes holding records).
 * @param offset Where the record starts.
 * @returns The record, or why there is none.
 */
export function decodeRecord(bytes: Uint8Array, offset: number): DecodedRecord | InvalidRecord {
  const available = bytes.length - offset;
  if (available < RECORD_PREFIX_SIZE) {
    return invalid(
      `the file ends ${available} bytes into a record's ${RECORD_PREFIX_SIZE}-byte prefix`,
      true,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, available);
  const length = view.getUint32(0, true);
  if (length < MIN_RECORD_BODY || length > MAX_RECORD_SIZE - RECORD_PREFIX_SIZE) {
    return invalid(
      `record length ${length} is outside ${MIN_RECORD_BODY}..${MAX_RECORD_SIZE - RECORD_PREFIX_SIZE}`,
      false,
    );
  }
  const size = RECORD_PREFIX_SIZE + length;
  if (size > available) {
    return invalid(`the file ends ${available} bytes into a record of ${size} bytes`, true);
  }
  if (recordCrc(bytes, offset, offset + size) !== view.getUint32(4, true)) {
    return invalid("record checksum mismatch", false);
  }
  const high = view.getUint32(12, true);
  if (high > MAX_SAFE_HIGH_WORD) return invalid("record LSN exceeds 2^53-1", false);
  const lsn = high * TWO_POW_32 + view.getUint32(8, true);
  const type = bytes[offset + 16];
  if (type !== RECORD_TYPE_OPS) return invalid(`unknown record type ${type}`, false);
  const end = offset + size;
  const cursor = { pos: offset + 17 };
  const count = decodeVarint(bytes, cursor, end);
  if (count < 1) return invalid("record holds no ops, or a malformed op count", false);
  const ops: WalOp[] = [];
  for (let i = 0; i < count; i++) {
    if (cursor.pos >= end) return invalid(`record ends after ${i} of ${count} ops`, false);
    const kind = bytes[cursor.pos++];
    if (kind !== OP_PUT && kind !== OP_DELETE) return invalid(`op ${i} has unknown kind ${kind}`, false);
    const key = readRun(bytes, cursor, end);
    if (key === undefined) return invalid(`op ${i} has a malformed key`, false);
    if (kind === OP_DELETE) {
      ops.push({ type: "delete", key });
      continue;
    }
    const value = readRun(bytes, cursor, end);
    if (value === undefined) return invalid(`op ${i} has a malformed value`, false);
    ops.push({ type: "put", key, value });
  }
  if (cursor.pos !== end) return invalid(`${end - cursor.pos} bytes follow the record's last op`, false);
  return { ok: true, lsn, ops, size };
}

/**
 * Encodes the checkpoint file.
 *
 * @param lsn Every record with an LSN up to this one is durable elsewhere; 0 for none.
 * @returns The whole file, {@linkcode CHECKPOINT_SIZE} bytes.
 */
export function encodeCheckpoint(lsn: number): Uint8Array {
  const out = new ByteWriter(CHECKPOINT_SIZE);
  out.bytes(writeFileHeader(FileKind.CHECKPOINT));
  out.u64(lsn);
  out.u32(crc32c(out.view(FILE_HEADER_SIZE)));
  return out.take();
}

/**
 * Decodes and verifies the checkpoint file.
 *
 * @param bytes The whole file.
 * @param file The file's path, for error messages.
 * @returns The checkpoint LSN.
 * @throws {CorruptionError} If the file has the wrong size or any byte is damaged.
 * @throws {UnsupportedFormatError} If the header is intact but of a newer version or another kind.
 */
export function decodeCheckpoint(bytes: Uint8Array, file: string): number {
  readFileHeader(bytes, file, FileKind.CHECKPOINT);
  if (bytes.length !== CHECKPOINT_SIZE) {
    throw new CorruptionError(
      file,
      Math.min(bytes.length, CHECKPOINT_SIZE),
      `checkpoint file has ${bytes.length} bytes, not ${CHECKPOINT_SIZE}`,
    );
  }
  const reader = new ByteReader(bytes.subarray(FILE_HEADER_SIZE), { file, offset: FILE_HEADER_SIZE });
  const lsn = reader.u64();
  if (crc32c(bytes, 0, FILE_HEADER_SIZE, FILE_HEADER_SIZE + 8) !== reader.u32()) {
    reader.fail("checkpoint checksum mismatch", 0);
  }
  return lsn;
}

function checkLsn(lsn: number): void {
  if (!Number.isSafeInteger(lsn) || lsn < 1) {
    throw new RangeError(`A WAL record's LSN must be an integer in 1..2^53-1, got ${lsn}`);
  }
}

/** Little-endian. */
function writeU32(target: Uint8Array, pos: number, value: number): void {
  target[pos] = value;
  target[pos + 1] = value >>> 8;
  target[pos + 2] = value >>> 16;
  target[pos + 3] = value >>> 24;
}

function opSize(op: WalOp): number {
  if (op === null || typeof op !== "object") throw new TypeError(`A WAL op must be an object, got ${op}`);
  if (!(op.key instanceof Uint8Array)) throw new TypeError("A WAL op's key must be a Uint8Array");
  const keySize = 1 + varintSize(op.key.length) + op.key.length;
  if (op.type === "put") {
    if (!(op.value instanceof Uint8Array)) throw new TypeError("A WAL put needs a Uint8Array value");
    return keySize + varintSize(op.value.length) + op.value.length;
  }
  if (op.type === "delete") {
    if (op.value !== undefined) throw new TypeError("A WAL delete carries no value");
    return keySize;
  }
  throw new TypeError(`A WAL op's type must be "put" or "delete", got ${String(op.type)}`);
}

/** CRC-32C of the length field and the body of the record in `bytes[start, end)`. */
function recordCrc(bytes: Uint8Array, start: number, end: number): number {
  return crc32c(bytes, crc32c(bytes, 0, start, start + 4), start + RECORD_PREFIX_SIZE, end);
}

/** Reads a varint length and that many bytes; `undefined` if either runs past `end` or is malformed. */
function readRun(bytes: Uint8Array, cursor: { pos: number }, end: number): Uint8Array | undefined {
  const length = decodeVarint(bytes, cursor, end);
  if (length < 0 || length > end - cursor.pos) return undefined;
  const run = bytes.subarray(cursor.pos, cursor.pos + length);
  cursor.pos += length;
  return run;
}

function invalid(reason: string, torn: boolean): InvalidRecord {
  return { ok: false, reason, torn };
}
