/**
 * Type descriptors: how the engine turns JavaScript keys and values into
 * bytes and back. The engine stores, sorts and compares only bytes; a key
 * descriptor's encoding carries the whole key order, so that sorted files,
 * the memtable and range scans all agree through {@linkcode compareBytes}.
 *
 * Built-ins: {@linkcode STRING}, {@linkcode INT32}, {@linkcode INT64},
 * {@linkcode FLOAT64}, {@linkcode BYTES} (all usable for keys) and
 * {@linkcode JSON_VALUE} (values only). `docs/types.md` describes every
 * encoding byte by byte, and how to write a custom descriptor.
 *
 * Every encoding here is part of the on-disk format: a descriptor's `name`
 * goes into the index manifest, and a changed encoding needs a new name
 * instead of an edit.
 *
 * This module is browser compatible: it uses only `TextEncoder`,
 * `TextDecoder`, `DataView` and typed arrays.
 *
 * @module
 */

/**
 * Converts values of type `T` to bytes and back, and says whether the bytes
 * sort in the values' natural order.
 *
 * Contract for custom descriptors (the built-ins follow it too):
 * - `encode` is deterministic: equal values give identical bytes, in every
 *   process and every release that uses the same `name`.
 * - `decode(encode(x))` equals `x`.
 * - If `orderPreserving` is true, `compareBytes(encode(a), encode(b))` has the
 *   sign of the intended comparison of `a` and `b`; in particular two values
 *   the order calls equal must encode identically.
 * - `check` throws `TypeError` (wrong type) or `RangeError` (right type, value
 *   out of range) for any value `encode` cannot faithfully encode, and changes
 *   nothing. The engine calls it before it touches any state.
 * - The methods are pure and keep no state between calls, so one descriptor
 *   may serve any number of indexes at once.
 * - `encode` returns a new array that becomes the engine's; the descriptor
 *   must not keep or modify it afterwards. `decode` must not keep or modify
 *   `bytes`: the engine may reuse that memory as soon as `decode` returns.
 * - `decode` throws on bytes `encode` could not have produced (wrong length,
 *   malformed text); the engine reports that as corruption.
 *
 * @typeParam T The JavaScript type of the keys or values.
 *
 * @example Encoding a key with a built-in descriptor
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { INT32, type TypeDescriptor } from "./type_descriptor.ts";
 *
 * const descriptor: TypeDescriptor<number> = INT32;
 * assertEquals(descriptor.encode(1), new Uint8Array([0x80, 0, 0, 1]));
 * assertEquals(descriptor.decode(new Uint8Array([0x80, 0, 0, 1])), 1);
 * ```
 */
export interface TypeDescriptor<T> {
  /**
   * Identifies the encoding; stored in the index manifest and compared when
   * an index is reopened. Built-ins use bare words (`"string"`, `"int32"`);
   * custom descriptors should use a namespace such as `"myapp/uuid"`. One to
   * 128 printable ASCII characters, no spaces.
   */
  readonly name: string;
  /** Whether byte order equals the natural order of `T`; required for keys. */
  readonly orderPreserving: boolean;
  /**
   * Throws `TypeError` for a value of the wrong JavaScript type (including
   * `undefined` and `null` where `T` excludes them) and `RangeError` for a
   * value of the right type that the encoding cannot represent.
   *
   * @param value Anything a caller passed in.
   */
  check(value: unknown): asserts value is T;
  /**
   * Encodes a value that passed `check`.
   *
   * @param value The value to encode.
   * @returns A new array, owned by the caller.
   */
  encode(value: T): Uint8Array;
  /**
   * Decodes bytes produced by `encode`.
   *
   * @param bytes The encoded form; neither kept nor modified.
   * @returns The value that was encoded.
   */
  decode(bytes: Uint8Array): T;
}

/** Any value {@linkcode JSON_VALUE} can store: what `JSON.parse` can return. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Largest encoded key, in bytes (16 KiB); {@linkcode encodeKey} rejects longer ones. */
export const MAX_KEY_BYTES = 16384;

/** Largest encoded value, in bytes (16 MiB); {@linkcode encodeValue} rejects longer ones. */
export const MAX_VALUE_BYTES = 16777216;

