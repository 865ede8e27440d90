import { assert, assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import {
  assertKeyDescriptor,
  assertValueDescriptor,
  BYTES,
  compareBytes,
  descriptorByName,
  encodeCopiedValue,
  encodeKey,
  encodeLookupKey,
  encodeValue,
  FLOAT64,
  INT32,
  INT64,
  JSON_VALUE,
  type JsonValue,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  STRING,
  type TypeDescriptor,
} from "../../engine/type_descriptor.ts";

const KEY_DESCRIPTORS = [STRING, INT32, INT64, FLOAT64, BYTES] as TypeDescriptor<unknown>[];
const ALL_DESCRIPTORS = [...KEY_DESCRIPTORS, JSON_VALUE as TypeDescriptor<unknown>];

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Independent model of unsigned lexicographic order: hex digits compare like the bytes they spell. */
function hexOrder(a: Uint8Array, b: Uint8Array): number {
  const hex = (x: Uint8Array) => Array.from(x, (v) => v.toString(16).padStart(2, "0")).join("");
  const [ha, hb] = [hex(a), hex(b)];
  return ha < hb ? -1 : ha > hb ? 1 : 0;
}

function codePointOrder(a: string, b: string): number {
  const pa = Array.from(a, (c) => c.codePointAt(0)!);
  const pb = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i] - pb[i];
  }
  return pa.length - pb.length;
}

function numericOrder<T extends number | bigint>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The documented float64 order: -0 just below +0, every NaN equal and above +Infinity. */
function float64Order(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number(Number.isNaN(a)) - Number(Number.isNaN(b));
  if (a === 0 && b === 0) return Number(Object.is(b, -0)) - Number(Object.is(a, -0));
  return numericOrder(a, b);
}

function assertSameOrder<T>(descriptor: TypeDescriptor<T>, order: (a: T, b: T) => number, a: T, b: T): void {
  const actual = Math.sign(compareBytes(descriptor.encode(a), descriptor.encode(b)));
  const expected = Math.sign(order(a, b));
  assertStrictEquals(actual, expected, `${descriptor.name} order of ${String(a)} and ${String(b)}`);
}

