import {
  assert,
  assertEquals,
  assertFalse,
  AssertionError,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { crc32c } from "../../../engine/_crc32c.ts";
import { CorruptionError, UnsupportedFormatError } from "../../../engine/errors.ts";
import { MemoryFileSystem } from "../../../engine/fs/mem_fs.ts";
import { FILE_HEADER_SIZE, FileKind, writeFileHeader } from "../../../engine/format/file_header.ts";
import {
  CHECKPOINT_FILE,
  CHECKPOINT_SIZE,
  decodeCheckpoint,
  decodeRecord,
  encodeCheckpoint,
  encodeRecord,
  type InvalidRecord,
  logFileName,
  MAX_RECORD_SIZE,
  MIN_RECORD_BODY,
  parseLogFileName,
  RECORD_PREFIX_SIZE,
  recordSize,
  type WalOp,
  writeRecord,
} from "../../../engine/wal/wal_format.ts";
import { WriteAheadLog } from "../../../engine/wal/write_ahead_log.ts";
import { assertGolden } from "../../_golden.ts";

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** The fixed writes of the golden log: single ops, an atomic batch, an empty value, a non-ASCII key. */
const FIXTURE: readonly WalOp[][] = [
  [{ type: "put", key: utf8("apple"), value: utf8("red") }],
  [{ type: "delete", key: utf8("avocado") }],
  [
    { type: "put", key: utf8("banana"), value: utf8("yellow") },
    { type: "put", key: utf8("band"), value: new Uint8Array(0) },
    { type: "delete", key: utf8("cherry") },
  ],
  [{ type: "put", key: new Uint8Array([0x63, 0xff]), value: new Uint8Array([0, 1, 2]) }],
];

const opArbitrary: fc.Arbitrary<WalOp> = fc.oneof(
  fc.record({
    type: fc.constant("put" as const),
    key: fc.uint8Array({ maxLength: 40 }),
    value: fc.uint8Array({ maxLength: 300 }),
  }),
  fc.record({ type: fc.constant("delete" as const), key: fc.uint8Array({ maxLength: 40 }) }),
);

/** Decodes `bytes` as a record and fails unless they are invalid. */
function invalidRecord(bytes: Uint8Array, what: string): InvalidRecord {
  const decoded = decodeRecord(bytes, 0);
  if (decoded.ok) throw new AssertionError(`${what}: decoded as a valid record`);
  return decoded;
}

/** Recomputes a record's CRC after a test edited its bytes on purpose. */
function reseal(record: Uint8Array): Uint8Array {
  const crc = crc32c(record, crc32c(record, 0, 0, 4), RECORD_PREFIX_SIZE, record.length);
  new DataView(record.buffer, record.byteOffset).setUint32(4, crc, true);
  return record;
}

describe("logFileName() and parseLogFileName()", () => {
  it("name a file after its first LSN, zero-padded to 20 digits, and read it back", () => {
    assertEquals(logFileName(1), "00000000000000000001.log");
    assertEquals(logFileName(Number.MAX_SAFE_INTEGER), "00009007199254740991.log");
    for (const lsn of [1, 42, 1e12, Number.MAX_SAFE_INTEGER]) {
      assertEquals(parseLogFileName(logFileName(lsn)), lsn);
    }
  });

  it("sort in LSN order as strings", () => {
    const lsns = [9, 10, 100, 99, 1e15, 2];
    const names = lsns.map(logFileName).sort();
    assertEquals(names.map(parseLogFileName), [...lsns].sort((a, b) => a - b));
  });

  it("reject names that are not log files", () => {
    for (
      const name of [
        CHECKPOINT_FILE,
        "CHECKPOINT.tmp",
        "1.log",
        "00000000000000000000.log",
        "000000000000000000001.log",
        "00000000000000000001.log.tmp",
        "99999999999999999999.log",
      ]
    ) {
      assertEquals(parseLogFileName(name), undefined, name);
    }
  });
});

describe("encodeRecord()", () => {
  it("lays out length, CRC, LSN, type, op count and ops as documented", () => {
    const record = encodeRecord(0x1_0000_0002, [
      { type: "put", key: utf8("k"), value: utf8("vv") },
      { type: "delete", key: new Uint8Array(0) },
    ]);
    const view = new DataView(record.buffer);
    assertEquals(record.length, 8 + 8 + 1 + 1 + (1 + 1 + 1 + 1 + 2) + (1 + 1));
    assertEquals(view.getUint32(0, true), record.length - RECORD_PREFIX_SIZE);
    assertEquals(view.getUint32(4, true), crc32c(record, crc32c(record, 0, 0, 4), 8, record.length));
    assertEquals(view.getUint32(8, true), 2);
    assertEquals(view.getUint32(12, true), 1);
    assertEquals(Array.from(record.subarray(16)), [1, 2, 1, 1, 0x6b, 2, 0x76, 0x76, 2, 0]);
  });

  it("round-trips any batch through decodeRecord()", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.array(opArbitrary, { minLength: 1, maxLength: 8 }),
        (lsn, ops) => {
          const record = encodeRecord(lsn, ops);
          const decoded = decodeRecord(record, 0);
          assert(decoded.ok);
          assertEquals(decoded.lsn, lsn);
          assertEquals(decoded.size, record.length);
          assertEquals(
            decoded.ops,
            ops.map(({ type, key, value }) => type === "put" ? { type, key, value } : { type, key }),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it("matches writeRecord() at any offset of a larger buffer, leaving the bytes around it alone", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.array(opArbitrary, { minLength: 1, maxLength: 8 }),
        fc.nat({ max: 40 }),
        (lsn, ops, offset) => {
          const record = encodeRecord(lsn, ops);
          const size = recordSize(ops);
          assertEquals(size, record.length);
          const target = new Uint8Array(offset + size + 7).fill(0xee);
          writeRecord(target, offset, lsn, ops, size);
          assertEquals(target.subarray(offset, offset + size), record);
          assert(target.subarray(0, offset).every((byte) => byte === 0xee));
          assert(target.subarray(offset + size).every((byte) => byte === 0xee));
        },
      ),
      { numRuns: 200 },
    );
    const ops: WalOp[] = [{ type: "delete", key: new Uint8Array(3) }];
    assertThrows(
      () => writeRecord(new Uint8Array(10), 0, 1, ops, recordSize(ops)),
      RangeError,
      "does not fit",
    );
  });

  it("throws TypeError for an empty or malformed batch", () => {
    const key = utf8("k");
    for (
      const [ops, message] of [
        [[], "at least one op"],
        [[{ type: "put", key }], "needs a Uint8Array value"],
        [[{ type: "delete", key, value: key }], "carries no value"],
        [[{ type: "merge", key }], 'must be "put" or "delete"'],
        [[{ type: "delete", key: "k" }], "key must be a Uint8Array"],
        [[null], "must be an object"],
      ] as const
    ) {
      assertThrows(() => encodeRecord(1, ops as unknown as WalOp[]), TypeError, message);
    }
  });

  it("throws RangeError for a bad LSN or a record above 64 MiB", () => {
    const ops: WalOp[] = [{ type: "delete", key: new Uint8Array(0) }];
    for (const lsn of [0, -1, 1.5, 2 ** 53]) assertThrows(() => encodeRecord(lsn, ops), RangeError, "LSN");
    const big = new Uint8Array(MAX_RECORD_SIZE);
    assertThrows(
      () => encodeRecord(1, [{ type: "put", key: new Uint8Array(0), value: big }]),
      RangeError,
      "exceeds",
    );
  });
});

describe("decodeRecord()", () => {
  const record = encodeRecord(5, FIXTURE[2]);

  it("reads a record at any offset of a larger buffer", () => {
    const bytes = new Uint8Array(record.length + 10);
    bytes.set(record, 7);
    const decoded = decodeRecord(bytes.subarray(0, 7 + record.length), 7);
    assert(decoded.ok);
    assertEquals(decoded.lsn, 5);
    assertEquals(decoded.ops.length, 3);
  });

  it("reports a record cut short at any byte as torn", () => {
    for (let end = 0; end < record.length; end++) {
      const decoded = invalidRecord(record.subarray(0, end), `cut at ${end}`);
      assert(decoded.torn, `cut at ${end}: ${decoded.reason}`);
    }
  });

  it("detects every flipped byte", () => {
    for (let at = 0; at < record.length; at++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const damaged = record.slice();
        damaged[at] ^= mask;
        invalidRecord(damaged, `byte ${at} ^ ${mask}`);
      }
    }
  });

  it("refuses lengths outside the format's bounds without reading further", () => {
    const tooShort = record.slice();
    new DataView(tooShort.buffer).setUint32(0, MIN_RECORD_BODY - 1, true);
    const tooLong = record.slice();
    new DataView(tooLong.buffer).setUint32(0, MAX_RECORD_SIZE, true);
    for (const damaged of [tooShort, tooLong, new Uint8Array(64)]) {
      const decoded = invalidRecord(damaged, "bad length");
      assertFalse(decoded.torn);
      assertStringIncludes(decoded.reason, "outside");
    }
  });

  it("refuses a body that is malformed behind a valid checksum", () => {
    const base = encodeRecord(3, [{ type: "put", key: utf8("k"), value: utf8("v") }]);
    const cases: [string, (bytes: Uint8Array) => Uint8Array][] = [
      ["unknown record type 9", (b) => (b[16] = 9, b)],
      ["no ops", (b) => (b[17] = 0, b)],
      ["unknown kind 7", (b) => (b[18] = 7, b)],
      ["malformed key", (b) => (b[19] = 0x7f, b)],
      ["malformed value", (b) => (b[21] = 0x7f, b)],
      ["exceeds 2^53-1", (b) => (new DataView(b.buffer).setUint32(12, 0x20_0000, true), b)],
      ["1 bytes follow", (b) => {
        const longer = new Uint8Array(b.length + 1);
        longer.set(b);
        new DataView(longer.buffer).setUint32(0, longer.length - RECORD_PREFIX_SIZE, true);
        return longer;
      }],
      ["ends after 1 of 2 ops", (b) => (b[17] = 2, b)],
    ];
    for (const [reason, edit] of cases) {
      const decoded = invalidRecord(reseal(edit(base.slice())), reason);
      assertFalse(decoded.torn, reason);
      assertStringIncludes(decoded.reason, reason);
    }
  });
});