/**
 * Compares two byte strings as unsigned bytes, left to right; a proper
 * prefix sorts before the longer string. This is the one key order of the
 * engine.
 *
 * @param a First byte string.
 * @param b Second byte string.
 * @returns A negative number if `a` sorts first, zero if equal, positive if `b` sorts first.
 *
 * @example Unsigned order and prefixes
 * ```ts
 * import { ok as assert } from "node:assert/strict";
 * import { compareBytes } from "./type_descriptor.ts";
 *
 * assert(compareBytes(new Uint8Array([0x7f]), new Uint8Array([0x80])) < 0);
 * assert(compareBytes(new Uint8Array([1]), new Uint8Array([1, 0])) < 0);
 * assert(compareBytes(new Uint8Array([2, 5]), new Uint8Array([2, 5])) === 0);
 * ```
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < length; i++) {
    const difference = a[i] - b[i];
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

/**
 * Checks that `descriptor` is well formed and may order keys. Call it once
 * when an index is created or opened, not per operation.
 *
 * @param descriptor The key descriptor to check.
 * @throws {TypeError} If it is not a well-formed descriptor or its encoding does not preserve order.
 *
 * @example Rejecting JSON as a key type
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { assertKeyDescriptor, JSON_VALUE, STRING } from "./type_descriptor.ts";
 *
 * assertKeyDescriptor(STRING);
 * throws(() => assertKeyDescriptor(JSON_VALUE), { name: "TypeError", message: /does not preserve order/ });
 * ```
 */
export function assertKeyDescriptor(descriptor: TypeDescriptor<unknown>): void {
  assertValueDescriptor(descriptor);
  if (descriptor.orderPreserving !== true) {
    throw new TypeError(
      `Cannot use type "${descriptor.name}" for keys: its encoding does not preserve order`,
    );
  }
}

/**
 * Checks that `descriptor` is well formed: a valid `name`, a boolean
 * `orderPreserving` and the three methods. Call it once when an index is
 * created or opened.
 *
 * @param descriptor The value descriptor to check.
 * @throws {TypeError} If a member is missing or has the wrong type, or the name is not allowed.
 *
 * @example A descriptor without a name
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { assertValueDescriptor, BYTES } from "./type_descriptor.ts";
 *
 * assertValueDescriptor(BYTES);
 * throws(() => assertValueDescriptor({ ...BYTES, name: "" }), { name: "TypeError", message: /name/ });
 * ```
 */
export function assertValueDescriptor(descriptor: TypeDescriptor<unknown>): void {
  if (typeof descriptor !== "object" || descriptor === null) {
    throw new TypeError(`Cannot use type descriptor: expected an object, got ${describe(descriptor)}`);
  }
  const { name } = descriptor;
  if (typeof name !== "string" || !DESCRIPTOR_NAME.test(name)) {
    throw new TypeError(
      `Cannot use type descriptor: name must be 1 to 128 printable ASCII characters without spaces, got ${
        typeof name === "string" ? JSON.stringify(name) : describe(name)
      }`,
    );
  }
  if (typeof descriptor.orderPreserving !== "boolean") {
    throw new TypeError(`Cannot use type "${name}": orderPreserving must be a boolean`);
  }
  for (const method of ["check", "encode", "decode"] as const) {
    if (typeof descriptor[method] !== "function") {
      throw new TypeError(`Cannot use type "${name}": ${method} must be a function`);
    }
  }
}

/**
 * Checks a key's type, encodes it and enforces {@linkcode MAX_KEY_BYTES}.
 * Does not check that the descriptor preserves order; see
 * {@linkcode assertKeyDescriptor}.
 *
 * @typeParam K The key type.
 * @param descriptor The index's key descriptor.
 * @param key The key from the caller, not yet checked.
 * @returns The encoded key, owned by the caller.
 * @throws {TypeError} If `key` has the wrong type or `encode` returns something other than a `Uint8Array`.
 * @throws {RangeError} If `key` is out of the descriptor's range or encodes to more than `MAX_KEY_BYTES`.
 *
 * @example The size limit
 * ```ts
 * import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
 * import { encodeKey, STRING } from "./type_descriptor.ts";
 *
 * assertEquals(encodeKey(STRING, "é"), new Uint8Array([0xc3, 0xa9]));
 * throws(() => encodeKey(STRING, "x".repeat(20000)), {
 *   name: "RangeError",
 *   message: /Key is 20000 bytes after encoding; the maximum is 16384 bytes/,
 * });
 * ```
 */