/** JSON has no -0: `JSON.stringify(-0)` is "0". */
function withoutNegativeZero(value: JsonValue): JsonValue {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (typeof value === "object" && value !== null) {
    const copy: { [key: string]: JsonValue } = {};
    for (const key of Object.keys(value)) {
      Object.defineProperty(copy, key, {
        value: withoutNegativeZero(value[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return copy;
  }
  return value;
}

const SPECIAL_DOUBLES = [
  0,
  -0,
  Infinity,
  -Infinity,
  NaN,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  2.2250738585072009e-308, // largest subnormal
  2.2250738585072014e-308, // smallest normal
  -2.2250738585072009e-308,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  1,
  -1,
];

describe("compareBytes()", () => {
  it("orders unsigned bytes ascending and a prefix first", () => {
    assert(compareBytes(bytes(0x7f), bytes(0x80)) < 0);
    assert(compareBytes(bytes(0xff), bytes(0x00)) > 0);
    assert(compareBytes(bytes(), bytes(0)) < 0);
    assert(compareBytes(bytes(1, 2), bytes(1, 2, 0)) < 0);
    assert(compareBytes(bytes(1, 3), bytes(1, 2, 0xff)) > 0);
    assertStrictEquals(compareBytes(bytes(4, 5, 6), bytes(4, 5, 6)), 0);
    assertStrictEquals(compareBytes(bytes(), bytes()), 0);
  });

  it("agrees with a hex-string model and is antisymmetric", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), fc.uint8Array({ maxLength: 12 }), (a, b) => {
        const sign = Math.sign(compareBytes(a, b));
        assertStrictEquals(sign, hexOrder(a, b));
        assertStrictEquals(Math.sign(compareBytes(b, a)), -sign || 0);
      }),
      { numRuns: 500 },
    );
  });

  it("compares views by their own bytes, not the underlying buffer", () => {
    const buffer = bytes(9, 1, 2, 9);
    assertStrictEquals(compareBytes(buffer.subarray(1, 3), bytes(1, 2)), 0);
  });
});

describe("STRING", () => {
  it("STRING.encode() writes golden UTF-8 bytes", () => {
    assertEquals(STRING.encode(""), bytes());
    assertEquals(STRING.encode("a"), bytes(0x61));
    assertEquals(STRING.encode("é"), bytes(0xc3, 0xa9));
    assertEquals(STRING.encode("漢"), bytes(0xe6, 0xbc, 0xa2));
    assertEquals(STRING.encode("😀"), bytes(0xf0, 0x9f, 0x98, 0x80));
    assertEquals(STRING.encode("\u{10FFFF}"), bytes(0xf4, 0x8f, 0xbf, 0xbf));
    assertEquals(STRING.encode("\uFEFFx"), bytes(0xef, 0xbb, 0xbf, 0x78));
  });

  it("STRING round-trips text the reference's ISO-8859-1 type turned into '?'", () => {
    for (const text of ["é", "漢", "😀", "\uFEFF", "\0", "e\u0301", "👩‍👩‍👧"]) {
      assertStrictEquals(STRING.decode(STRING.encode(text)), text);
    }
  });

  it("STRING round-trips arbitrary graphemes and code points, short and long", () => {
    const text = fc.oneof(
      fc.string({ unit: "grapheme" }),
      fc.string({ unit: "binary" }),
      fc.string({ unit: "binary", minLength: 200, maxLength: 600 }),
      fc.string({ unit: "grapheme-ascii", minLength: 10, maxLength: 70 }),
    );
    fc.assert(
      fc.property(text, (value) => {
        const encoded = STRING.encode(value);
        assertEquals(encoded, utf8(value));
        assertStrictEquals(STRING.decode(encoded), value);
      }),
      { numRuns: 400 },
    );
  });

  it("STRING byte order is code point order", () => {
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 6 }),
      fc.string({ unit: "grapheme", maxLength: 6 }),
    );
    fc.assert(fc.property(text, text, (a, b) => assertSameOrder(STRING, codePointOrder, a, b)), {
      numRuns: 500,
    });
  });

  it("STRING sorts astral characters after U+E000–U+FFFF, unlike JavaScript's <", () => {
    assert("\u{10000}" < "\uE000");
    assert(compareBytes(STRING.encode("\uE000"), STRING.encode("\u{10000}")) < 0);
    assert(compareBytes(STRING.encode("\uFFFD"), STRING.encode("😀")) < 0);
  });

  it("STRING.check() rejects lone surrogates instead of writing U+FFFD", () => {
    assertThrows(() => STRING.check("\uD800"), TypeError, "lone surrogate U+D800 at index 0");
    assertThrows(() => STRING.check("a\uDC00b"), TypeError, "lone surrogate U+DC00 at index 1");
    assertThrows(() => STRING.check("😀\uDE00"), TypeError, "lone surrogate U+DE00 at index 2");
    assertThrows(() => STRING.encode("x\uDBFF"), TypeError, "lone surrogate U+DBFF at index 1");
    assertThrows(() => STRING.encode("y".repeat(300) + "\uD800"), TypeError, "at index 300");
  });

  it("STRING.encode() either round-trips arbitrary UTF-16 or throws TypeError, never replaces", () => {
    const unit = fc.oneof(
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
      fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
    );
    const text = fc.oneof(
      fc.string({ unit, maxLength: 8 }),
      fc.string({ unit, minLength: 257, maxLength: 300 }),
    );
    fc.assert(
      fc.property(text, (value) => {
        if (value.isWellFormed()) {
          assertStrictEquals(STRING.decode(STRING.encode(value)), value);
        } else {
          assertThrows(() => STRING.check(value), TypeError, "lone surrogate");
          assertThrows(() => STRING.encode(value), TypeError, "lone surrogate");
        }
      }),
      { numRuns: 300 },
    );
  });

  it("STRING.check() rejects values that are not strings", () => {
    assertThrows(() => STRING.check(undefined), TypeError, "expected a string, got undefined");
    assertThrows(() => STRING.check(null), TypeError, "got null");
    assertThrows(() => STRING.check(1), TypeError, "got the number 1");
    assertThrows(() => STRING.check(new String("x")), TypeError, "got an instance of String");
  });

  it("STRING.decode() matches a fatal TextDecoder on arbitrary bytes, short and long", () => {
    const reference = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const byte = fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0, max: 0xff }));
    const input = fc.oneof(
      fc.array(byte, { maxLength: 20 }),
      fc.array(fc.integer({ min: 0, max: 0x7f }), { maxLength: 40 }),
      fc.string({ unit: "binary", maxLength: 12 }).map((text) => [...utf8(text)]),
      // Longer than the ASCII fast path, with any bytes after it, or with a real U+FFFD in the text.
      fc.tuple(fc.array(fc.integer({ min: 0, max: 0x7f }), { minLength: 17, maxLength: 40 }), fc.array(byte))
        .map(([ascii, rest]) => [...ascii, ...rest]),
      fc.string({ unit: "binary", maxLength: 12 }).map((text) => [...utf8(`${"x".repeat(17)}${text}\uFFFD`)]),
    ).map((list) => new Uint8Array(list));
    fc.assert(
      fc.property(input, (bytes) => {
        let want: string | undefined;
        try {
          want = reference.decode(bytes);
        } catch {
          want = undefined;
        }
        if (want === undefined) assertThrows(() => STRING.decode(bytes), TypeError, "not valid UTF-8");
        else assertStrictEquals(STRING.decode(bytes), want);
      }),
      { numRuns: 1000 },
    );
  });

  it("STRING.decode() rejects bytes that are not UTF-8", () => {
    for (
      const bad of [bytes(0xff), bytes(0xc3), bytes(0xc0, 0x80), bytes(0xed, 0xa0, 0x80), bytes(0x61, 0x80)]
    ) {
      assertThrows(() => STRING.decode(bad), TypeError, "not valid UTF-8");
    }
    assertThrows(() => STRING.decode(new Uint8Array(40).fill(0xfe)), TypeError, "not valid UTF-8");
  });
});

