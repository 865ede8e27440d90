/**
 * A checksummed manifest: one JSON document in a file the engine replaces
 * atomically (write a temporary file, sync, rename, sync the directory; the
 * caller does that). The document's own schema and version field are the
 * caller's; the file header versions only this framing.
 *
 * ```
 * +--------------------+ 0
 * | file header (16 B) |  kind MANIFEST, version 1
 * +--------------------+ 16
 * | length   u32       |  n, bytes of JSON
 * +--------------------+ 20
 * | JSON     n bytes   |  UTF-8, canonical (see below)
 * +--------------------+ 20 + n
 * | CRC-32C  u32       |  of length and JSON
 * +--------------------+ 24 + n = file size
 * ```
 *
 * Canonical JSON makes the bytes a function of the value alone: no
 * whitespace, object keys sorted by UTF-16 code unit, properties whose value
 * is `undefined` left out, and nothing but null, booleans, finite numbers,
 * strings, arrays and plain objects. The same value always encodes to the
 * same file.
 *
 * @module
 */

import { crc32c } from "../_crc32c.ts";
import { CorruptionError } from "../errors.ts";
import { ByteReader } from "./_byte_reader.ts";
import { ByteWriter } from "./_byte_writer.ts";
import { FILE_HEADER_SIZE, FileKind, readFileHeader, writeFileHeader } from "./file_header.ts";

/** Size of the length field. Part of the on-disk format; bump the version instead of editing. */
const LENGTH_SIZE = 4;
const CRC_SIZE = 4;

/** A value JSON can carry. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Encodes a manifest file holding `value` as canonical JSON.
 *
 * @param value Null, a boolean, a finite number, a string, or arrays and plain objects of these
 *   (object properties may also be `undefined`, which leaves them out).
 * @returns The whole file.
 * @throws {TypeError} If `value` holds anything else, or refers to itself.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const file = encodeManifest({ version: 2, segments: [1, 2] });
 * assertEquals(decodeManifest(file, "manifest"), { segments: [1, 2], version: 2 });
 * ```
 */
export function encodeManifest(value: unknown): Uint8Array {
  const json = new TextEncoder().encode(canonicalJson(value, "value", []));
  const out = new ByteWriter(FILE_HEADER_SIZE + LENGTH_SIZE + json.length + CRC_SIZE);
  out.bytes(writeFileHeader(FileKind.MANIFEST));
  out.u32(json.length);
  out.bytes(json);
  out.u32(crc32c(out.view(FILE_HEADER_SIZE)));
  return out.take();
}

/**
 * Decodes and verifies a manifest file.
 *
 * @param bytes The whole file.
 * @param file The file's path, for error messages.
 * @returns The JSON value; checking its shape is the caller's job.
 * @throws {CorruptionError} If any byte is damaged, the file is truncated, or the JSON is malformed.
 * @throws {UnsupportedFormatError} If the header is intact but of a newer version or another kind.
 */
export function decodeManifest(bytes: Uint8Array, file: string): JsonValue {
  readFileHeader(bytes, file, FileKind.MANIFEST);
  const crcStart = bytes.length - CRC_SIZE;
  if (crcStart < FILE_HEADER_SIZE + LENGTH_SIZE) {
    throw new CorruptionError(file, bytes.length, "file ends before the manifest's length and checksum");
  }
  const reader = new ByteReader(bytes.subarray(FILE_HEADER_SIZE), { file, offset: FILE_HEADER_SIZE });
  const length = reader.u32();
  reader.pos = crcStart - FILE_HEADER_SIZE;
  if (crc32c(bytes, 0, FILE_HEADER_SIZE, crcStart) !== reader.u32()) {
    reader.fail("manifest checksum mismatch", 0);
  }
  const jsonStart = FILE_HEADER_SIZE + LENGTH_SIZE;
  if (length !== crcStart - jsonStart) {
    reader.fail(`length field says ${length} bytes of JSON, the file holds ${crcStart - jsonStart}`, 0);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      bytes.subarray(jsonStart, crcStart),
    );
  } catch (error) {
    throw new CorruptionError(file, jsonStart, "manifest is not valid UTF-8", { cause: error });
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new CorruptionError(file, jsonStart, `manifest is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Serializes `value` as canonical JSON; `path` names it and `parents` holds the enclosing objects. */
function canonicalJson(value: unknown, path: string, parents: object[]): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) {
        throw new TypeError(`Cannot encode ${path} in a manifest: ${value} is not finite`);
      }
      return JSON.stringify(value);
    case "object":
      break;
    default:
      throw new TypeError(`Cannot encode ${path} in a manifest: a ${typeof value} is not JSON`);
  }
  if (parents.includes(value)) {
    throw new TypeError(`Cannot encode ${path} in a manifest: it refers to itself`);
  }
  parents.push(value);
  let json: string;
  if (Array.isArray(value)) {
    json = `[${value.map((item, i) => canonicalJson(item, `${path}[${i}]`, parents)).join(",")}]`;
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(`Cannot encode ${path} in a manifest: only plain objects and arrays are JSON`);
    }
    const record = value as Record<string, unknown>;
    const fields: string[] = [];
    for (const key of Object.keys(record).sort()) {
      if (record[key] === undefined) continue;
      fields.push(`${JSON.stringify(key)}:${canonicalJson(record[key], `${path}.${key}`, parents)}`);
    }
    json = `{${fields.join(",")}}`;
  }
  parents.pop();
  return json;
}