describe("encodeCheckpoint() and decodeCheckpoint()", () => {
  it("round-trip any LSN in a 28-byte file", () => {
    for (const lsn of [0, 1, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
      const bytes = encodeCheckpoint(lsn);
      assertEquals(bytes.length, CHECKPOINT_SIZE);
      assertEquals(decodeCheckpoint(bytes, "/db/wal/CHECKPOINT"), lsn);
    }
  });

  it("throws CorruptionError for every flipped byte and a wrong size", () => {
    const bytes = encodeCheckpoint(77);
    for (let at = 0; at < bytes.length; at++) {
      const damaged = bytes.slice();
      damaged[at] ^= 0x10;
      assertThrows(() => decodeCheckpoint(damaged, "cp"), CorruptionError);
    }
    for (const size of [0, 15, 16, 27, 29]) {
      const resized = new Uint8Array(size);
      resized.set(bytes.subarray(0, size));
      assertThrows(() => decodeCheckpoint(resized, "cp"), CorruptionError);
    }
  });

  it("throws UnsupportedFormatError for a newer version or another kind", () => {
    const body = encodeCheckpoint(9).subarray(FILE_HEADER_SIZE);
    for (const header of [writeFileHeader(FileKind.CHECKPOINT, 2), writeFileHeader(FileKind.WAL)]) {
      const bytes = new Uint8Array(CHECKPOINT_SIZE);
      bytes.set(header);
      bytes.set(body, FILE_HEADER_SIZE);
      assertThrows(() => decodeCheckpoint(bytes, "cp"), UnsupportedFormatError);
    }
  });
});

describe("WAL golden files", () => {
  it("a small log and its checkpoint match the golden bytes", async () => {
    const fs = new MemoryFileSystem();
    const { wal } = await WriteAheadLog.open(fs, "/db", { durability: "sync" }, () => {});
    for (const ops of FIXTURE) await wal.append(ops).durable;
    await wal.checkpoint(2);
    await wal.close();
    assertEquals(fs.list("/db/wal"), [logFileName(1), CHECKPOINT_FILE]);
    assertGolden(
      new URL("./testdata/small_log_v1.bin", import.meta.url),
      fs.readFile(`/db/wal/${logFileName(1)}`),
    );
    assertGolden(new URL("./testdata/checkpoint_v1.bin", import.meta.url), fs.readFile("/db/wal/CHECKPOINT"));
  });

  it("the golden log replays the fixture", async () => {
    const fs = new MemoryFileSystem();
    fs.mkdir("/db/wal");
    const golden = readFileSync(new URL("./testdata/small_log_v1.bin", import.meta.url));
    const file = fs.open(`/db/wal/${logFileName(1)}`, "create");
    file.append(new Uint8Array(golden));
    file.close();
    const replayed: WalOp[][] = [];
    const { report } = await WriteAheadLog.open(fs, "/db", {}, (_, ops) => replayed.push(ops));
    assertEquals(replayed, FIXTURE);
    assertEquals(report.lastLsn, 4);
  });
});