export function encodeKey<K>(descriptor: TypeDescriptor<K>, key: unknown): Uint8Array {
  descriptor.check(key);
  const bytes = descriptor.encode(key);
  if (!(bytes instanceof Uint8Array)) throw notBytes(descriptor, bytes);
  if (bytes.length > MAX_KEY_BYTES) {
    throw new RangeError(
      `Key is ${bytes.length} bytes after encoding; the maximum is ${MAX_KEY_BYTES} bytes`,
    );
  }
  return bytes;
}

/**
 * Checks a value's type, encodes it and enforces {@linkcode MAX_VALUE_BYTES}.
 *
 * @typeParam V The value type.
 * @param descriptor The index's value descriptor.
 * @param value The value from the caller, not yet checked.
 * @returns The encoded value, owned by the caller.
 * @throws {TypeError} If `value` has the wrong type or `encode` returns something other than a `Uint8Array`.
 * @throws {RangeError} If `value` is out of the descriptor's range or encodes to more than `MAX_VALUE_BYTES`.
 *
 * @example Rejecting undefined before anything is written
 * ```ts
 * import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
 * import { encodeValue, JSON_VALUE } from "./type_descriptor.ts";
 *
 * assertEquals(encodeValue(JSON_VALUE, [1]), new TextEncoder().encode("[1]"));
 * throws(() => encodeValue(JSON_VALUE, undefined), { name: "TypeError", message: /undefined/ });
 * ```
 */
export function encodeValue<V>(descriptor: TypeDescriptor<V>, value: unknown): Uint8Array {
  descriptor.check(value);
  const bytes = descriptor.encode(value);
  if (!(bytes instanceof Uint8Array)) throw notBytes(descriptor, bytes);
  if (bytes.length > MAX_VALUE_BYTES) {
    throw new RangeError(
      `Value is ${bytes.length} bytes after encoding; the maximum is ${MAX_VALUE_BYTES} bytes`,
    );
  }
  return bytes;
}

/**
 * Finds a built-in descriptor by its `name`, for reopening an index whose
 * manifest records the names.
 *
 * @param name A name read from a manifest.
 * @returns The built-in descriptor, or `undefined` if no built-in has that name.
 *
 * @example
 * ```ts
 * import { strictEqual as assertStrictEquals } from "node:assert/strict";
 * import { descriptorByName, INT64 } from "./type_descriptor.ts";
 *
 * assertStrictEquals(descriptorByName("int64"), INT64);
 * assertStrictEquals(descriptorByName("myapp/uuid"), undefined);
 * ```
 */
export function descriptorByName(name: string): TypeDescriptor<unknown> | undefined {
  return BUILT_INS.get(name);
}

// ---------------------------------------------------------------------------
// string

/**
 * Strings up to this many UTF-16 code units are encoded by hand, and the
 * length pass finds lone surrogates for free. Measured with `TextEncoder`
 * plus `isWellFormed` as the alternative: on Node 20 the loop takes 70 ns
 * against 420 ns for a 17-character key and still wins at 64; on Deno 2.9
 * both are dominated by allocating the result and cross over near 48. Longer
 * strings go to `TextEncoder`.
 */
const HAND_ENCODE_MAX_UNITS = 64;

/**
 * Byte strings up to this length are tried as pure ASCII before
 * `TextDecoder`: the bytes are copied into an array of code units that one
 * `String.fromCharCode` call turns into the string. Measured at 16 bytes:
 * 50 ns on Deno 2.9 against 560 ns for a native decode call, which is an op
 * call there; 100 ns on Node 20 against 60 ns. At 32 bytes Node's native
 * decode is twice as fast, and at 100 bytes it wins on both runtimes.
 */
const ASCII_DECODE_MAX_BYTES = 16;
/**
 * Code-unit arrays by length, reused since decoding never nests; one per
 * length, because `fromCharCode.apply` reads the whole array and resizing
 * one costs more than the copy.
 */
const ASCII_UNITS: number[][] = Array.from(
  { length: ASCII_DECODE_MAX_BYTES + 1 },
  (_, length) => new Array<number>(length).fill(0),
);

const UTF8_ENCODER = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF, which is part of the string, not a marker.
const UTF8_DECODER = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/**
 * Decodes first without validating: on Deno 2.9 a fatal decode of 100 bytes
 * took 307–376 ns against 130 ns. Its text has no U+FFFD exactly when the
 * bytes are valid UTF-8 without that character; otherwise the fatal decoder
 * decides.
 */