describe("INT32", () => {
  it("INT32.encode() writes golden big-endian sign-flipped bytes", () => {
    assertEquals(INT32.encode(-2147483648), bytes(0x00, 0x00, 0x00, 0x00));
    assertEquals(INT32.encode(-1), bytes(0x7f, 0xff, 0xff, 0xff));
    assertEquals(INT32.encode(0), bytes(0x80, 0x00, 0x00, 0x00));
    assertEquals(INT32.encode(1), bytes(0x80, 0x00, 0x00, 0x01));
    assertEquals(INT32.encode(0x01020304), bytes(0x81, 0x02, 0x03, 0x04));
    assertEquals(INT32.encode(2147483647), bytes(0xff, 0xff, 0xff, 0xff));
  });

  it("INT32 round-trips every int32", () => {
    const value = fc.oneof(
      fc.integer(),
      fc.constantFrom(-2147483648, -2147483647, -1, 0, 1, 2147483646, 2147483647),
    );
    fc.assert(fc.property(value, (v) => assertStrictEquals(INT32.decode(INT32.encode(v)), v)), {
      numRuns: 300,
    });
  });

  it("INT32 byte order is numeric order", () => {
    const value = fc.oneof(
      fc.integer(),
      fc.integer({ min: -3, max: 3 }),
      fc.constantFrom(-2147483648, 2147483647),
    );
    fc.assert(fc.property(value, value, (a, b) => assertSameOrder(INT32, numericOrder, a, b)), {
      numRuns: 500,
    });
  });

  it("INT32 sorts -2^31 before 2^31-1, where the reference's a - b overflows", () => {
    assert(compareBytes(INT32.encode(-2147483648), INT32.encode(2147483647)) < 0);
    assert(compareBytes(INT32.encode(-2), INT32.encode(2147483647)) < 0);
    assert(compareBytes(INT32.encode(2147483647), INT32.encode(-2147483648)) > 0);
  });

  it("INT32.encode() stores -0 as 0", () => {
    assertEquals(INT32.encode(-0), INT32.encode(0));
    assert(Object.is(INT32.decode(INT32.encode(-0)), 0));
  });

  it("INT32.check() rejects other types with TypeError", () => {
    assertThrows(() => INT32.check(undefined), TypeError, "expected a number, got undefined");
    assertThrows(() => INT32.check(null), TypeError, "got null");
    assertThrows(() => INT32.check("1"), TypeError, "got a string");
    assertThrows(() => INT32.check(1n), TypeError, "got the bigint 1n");
  });

  it("INT32.check() rejects fractions, NaN, infinities and out-of-range numbers with RangeError", () => {
    for (const bad of [1.5, NaN, Infinity, -Infinity, 2147483648, -2147483649, 2 ** 53]) {
      assertThrows(() => INT32.check(bad), RangeError, "expected an integer from -2147483648 to 2147483647");
      assertThrows(() => INT32.encode(bad), RangeError, `got ${bad}`);
    }
  });

  it("INT32.decode() rejects a wrong length", () => {
    assertThrows(() => INT32.decode(bytes(0x80, 0, 0)), RangeError, "expected 4 bytes, got 3");
    assertThrows(() => INT32.decode(bytes(0x80, 0, 0, 0, 0)), RangeError, "expected 4 bytes, got 5");
  });
});