const REPLACING_DECODER = new TextDecoder("utf-8", { ignoreBOM: true });

function checkString(value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(`Cannot encode string: expected a string, got ${describe(value)}`);
  }
  if (!value.isWellFormed()) throw loneSurrogate(value);
}

function loneSurrogate(text: string): TypeError {
  let index = 0;
  for (; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    const next = text.charCodeAt(index + 1);
    if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) index++;
    else break;
  }
  const hex = text.charCodeAt(index).toString(16).toUpperCase();
  return new TypeError(
    `Cannot encode string: lone surrogate U+${hex} at index ${index} is not Unicode text`,
  );
}

/** UTF-8 of a well-formed string, in a new array; throws `TypeError` on a lone surrogate. */
function utf8Encode(text: string): Uint8Array {
  if (text.length > HAND_ENCODE_MAX_UNITS) {
    if (!text.isWellFormed()) throw loneSurrogate(text);
    return UTF8_ENCODER.encode(text);
  }
  return utf8Write(text, new Uint8Array(utf8Size(text)));
}

/** Bytes of the UTF-8 of `text`; throws `TypeError` on a lone surrogate. */
function utf8Size(text: string): number {
  const units = text.length;
  let size = units;
  for (let i = 0; i < units; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) size += 1;
    else if (unit < 0xd800 || unit > 0xdfff) size += 2;
    else {
      const next = text.charCodeAt(i + 1);
      if (unit > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) throw loneSurrogate(text);
      // Two code units become four bytes.
      size += 2;
      i++;
    }
  }
  return size;
}

/** Writes the UTF-8 of a well-formed `text` into `out`, of exactly {@linkcode utf8Size} bytes. */
function utf8Write(text: string, out: Uint8Array): Uint8Array {
  const units = text.length;
  if (out.length === units) {
    for (let i = 0; i < units; i++) out[i] = text.charCodeAt(i);
    return out;
  }
  let at = 0;
  for (let i = 0; i < units; i++) {
    let point = text.charCodeAt(i);
    if (point < 0x80) {
      out[at++] = point;
    } else if (point < 0x800) {
      out[at++] = 0xc0 | (point >> 6);
      out[at++] = 0x80 | (point & 0x3f);
    } else if (point < 0xd800 || point > 0xdfff) {
      out[at++] = 0xe0 | (point >> 12);
      out[at++] = 0x80 | ((point >> 6) & 0x3f);
      out[at++] = 0x80 | (point & 0x3f);
    } else {
      point = 0x10000 + ((point - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      out[at++] = 0xf0 | (point >> 18);
      out[at++] = 0x80 | ((point >> 12) & 0x3f);
      out[at++] = 0x80 | ((point >> 6) & 0x3f);
      out[at++] = 0x80 | (point & 0x3f);
    }
  }
  return out;
}

/**
 * Arrays for lookup keys by encoded length, made on first use and then
 * rewritten by every lookup of that length: a fresh small typed array costs
 * 300 to 1,100 ns on Deno 2.9 (30 ns on Node 20), more than the rest of a
 * cached lookup. One per length, because a view of the right length into a
 * shared buffer is itself a typed-array allocation.
 */
const LOOKUP_KEYS: Uint8Array[] = [];
/** The same for values that are copied at once (a bulk load's); apart, so a key and its value never share one. */
const COPIED_VALUES: Uint8Array[] = [];
/** Longest string value encoded into reused memory: at most 256 arrays of up to 768 bytes. */
const COPIED_VALUE_MAX_UNITS = 256;
/**
 * Strings of at least this many code units go into reused memory through
 * `TextEncoder.encodeInto`, kept when the text is all ASCII. Measured for
 * 100-unit text: 80 to 110 ns against 140 to 200 ns for the loop on Node 20
 * and Deno 2.9; the loop still wins at 32 units.
 */
const ENCODE_INTO_MIN_UNITS = 48;

/**
 * {@linkcode encodeKey} for a key that is only looked up: the result may be
 * memory that the next call rewrites, so the caller must neither keep it nor
 * let it outlive the lookup (copy it, as `keyString` does, to keep it). Same
 * checks, errors and bytes as `encodeKey`; reused memory for {@linkcode STRING}
 * keys of up to 64 code units (at most 192 bytes, so never over
 * {@linkcode MAX_KEY_BYTES}), a new array otherwise.
 *
 * @typeParam K The key type.
 * @param descriptor The index's key descriptor.
 * @param key The key from the caller, not yet checked.
 * @returns The encoded key, valid until the next call.
 */
export function encodeLookupKey<K>(descriptor: TypeDescriptor<K>, key: unknown): Uint8Array {
  if (descriptor !== STRING || typeof key !== "string" || key.length > HAND_ENCODE_MAX_UNITS) {
    return encodeKey(descriptor, key);
  }
  return utf8EncodeReused(key, LOOKUP_KEYS);
}

/**
 * {@linkcode encodeValue} for a value the caller copies before the next call
 * (a bulk load writes it into its chunk at once): the same checks, errors
 * and bytes, in reused memory for {@linkcode STRING} values of up to 256
 * code units (never over {@linkcode MAX_VALUE_BYTES}), a new array otherwise.
 *
 * @typeParam V The value type.
 * @param descriptor The index's value descriptor.
 * @param value The value from the caller, not yet checked.
 * @returns The encoded value, valid until the next call.
 */
export function encodeCopiedValue<V>(descriptor: TypeDescriptor<V>, value: unknown): Uint8Array {
  if (descriptor !== STRING || typeof value !== "string" || value.length > COPIED_VALUE_MAX_UNITS) {
    return encodeValue(descriptor, value);
  }
  return utf8EncodeReused(value, COPIED_VALUES);
}

/** The UTF-8 of `text` in `pool`'s array of its length, made on first use; throws `TypeError` on a lone surrogate. */
function utf8EncodeReused(text: string, pool: Uint8Array[]): Uint8Array {
  const units = text.length;
  // Text is mostly ASCII: copy while checking, and size the text only when a unit is not.
  const ascii = pool[units] ??= new Uint8Array(units);
  if (units >= ENCODE_INTO_MIN_UNITS) {
    // Every unit read fit in one byte of an array of `units` bytes only if every unit is ASCII.
    if (UTF8_ENCODER.encodeInto(text, ascii).read === units) return ascii;
    const size = utf8Size(text);
    return utf8Write(text, pool[size] ??= new Uint8Array(size));
  }
  for (let i = 0; i < units; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x80) {
      const size = utf8Size(text);
      return utf8Write(text, pool[size] ??= new Uint8Array(size));
    }
    ascii[i] = unit;
  }
  return ascii;
}

/** Decodes strict UTF-8; throws `TypeError` on anything else. */
function utf8Decode(bytes: Uint8Array): string {
  const length = bytes.length;
  if (length <= ASCII_DECODE_MAX_BYTES) {
    const units = ASCII_UNITS[length];
    let i = 0;
    for (; i < length; i++) {
      const byte = bytes[i];
      if (byte >= 0x80) break;
      units[i] = byte;
    }
    if (i === length) return String.fromCharCode.apply(null, units);
  }
  const text = REPLACING_DECODER.decode(bytes);
  if (!text.includes("\uFFFD")) return text;
  try {
    return UTF8_DECODER.decode(bytes);
  } catch (cause) {
    throw new TypeError("Cannot decode text: bytes are not valid UTF-8", { cause });
  }
}

function encodeString(value: string): Uint8Array {
  if (typeof value !== "string") checkString(value);
  return utf8Encode(value);
}

/**
 * Strings as UTF-8, ordered by Unicode code point.
 *
 * Accepts every well-formed string (any plane: CJK, emoji, combining marks)
 * and rejects lone surrogates with `TypeError` instead of turning them into
 * U+FFFD. No normalisation: "é" as one code point and as "e" + U+0301 are
 * different keys.
 *
 * Order: UTF-8 byte order is code point order. That differs from JavaScript's
 * `<` on strings, which compares UTF-16 code units: `"\u{1F600}" < "\uFFFD"`
 * is true in JavaScript, but the key 😀 (U+1F600) sorts after U+FFFD here.
 *
 * @example Any Unicode text round-trips
 * ```ts
 * import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
 * import { compareBytes, STRING } from "./type_descriptor.ts";
 *
 * for (const text of ["é", "漢", "😀", ""]) assertEquals(STRING.decode(STRING.encode(text)), text);
 * assert(compareBytes(STRING.encode("\uFFFD"), STRING.encode("😀")) < 0);
 * throws(() => STRING.check("\uD800"), { name: "TypeError", message: /lone surrogate/ });
 * ```
 */
export const STRING: TypeDescriptor<string> = Object.freeze({
  name: "string",
  orderPreserving: true,
  check: checkString,
  encode: encodeString,
  decode: utf8Decode,
});

// ---------------------------------------------------------------------------
// Fixed-width numbers

/**
 * Staging area for the DataView conversions of FLOAT64 and INT64; the bytes
 * are copied out (with the order-preserving flips) before the call returns,
 * and JavaScript never runs two conversions at once in one realm.
 */
const SCRATCH = new DataView(new ArrayBuffer(8));
const SCRATCH_BYTES = new Uint8Array(SCRATCH.buffer);

function checkLength(type: string, bytes: Uint8Array, expected: number): void {
  if (bytes.length !== expected) {
    throw new RangeError(`Cannot decode ${type}: expected ${expected} bytes, got ${bytes.length}`);
  }
}

function checkInt32(value: unknown): asserts value is number {
  if (typeof value === "number" && (value | 0) === value) return;
  if (typeof value !== "number") {
    throw new TypeError(`Cannot encode int32: expected a number, got ${describe(value)}`);
  }
  throw new RangeError(
    `Cannot encode int32: expected an integer from -2147483648 to 2147483647, got ${value}`,
  );
}

function encodeInt32(value: number): Uint8Array {
  checkInt32(value);
  // Flipping the sign bit of two's complement maps -2^31..2^31-1 onto
  // 0..2^32-1 in the same order, so big-endian bytes sort numerically.
  const out = new Uint8Array(4);
  out[0] = (value >>> 24) ^ 0x80;
  out[1] = value >>> 16;
  out[2] = value >>> 8;
  out[3] = value;
  return out;
}

function decodeInt32(bytes: Uint8Array): number {
  checkLength("int32", bytes, 4);
  return ((bytes[0] ^ 0x80) << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3];
}

/**
 * 32-bit signed integers (JavaScript numbers), as 4 big-endian bytes with
 * the sign bit flipped, so byte order is numeric order.
 *
 * Rejects non-numbers with `TypeError`, and fractions, NaN, infinities and
 * values outside [-2^31, 2^31 - 1] with `RangeError`. -0 is accepted and
 * stored as 0.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { INT32 } from "./type_descriptor.ts";
 *
 * assertEquals(INT32.encode(-1), new Uint8Array([0x7f, 0xff, 0xff, 0xff]));
 * assertEquals(INT32.decode(INT32.encode(-2147483648)), -2147483648);
 * ```
 */
export const INT32: TypeDescriptor<number> = Object.freeze({
  name: "int32",
  orderPreserving: true,
  check: checkInt32,
  encode: encodeInt32,
  decode: decodeInt32,
});

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function checkInt64(value: unknown): asserts value is bigint {
  if (typeof value !== "bigint") {
    const hint = typeof value === "number" && Number.isSafeInteger(value) ? ` (write ${value}n)` : "";
    throw new TypeError(`Cannot encode int64: expected a bigint, got ${describe(value)}${hint}`);
  }
  if (value < INT64_MIN || value > INT64_MAX) {
    throw new RangeError(
      `Cannot encode int64: expected a bigint from ${INT64_MIN} to ${INT64_MAX}, got ${value}`,
    );
  }
}

function encodeInt64(value: bigint): Uint8Array {
  checkInt64(value);
  SCRATCH.setBigInt64(0, value);
  const out = new Uint8Array(8);
  out[0] = SCRATCH_BYTES[0] ^ 0x80;
  for (let i = 1; i < 8; i++) out[i] = SCRATCH_BYTES[i];
  return out;
}

function decodeInt64(bytes: Uint8Array): bigint {
  checkLength("int64", bytes, 8);
  SCRATCH_BYTES[0] = bytes[0] ^ 0x80;
  for (let i = 1; i < 8; i++) SCRATCH_BYTES[i] = bytes[i];
  return SCRATCH.getBigInt64(0);
}

/**
 * 64-bit signed integers as `bigint`, 8 big-endian bytes with the sign bit
 * flipped, so byte order is numeric order.
 *
 * Rejects numbers (write `5n` or `BigInt(5)`) and other types with
 * `TypeError`, and bigints outside [-2^63, 2^63 - 1] with `RangeError`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { INT64 } from "./type_descriptor.ts";
 *
 * assertEquals(INT64.encode(1n), new Uint8Array([0x80, 0, 0, 0, 0, 0, 0, 1]));
 * assertEquals(INT64.decode(INT64.encode(-(2n ** 63n))), -(2n ** 63n));
 * ```
 */
export const INT64: TypeDescriptor<bigint> = Object.freeze({
  name: "int64",
  orderPreserving: true,
  check: checkInt64,
  encode: encodeInt64,
  decode: decodeInt64,
});

function checkFloat64(value: unknown): asserts value is number {
  if (typeof value !== "number") {
    throw new TypeError(`Cannot encode float64: expected a number, got ${describe(value)}`);
  }
}

function encodeFloat64(value: number): Uint8Array {
  checkFloat64(value);
  const out = new Uint8Array(8);
  if (value !== value) {
    // Every NaN, whatever its sign and payload, becomes the flipped form of
    // the quiet NaN 0x7FF8000000000000: one key, sorting after +Infinity.
    out[0] = 0xff;
    out[1] = 0xf8;
    return out;
  }
  SCRATCH.setFloat64(0, value);
  // IEEE 754 bits sort like sign-magnitude integers. Flipping the sign bit of
  // positives puts them above every negative; flipping all bits of negatives
  // reverses their magnitude order. -0 (0x8000…) becomes 0x7FFF…, just below
  // +0 (0x0000… → 0x8000…).
  const rest = SCRATCH_BYTES[0] & 0x80 ? 0xff : 0x00;
  out[0] = SCRATCH_BYTES[0] ^ (rest | 0x80);
  for (let i = 1; i < 8; i++) out[i] = SCRATCH_BYTES[i] ^ rest;
  return out;
}

function decodeFloat64(bytes: Uint8Array): number {
  checkLength("float64", bytes, 8);
  const rest = bytes[0] & 0x80 ? 0x00 : 0xff;
  SCRATCH_BYTES[0] = bytes[0] ^ (rest | 0x80);
  for (let i = 1; i < 8; i++) SCRATCH_BYTES[i] = bytes[i] ^ rest;
  return SCRATCH.getFloat64(0);
}

/**
 * Any JavaScript number, as 8 bytes: the big-endian IEEE 754 double with the
 * sign bit flipped if positive and every bit flipped if negative, so byte
 * order is numeric order.
 *
 * Total order: -Infinity < negative numbers < -0 < +0 < positive numbers <
 * +Infinity < NaN. -0 and +0 are distinct keys and decode to themselves.
 * Every NaN is stored as one canonical NaN, so all NaNs are the same key.
 * Rejects non-numbers with `TypeError`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
 * import { compareBytes, FLOAT64 } from "./type_descriptor.ts";
 *
 * assertEquals(FLOAT64.encode(1), new Uint8Array([0xbf, 0xf0, 0, 0, 0, 0, 0, 0]));
 * assert(Object.is(FLOAT64.decode(FLOAT64.encode(-0)), -0));
 * assert(compareBytes(FLOAT64.encode(Infinity), FLOAT64.encode(NaN)) < 0);
 * ```
 */
export const FLOAT64: TypeDescriptor<number> = Object.freeze({
  name: "float64",
  orderPreserving: true,
  check: checkFloat64,
  encode: encodeFloat64,
  decode: decodeFloat64,
});

// ---------------------------------------------------------------------------
// bytes

function checkBytes(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`Cannot encode bytes: expected a Uint8Array, got ${describe(value)}`);
  }
}