describe("INT64", () => {
  it("INT64.encode() writes golden big-endian sign-flipped bytes", () => {
    assertEquals(INT64.encode(-(2n ** 63n)), bytes(0, 0, 0, 0, 0, 0, 0, 0));
    assertEquals(INT64.encode(-1n), bytes(0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
    assertEquals(INT64.encode(0n), bytes(0x80, 0, 0, 0, 0, 0, 0, 0));
    assertEquals(INT64.encode(0x0102030405060708n), bytes(0x81, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08));
    assertEquals(INT64.encode(2n ** 63n - 1n), bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
  });

  it("INT64 round-trips every int64", () => {
    const value = fc.oneof(
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      fc.constantFrom(-(2n ** 63n), -(2n ** 63n) + 1n, -1n, 0n, 1n, 2n ** 63n - 2n, 2n ** 63n - 1n),
    );
    fc.assert(fc.property(value, (v) => assertStrictEquals(INT64.decode(INT64.encode(v)), v)), {
      numRuns: 300,
    });
  });

  it("INT64 byte order is numeric order", () => {
    const value = fc.oneof(
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      fc.bigInt({ min: -300n, max: 300n }),
      fc.constantFrom(-(2n ** 63n), 2n ** 63n - 1n),
    );
    fc.assert(fc.property(value, value, (a, b) => assertSameOrder(INT64, numericOrder, a, b)), {
      numRuns: 500,
    });
  });

  it("INT64.check() rejects numbers and other types with TypeError", () => {
    assertThrows(() => INT64.check(5), TypeError, "expected a bigint, got the number 5 (write 5n)");
    assertThrows(() => INT64.check(1.5), TypeError, "got the number 1.5");
    assertThrows(() => INT64.check(undefined), TypeError, "got undefined");
    assertThrows(() => INT64.check("5"), TypeError, "got a string");
  });

  it("INT64.check() rejects bigints outside [-2^63, 2^63-1] with RangeError", () => {
    assertThrows(() => INT64.check(2n ** 63n), RangeError, "got 9223372036854775808");
    assertThrows(
      () => INT64.encode(-(2n ** 63n) - 1n),
      RangeError,
      "from -9223372036854775808 to 9223372036854775807",
    );
  });

  it("INT64.decode() rejects a wrong length", () => {
    assertThrows(() => INT64.decode(bytes(0x80, 0, 0, 0)), RangeError, "expected 8 bytes, got 4");
  });
});

describe("FLOAT64", () => {
  it("FLOAT64.encode() writes golden order-preserving bytes", () => {
    assertEquals(FLOAT64.encode(-Infinity), bytes(0x00, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
    assertEquals(FLOAT64.encode(-1), bytes(0x40, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
    assertEquals(FLOAT64.encode(-0), bytes(0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
    assertEquals(FLOAT64.encode(0), bytes(0x80, 0, 0, 0, 0, 0, 0, 0));
    assertEquals(FLOAT64.encode(Number.MIN_VALUE), bytes(0x80, 0, 0, 0, 0, 0, 0, 0x01));
    assertEquals(FLOAT64.encode(1), bytes(0xbf, 0xf0, 0, 0, 0, 0, 0, 0));
    assertEquals(FLOAT64.encode(Infinity), bytes(0xff, 0xf0, 0, 0, 0, 0, 0, 0));
    assertEquals(FLOAT64.encode(NaN), bytes(0xff, 0xf8, 0, 0, 0, 0, 0, 0));
  });

  it("FLOAT64 round-trips every double, keeping -0 and NaN", () => {
    const value = fc.oneof(
      fc.double(),
      fc.constantFrom(...SPECIAL_DOUBLES),
      fc.double({ min: -1e-307, max: 1e-307 }),
    );
    fc.assert(
      fc.property(
        value,
        (v) => assert(Object.is(FLOAT64.decode(FLOAT64.encode(v)), v), `round trip of ${v}`),
      ),
      { numRuns: 500 },
    );
  });

  it("FLOAT64 byte order is numeric, with -0 before +0 and NaN after +Infinity", () => {
    const value = fc.oneof(fc.double(), fc.constantFrom(...SPECIAL_DOUBLES), fc.integer().map((i) => i / 7));
    fc.assert(fc.property(value, value, (a, b) => assertSameOrder(FLOAT64, float64Order, a, b)), {
      numRuns: 800,
    });
    const sorted = [
      -Infinity,
      -Number.MAX_VALUE,
      -1,
      -Number.MIN_VALUE,
      -0,
      0,
      Number.MIN_VALUE,
      1,
      Infinity,
      NaN,
    ];
    for (let i = 1; i < sorted.length; i++) {
      assert(
        compareBytes(FLOAT64.encode(sorted[i - 1]), FLOAT64.encode(sorted[i])) < 0,
        `${sorted[i - 1]} < ${sorted[i]}`,
      );
    }
  });

  it("FLOAT64.encode() gives every NaN bit pattern the same canonical bytes", () => {
    const view = new DataView(new ArrayBuffer(8));
    for (
      const [high, low] of [[0xfff80000, 0], [0x7ff00000, 1], [0x7fffffff, 0xffffffff], [0xfff00000, 0x10]]
    ) {
      view.setUint32(0, high);
      view.setUint32(4, low);
      const nan = view.getFloat64(0);
      assert(Number.isNaN(nan));
      assertEquals(FLOAT64.encode(nan), bytes(0xff, 0xf8, 0, 0, 0, 0, 0, 0));
    }
  });

  it("FLOAT64.check() rejects values that are not numbers", () => {
    assertThrows(() => FLOAT64.check(undefined), TypeError, "expected a number, got undefined");
    assertThrows(() => FLOAT64.check("1.5"), TypeError, "got a string");
    assertThrows(() => FLOAT64.check(1n), TypeError, "got the bigint 1n");
    assertThrows(() => FLOAT64.encode(null as unknown as number), TypeError, "got null");
  });

  it("FLOAT64.decode() rejects a wrong length", () => {
    assertThrows(() => FLOAT64.decode(bytes()), RangeError, "expected 8 bytes, got 0");
  });
});

describe("BYTES", () => {
  it("BYTES.encode() stores bytes unchanged", () => {
    assertEquals(BYTES.encode(bytes()), bytes());
    assertEquals(BYTES.encode(bytes(0x00, 0x7f, 0x80, 0xff)), bytes(0x00, 0x7f, 0x80, 0xff));
  });

  it("BYTES round-trips arbitrary arrays", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (v) => assertEquals(BYTES.decode(BYTES.encode(v)), v)),
    );
  });

  it("BYTES byte order is unsigned lexicographic order", () => {
    const value = fc.uint8Array({ maxLength: 6 });
    fc.assert(fc.property(value, value, (a, b) => assertSameOrder(BYTES, hexOrder, a, b)), { numRuns: 500 });
  });

  it("BYTES sorts 0x7f before 0x80, where the reference sorts bytes descending", () => {
    assert(compareBytes(BYTES.encode(bytes(0x7f)), BYTES.encode(bytes(0x80))) < 0);
    assert(compareBytes(BYTES.encode(bytes(0x00)), BYTES.encode(bytes(0xff))) < 0);
  });

  it("BYTES.encode() and BYTES.decode() copy, so callers cannot change stored data", () => {
    const input = bytes(1, 2, 3);
    const stored = BYTES.encode(input);
    input[0] = 9;
    assertEquals(stored, bytes(1, 2, 3));
    const output = BYTES.decode(stored);
    output[1] = 9;
    assertEquals(stored, bytes(1, 2, 3));
  });

  it("BYTES.encode() copies only a view's bytes and returns a plain Uint8Array", () => {
    class Chunk extends Uint8Array {}
    const view = new Chunk([7, 1, 2, 7]).subarray(1, 3);
    const stored = BYTES.encode(view);
    assertStrictEquals(stored.constructor, Uint8Array);
    assertStrictEquals(stored.byteOffset, 0);
    assertStrictEquals(stored.buffer.byteLength, 2);
    assertEquals(Array.from(stored), [1, 2]);
    assertStrictEquals(BYTES.decode(stored).constructor, Uint8Array);
  });

  it("BYTES.check() rejects everything but a Uint8Array", () => {
    assertThrows(() => BYTES.check(undefined), TypeError, "expected a Uint8Array, got undefined");
    assertThrows(() => BYTES.check([1, 2]), TypeError, "got an array");
    assertThrows(() => BYTES.check(new ArrayBuffer(2)), TypeError, "got an instance of ArrayBuffer");
    assertThrows(
      () => BYTES.check(new Uint8ClampedArray(2)),
      TypeError,
      "got an instance of Uint8ClampedArray",
    );
    assertThrows(() => BYTES.check("ab"), TypeError, "got a string");
  });
});

describe("JSON_VALUE", () => {
  it("JSON_VALUE.encode() writes golden JSON text as UTF-8", () => {
    assertEquals(JSON_VALUE.encode({ a: 1, b: [true, null] }), utf8('{"a":1,"b":[true,null]}'));
    assertEquals(JSON_VALUE.encode("é"), bytes(0x22, 0xc3, 0xa9, 0x22));
    assertEquals(JSON_VALUE.encode(null), utf8("null"));
    assertEquals(JSON_VALUE.encode(-0), utf8("0"));
  });

  it("JSON_VALUE round-trips every JSON value, -0 coming back as 0", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const json = value as JsonValue;
        JSON_VALUE.check(json);
        assertEquals(JSON_VALUE.decode(JSON_VALUE.encode(json)), withoutNegativeZero(json));
      }),
      { numRuns: 300 },
    );
  });

  it("JSON_VALUE keeps lone surrogates, which JSON.stringify escapes", () => {
    assertStrictEquals(JSON_VALUE.decode(JSON_VALUE.encode("a\uD800")), "a\uD800");
  });

  it("JSON_VALUE.check() accepts a shared object that is not a cycle", () => {
    const shared = { x: 1 };
    JSON_VALUE.check({ a: shared, b: [shared, shared] });
    JSON_VALUE.check(Object.assign(Object.create(null), { a: 1 }));
  });

  it("JSON_VALUE.check() rejects what JSON cannot represent, naming where it is", () => {
    const cycle: Record<string, unknown> = { a: [] };
    (cycle.a as unknown[]).push(cycle);
    const cases: [unknown, string][] = [
      [undefined, "the value at $ is undefined, which JSON cannot represent"],
      [() => 1, "$ is a function"],
      [Symbol("s"), "$ is a symbol"],
      [1n, "$ is the bigint 1n"],
      [NaN, "$ is NaN"],
      [-Infinity, "$ is -Infinity"],
      [{ a: undefined }, "$.a is undefined"],
      [[1, undefined], "$[1] is undefined"],
      // deno-lint-ignore no-sparse-arrays
      [[, 1], "$[0] is undefined"],
      [{ "x y": [new Date(0)] }, '$["x y"][0] is an instance of Date, not a plain object or array'],
      [{ m: new Map() }, "$.m is an instance of Map"],
      [{ n: { deep: [0, { f: Infinity }] } }, "$.n.deep[1].f is Infinity"],
      [{ toJSON: () => "x" }, "$.toJSON is a function"],
      [cycle, "$.a[0] refers back to itself"],
    ];
    for (const [value, message] of cases) {
      assertThrows(() => JSON_VALUE.check(value), TypeError, message);
    }
  });

  it("JSON_VALUE.encode() rejects undefined even without check()", () => {
    assertThrows(() => JSON_VALUE.encode(undefined as unknown as JsonValue), TypeError, "$ is undefined");
  });

  it("JSON_VALUE.decode() rejects text that is not JSON", () => {
    assertThrows(() => JSON_VALUE.decode(utf8("{")), SyntaxError);
  });

  it("JSON_VALUE is not order preserving and cannot be a key type", () => {
    assertStrictEquals(JSON_VALUE.orderPreserving, false);
    assertThrows(
      () => assertKeyDescriptor(JSON_VALUE as TypeDescriptor<unknown>),
      TypeError,
      'Cannot use type "json" for keys: its encoding does not preserve order',
    );
  });
});

describe("encodeKey() and encodeValue()", () => {
  it("encodeKey() accepts a key of exactly MAX_KEY_BYTES and rejects one byte more", () => {
    assertStrictEquals(MAX_KEY_BYTES, 16384);
    assertStrictEquals(encodeKey(BYTES, new Uint8Array(MAX_KEY_BYTES)).length, MAX_KEY_BYTES);
    assertStrictEquals(encodeKey(STRING, "é".repeat(MAX_KEY_BYTES / 2)).length, MAX_KEY_BYTES);
    assertThrows(
      () => encodeKey(STRING, "é".repeat(MAX_KEY_BYTES / 2) + "a"),
      RangeError,
      "Key is 16385 bytes after encoding; the maximum is 16384 bytes",
    );
    assertThrows(
      () => encodeKey(STRING, "x".repeat(20000)),
      RangeError,
      "Key is 20000 bytes after encoding; the maximum is 16384 bytes",
    );
  });

  it("encodeValue() accepts a value of exactly MAX_VALUE_BYTES and rejects one byte more", () => {
    assertStrictEquals(MAX_VALUE_BYTES, 16777216);
    assertStrictEquals(encodeValue(BYTES, new Uint8Array(MAX_VALUE_BYTES)).length, MAX_VALUE_BYTES);
    assertThrows(
      () => encodeValue(BYTES, new Uint8Array(MAX_VALUE_BYTES + 1)),
      RangeError,
      "Value is 16777217 bytes after encoding; the maximum is 16777216 bytes",
    );
  });

  it("encodeKey() and encodeValue() reject a wrong type before calling encode()", () => {
    let encodes = 0;
    const counting: TypeDescriptor<string> = {
      ...STRING,
      name: "test/counting",
      encode: (v) => (encodes++, STRING.encode(v)),
    };
    for (const bad of [undefined, null, 42]) {
      assertThrows(() => encodeKey(counting, bad), TypeError, "expected a string");
      assertThrows(() => encodeValue(counting, bad), TypeError, "expected a string");
    }
    assertThrows(() => encodeKey(INT32, 0.5), RangeError, "got 0.5");
    assertStrictEquals(encodes, 0);
  });

  it("encodeKey() and encodeValue() reject a custom encode() that returns no Uint8Array", () => {
    const broken = { ...STRING, name: "test/broken", encode: () => [1, 2] as unknown as Uint8Array };
    assertThrows(() => encodeKey(broken, "a"), TypeError, 'type "test/broken": encode returned an array');
    assertThrows(() => encodeValue(broken, "a"), TypeError, "not a Uint8Array");
  });

  it("encodeKey() encodes every built-in key type like its descriptor", () => {
    assertEquals(encodeKey(STRING, "k"), STRING.encode("k"));
    assertEquals(encodeKey(INT32, -1), INT32.encode(-1));
    assertEquals(encodeKey(INT64, 1n), INT64.encode(1n));
    assertEquals(encodeKey(FLOAT64, -0), FLOAT64.encode(-0));
    assertEquals(encodeKey(BYTES, bytes(1)), bytes(1));
    assertEquals(encodeValue(JSON_VALUE, { a: [1] }), utf8('{"a":[1]}'));
  });
});

/** The encoders into reused memory, each against the encoder it stands in for. */
const REUSED_ENCODERS = [
  { name: "encodeLookupKey", reused: encodeLookupKey, plain: encodeKey, units: 64, maxBytes: MAX_KEY_BYTES },
  {
    name: "encodeCopiedValue",
    reused: encodeCopiedValue,
    plain: encodeValue,
    units: 256,
    maxBytes: MAX_VALUE_BYTES,
  },
] as const;

for (const { name, reused, plain, units, maxBytes } of REUSED_ENCODERS) {
  describe(`${name}()`, () => {
    /** The message `fn` throws, with its class. */
    function thrown(fn: () => unknown): string {
      try {
        fn();
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
      return "nothing";
    }

    it(`gives ${plain.name}()'s bytes for ASCII, non-ASCII and astral text, short and long`, () => {
      const texts = [
        "",
        "key-000000000042",
        "é",
        "naïve-ключ",
        "漢字",
        "😀",
        "a😀b\u{10FFFF}",
        "\u0080\u07FF\u0800\uFFFF",
      ];
      texts.push(
        "x".repeat(units),
        "x".repeat(60) + "é",
        "é" + "x".repeat(60),
        "é".repeat(units),
        "😀".repeat(units / 2),
        "x".repeat(units + 1),
        "é".repeat(units + 1),
        "😀".repeat(units / 2 + 8),
      );
      for (const text of texts) assertEquals(reused(STRING, text), plain(STRING, text), text);
    });

    it(`throws what ${plain.name}() throws: lone surrogates, wrong types, text over its byte limit`, () => {
      const bad: unknown[] = [
        "\uD800",
        "a\uDC00b",
        "😀\uDE00",
        "x\uDBFF",
        "y".repeat(units + 6) + "\uD800",
        "y".repeat(60) + "\uD800",
        42,
        null,
        undefined,
      ];
      bad.push(new String("x"), "x".repeat(maxBytes + 1));
      for (const text of bad) {
        const expected = thrown(() => plain(STRING, text));
        assert(expected !== "nothing");
        assertEquals(thrown(() => reused(STRING, text)), expected);
      }
    });

    it(`matches ${plain.name}() on arbitrary UTF-16, lone surrogates included`, () => {
      const unit = fc.oneof(
        fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
        fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
        fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }),
      );
      fc.assert(
        fc.property(fc.string({ unit, maxLength: units + 6 }), (text) => {
          assertEquals(thrown(() => reused(STRING, text)), thrown(() => plain(STRING, text)));
          if (text.isWellFormed()) assertEquals(reused(STRING, text), plain(STRING, text));
        }),
        { numRuns: 500 },
      );
    });

    it("reuses memory for STRING text of the same encoded length, and a new array for other types", () => {
      const first = reused(STRING, "key-1");
      assertStrictEquals(reused(STRING, "key-2"), first);
      assertEquals(first, utf8("key-2"));
      assert(reused(STRING, "é") !== first);
      assert(reused(INT32, 1) !== reused(INT32, 1));
      assertEquals(reused(INT64, -1n), INT64.encode(-1n));
    });
  });
}

it("encodeLookupKey() and encodeCopiedValue() never hand out the same memory", () => {
  const key = encodeLookupKey(STRING, "same-length");
  const value = encodeCopiedValue(STRING, "other-value");
  assert(key !== value);
  assertEquals([key, value], [utf8("same-length"), utf8("other-value")]);
});

describe("descriptor checks and lookup", () => {
  it("assertKeyDescriptor() accepts every order-preserving built-in", () => {
    for (const descriptor of KEY_DESCRIPTORS) assertKeyDescriptor(descriptor);
  });

  it("assertValueDescriptor() rejects malformed descriptors", () => {
    const base = STRING as TypeDescriptor<unknown>;
    const cases: [unknown, string][] = [
      [undefined, "expected an object, got undefined"],
      [{ ...base, name: "" }, 'got ""'],
      [{ ...base, name: "my app/uuid" }, 'got "my app/uuid"'],
      [{ ...base, name: "x".repeat(129) }, "1 to 128 printable ASCII characters"],
      [{ ...base, name: 7 }, "got the number 7"],
      [{ ...base, orderPreserving: "yes" }, 'type "string": orderPreserving must be a boolean'],
      [{ ...base, decode: undefined }, 'type "string": decode must be a function'],
    ];
    for (const [descriptor, message] of cases) {
      assertThrows(() => assertValueDescriptor(descriptor as TypeDescriptor<unknown>), TypeError, message);
      assertThrows(() => assertKeyDescriptor(descriptor as TypeDescriptor<unknown>), TypeError, message);
    }
    assertValueDescriptor({ ...base, name: "x".repeat(128) });
  });

  it("descriptorByName() finds every built-in by its name and nothing else", () => {
    const names = ALL_DESCRIPTORS.map((d) => d.name);
    assertEquals(names, ["string", "int32", "int64", "float64", "bytes", "json"]);
    for (const descriptor of ALL_DESCRIPTORS) {
      assertStrictEquals(descriptorByName(descriptor.name), descriptor);
    }
    for (const name of ["myapp/uuid", "String", "toString", "__proto__", ""]) {
      assertStrictEquals(descriptorByName(name), undefined);
    }
  });

  it("built-in descriptors are frozen", () => {
    for (const descriptor of ALL_DESCRIPTORS) {
      assert(Object.isFrozen(descriptor), descriptor.name);
      assertThrows(() => {
        (descriptor as { encode: unknown }).encode = () => bytes();
      }, TypeError);
    }
  });

  it("a custom descriptor following the contract works as a key type", () => {
    // Dates ordered by time, reusing the float64 encoding of the epoch milliseconds.
    const date: TypeDescriptor<Date> = {
      name: "test/date",
      orderPreserving: true,
      check(value: unknown): asserts value is Date {
        if (!(value instanceof Date)) throw new TypeError("Cannot encode test/date: expected a Date");
        if (Number.isNaN(value.getTime())) throw new RangeError("Cannot encode test/date: invalid Date");
      },
      encode: (value) => FLOAT64.encode(value.getTime()),
      decode: (encoded) => new Date(FLOAT64.decode(encoded)),
    };
    assertKeyDescriptor(date as TypeDescriptor<unknown>);
    const earlier = encodeKey(date, new Date("1969-12-31T00:00:00Z"));
    const later = encodeKey(date, new Date("2026-01-01T00:00:00Z"));
    assert(compareBytes(earlier, later) < 0);
    assertEquals(date.decode(later), new Date("2026-01-01T00:00:00Z"));
    assertThrows(() => encodeKey(date, "2026-01-01"), TypeError, "expected a Date");
    assertThrows(() => encodeKey(date, new Date("nope")), RangeError, "invalid Date");
  });
});