function copyBytes(value: Uint8Array): Uint8Array {
  checkBytes(value);
  // The constructor copies, and returns a plain Uint8Array even for a Node
  // Buffer, whose slice() would share memory.
  return new Uint8Array(value);
}

/**
 * Raw bytes (`Uint8Array`, including Node's `Buffer`), stored as they are and
 * ordered as unsigned bytes, shorter prefix first. `encode` and `decode` both
 * copy, so a caller that later changes its array cannot change stored data,
 * and `decode` always returns a plain `Uint8Array`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
 * import { BYTES, compareBytes } from "./type_descriptor.ts";
 *
 * const input = new Uint8Array([1, 2]);
 * const stored = BYTES.encode(input);
 * input[0] = 9;
 * assertEquals(stored, new Uint8Array([1, 2]));
 * assert(compareBytes(BYTES.encode(new Uint8Array([0x7f])), BYTES.encode(new Uint8Array([0x80]))) < 0);
 * ```
 */
export const BYTES: TypeDescriptor<Uint8Array> = Object.freeze({
  name: "bytes",
  orderPreserving: true,
  check: checkBytes,
  encode: copyBytes,
  decode: copyBytes,
});

// ---------------------------------------------------------------------------
// json

interface JsonProblem {
  /** Steps from the problem up to the root, innermost first. */
  readonly steps: string[];
  readonly reason: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Finds the first part of `value` that `JSON.stringify` would drop, change
 * or fail on. Paths are built only on the way out of a failure, so the
 * common case allocates nothing but the ancestor stack.
 */
function findJsonProblem(value: unknown, ancestors: object[]): JsonProblem | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : { steps: [], reason: `is ${value}` };
    case "object":
      if (value === null) return undefined;
      break;
    default:
      return { steps: [], reason: `is ${describe(value)}` };
  }
  if (ancestors.includes(value)) return { steps: [], reason: "refers back to itself" };
  ancestors.push(value);
  let problem: JsonProblem | undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && problem === undefined; i++) {
      problem = findJsonProblem(value[i], ancestors);
      problem?.steps.push(`[${i}]`);
    }
  } else {
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      problem = { steps: [], reason: `is ${describe(value)}, not a plain object or array` };
    } else {
      for (const key of Object.keys(value)) {
        problem = findJsonProblem((value as Record<string, unknown>)[key], ancestors);
        if (problem !== undefined) {
          problem.steps.push(IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
          break;
        }
      }
    }
  }
  ancestors.pop();
  return problem;
}

function checkJson(value: unknown): asserts value is JsonValue {
  const problem = findJsonProblem(value, []);
  if (problem === undefined) return;
  const path = "$" + problem.steps.reverse().join("");
  throw new TypeError(
    `Cannot encode json: the value at ${path} ${problem.reason}, which JSON cannot represent`,
  );
}

function encodeJson(value: JsonValue): Uint8Array {
  const text: string | undefined = JSON.stringify(value);
  // stringify returns undefined only for undefined, functions and symbols.
  if (text === undefined) checkJson(value);
  return utf8Encode(text as string);
}

function decodeJson(bytes: Uint8Array): JsonValue {
  return JSON.parse(utf8Decode(bytes));
}

/**
 * Any JSON value (`null`, booleans, finite numbers, strings, arrays and plain
 * objects of those), stored as the UTF-8 of `JSON.stringify`. Not order
 * preserving, so usable for values only.
 *
 * `check` rejects with `TypeError` anything `JSON.stringify` would drop or
 * alter, naming where it sits: `undefined`, functions, symbols, bigints,
 * NaN and infinities, class instances such as `Date` or `Map`, and cycles.
 * Only own enumerable string-keyed properties are stored; -0 comes back as 0.
 * `encode` assumes a value that passed `check`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
 * import { JSON_VALUE } from "./type_descriptor.ts";
 *
 * const value = { name: "漢", tags: ["a", "b"], n: 1.5 };
 * assertEquals(JSON_VALUE.decode(JSON_VALUE.encode(value)), value);
 * throws(() => JSON_VALUE.check({ when: new Date(0) }), { name: "TypeError", message: /\$\.when/ });
 * ```
 */
export const JSON_VALUE: TypeDescriptor<JsonValue> = Object.freeze({
  name: "json",
  orderPreserving: false,
  check: checkJson,
  encode: encodeJson,
  decode: decodeJson,
});

// ---------------------------------------------------------------------------
// Shared helpers

const DESCRIPTOR_NAME = /^[\x21-\x7e]{1,128}$/;

const BUILT_INS: ReadonlyMap<string, TypeDescriptor<unknown>> = new Map(
  [STRING, INT32, INT64, FLOAT64, BYTES, JSON_VALUE].map((d) => [d.name, d as TypeDescriptor<unknown>]),
);

/** Names a value for an error message without printing large contents. */
function describe(value: unknown): string {
  switch (typeof value) {
    case "undefined":
      return "undefined";
    case "string":
      return "a string";
    case "number":
      return `the number ${value}`;
    case "bigint":
      return `the bigint ${value}n`;
    case "boolean":
      return `the boolean ${value}`;
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof name !== "string" || name === "" || name === "Object") return "an object";
  return `an instance of ${name}`;
}

function notBytes(descriptor: TypeDescriptor<unknown>, result: unknown): TypeError {
  return new TypeError(
    `Cannot encode with type "${descriptor.name}": encode returned ${describe(result)}, not a Uint8Array`,
  );
}
