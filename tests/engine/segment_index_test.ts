import {
  assert,
  assertEquals,
  assertGreater,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { afterAll, describe, it } from "@std/testing/bdd";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import {
  AlreadyExistsError,
  BYTES,
  ClosedError,
  ConflictError,
  CorruptionError,
  FLOAT64,
  INT32,
  INT64,
  JSON_VALUE,
  LockedError,
  MAX_KEY_BYTES,
  MemoryFileSystem,
  NodeFileSystem,
  NotFoundError,
  SegmentIndex,
  StateError,
  STRING,
  UnsupportedFormatError,
} from "../../engine/mod.ts";
import { encodeManifest } from "../../engine/format/manifest.ts";
import { writeFileAtomic } from "../../engine/fs/atomic.ts";
import { key, SMALL } from "./_index_model.ts";

async function memIndex(options = {}) {
  const fs = new MemoryFileSystem();
  const index = await SegmentIndex.create<string, string>("/db", { fs, ...options });
  return { fs, index };
}

describe("SegmentIndex basics", () => {
  it("get() sees a put() at once, without awaiting", async () => {
    const { index } = await memIndex();
    const done = index.put("a", "1");
    assertEquals(index.get("a"), "1");
    await done;
    assertEquals(index.get("missing"), undefined);
    await index.close();
  });

  it("delete() hides a key in the cache, in delta tables and in the main table", async () => {
    const { index } = await memIndex();
    index.put("a", "1");
    index.delete("a");
    assertEquals(index.get("a"), undefined);
    index.put("b", "2");
    await index.flush();
    index.delete("b");
    assertEquals(index.get("b"), undefined);
    await index.flush();
    assertEquals(index.get("b"), undefined);
    index.put("c", "3");
    await index.compact();
    index.delete("c");
    await index.flush();
    assertEquals(index.get("c"), undefined);
    assertEquals([...index.range()], []);
    await index.close();
  });

  it("batch() applies in order and rejects a bad operation before applying any", async () => {
    const { index } = await memIndex();
    await index.batch([
      { type: "put", key: "a", value: "1" },
      { type: "put", key: "b", value: "2" },
      { type: "delete", key: "a" },
    ]);
    assertEquals(index.get("a"), undefined);
    assertEquals(index.get("b"), "2");
    assertThrows(
      () =>
        index.batch([{ type: "put", key: "c", value: "3" }, {
          type: "put",
          key: 5 as unknown as string,
          value: "x",
        }]),
      TypeError,
    );
    assertEquals(index.get("c"), undefined);
    assertThrows(() => index.batch([{ type: "upsert" } as never]), TypeError, '"put" or "delete"');
    await index.close();
  });

  it("keeps data across flush, compaction, split and reopen", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create<string, string>("/db", { fs, ...SMALL });
    for (let i = 0; i < 500; i++) index.put(key(i), `v${i}`);
    for (let i = 0; i < 500; i += 3) index.delete(key(i));
    await index.compact();
    const m = index.metrics();
    assertGreater(m.split.completed, 0);
    assertGreater(m.maintenance.compactions, 0);
    assertGreater(m.segments.count, 1);
    await index.close();
    const again = await SegmentIndex.open<string, string>("/db", { fs });
    for (let i = 0; i < 500; i++) assertEquals(again.get(key(i)), i % 3 === 0 ? undefined : `v${i}`);
    assertEquals([...again.range()].length, 500 - 167);
    await again.close();
  });

  it("splits a segment far past the threshold until every segment is under it", async () => {
    const { index } = await memIndex(SMALL);
    // No turn of the event loop: only inline flushes run, so compact() meets one segment of 1,600 keys.
    for (let i = 0; i < 1600; i++) index.put(key(i), "v");
    assertEquals(index.metrics().segments.count, 1);
    await index.compact();
    const m = index.metrics();
    assertGreater(m.segments.count, 15);
    for (const [k] of index.range({ limit: 1 })) assertEquals(k, key(0));
    assertEquals([...index.range()].length, 1600);
    await index.close();
  });

  it("works on the real file system through node:fs", async () => {
    const dir = mkdtempSync(`${tmpdir()}/hestia-index-`);
    try {
      const index = await SegmentIndex.create<number, string>(`${dir}/db`, { keyType: INT32, ...SMALL });
      for (let i = -200; i < 200; i++) index.put(i, `v${i}`);
      await index.compact();
      await index.close();
      const again = await SegmentIndex.open<number, string>(`${dir}/db`, { fs: new NodeFileSystem() });
      assertEquals(again.get(-200), "v-200");
      assertEquals([...again.range({ gte: -2, lt: 2 })].map(([k]) => k), [-2, -1, 0, 1]);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("supports every built-in key type in byte order", async () => {
    const fs = new MemoryFileSystem();
    const floats = await SegmentIndex.create<number, number>("/f", {
      fs,
      keyType: FLOAT64,
      valueType: INT32,
    });
    for (const [i, k] of [-Infinity, -1.5, -0, 0, 1e-300, 2, Infinity].entries()) floats.put(k, i);
    assertEquals([...floats.range()].map(([, v]) => v), [0, 1, 2, 3, 4, 5, 6]);
    await floats.close();
    const bigs = await SegmentIndex.create<bigint, string>("/b", { fs, keyType: INT64 });
    bigs.put(-(2n ** 63n), "min");
    bigs.put(2n ** 63n - 1n, "max");
    bigs.put(0n, "zero");
    assertEquals([...bigs.range()].map(([, v]) => v), ["min", "zero", "max"]);
    await bigs.close();
    const bytes = await SegmentIndex.create("/y", { fs, keyType: BYTES, valueType: JSON_VALUE });
    bytes.put(new Uint8Array([0x80]), { n: 1 });
    bytes.put(new Uint8Array([0x7f]), [1, "two"]);
    assertEquals([...bytes.range()].map(([k]) => k[0]), [0x7f, 0x80]);
    assertEquals(bytes.get(new Uint8Array([0x80])), { n: 1 });
    await bytes.close();
  });
});

describe("SegmentIndex background flush", () => {
  it("yields while it writes, and newer writes flushed inline meanwhile stay newer", async () => {
    const { index } = await memIndex({
      segmentWriteCacheKeyLimit: 20_000,
      segmentWriteCacheKeyLimitDuringMaintenance: 24_000,
      indexBufferedWriteKeyLimit: 1_000_000,
      segmentSplitKeyThreshold: 1_000_000,
    });
    for (let i = 0; i < 20_000; i++) index.put(key(i), "old");
    // The background flush starts on the next turn of the event loop and yields after its first slice;
    // 25,000 writes then pass the during-maintenance limit and flush inline while it is still running.
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (let i = 0; i < 25_000; i++) index.put(key(i), "new");
    assertGreater(index.metrics().writePath.inlineFlushes, 0);
    await index.flush();
    for (let i = 0; i < 25_000; i += 7) assertEquals(index.get(key(i)), "new", key(i));
    assertEquals([...index.range()].filter(([, v]) => v !== "new"), []);
    await index.close();
  });
});

describe("SegmentIndex range()", () => {
  async function filled() {
    const { fs, index } = await memIndex(SMALL);
    for (let i = 0; i < 300; i++) index.put(key(i), `v${i}`);
    await index.compact();
    for (let i = 0; i < 300; i += 2) index.put(key(i), `w${i}`);
    return { fs, index };
  }

  it("honours gt, gte, lt, lte, reverse and limit across segments", async () => {
    const { index } = await filled();
    assertGreater(index.metrics().segments.count, 1);
    const keys = (o: Parameters<typeof index.range>[0]) => [...index.range(o)].map(([k]) => k);
    assertEquals(keys({ gte: key(10), lt: key(13) }), [key(10), key(11), key(12)]);
    assertEquals(keys({ gt: key(10), lte: key(13) }), [key(11), key(12), key(13)]);
    assertEquals(keys({ gt: key(10), lte: key(13), reverse: true }), [key(13), key(12), key(11)]);
    assertEquals(keys({ limit: 2, reverse: true }), [key(299), key(298)]);
    assertEquals(keys({ gte: key(5), lt: key(5) }), []);
    assertEquals(keys({ gte: key(5), lte: key(5) }), [key(5)]);
    assertEquals(keys({ gt: key(7), lt: key(3) }), []);
    assertEquals(keys({}).length, 300);
    assertEquals(keys({ reverse: true }).length, 300);
    assertEquals([...index.range({ gte: key(2), limit: 2 })], [[key(2), "w2"], [key(3), "v3"]]);
    assertThrows(() => index.range({ gt: "a", gte: "a" }), TypeError, "can't both be given");
    assertThrows(() => index.range({ limit: -1 }), RangeError);
    await index.close();
  });

  it("reads the snapshot taken at creation while writes, flushes, compactions and splits run", async () => {
    const { index } = await filled();
    const expected = [...index.range()];
    const it = index.range();
    const first = it.next();
    assertEquals(first.value, expected[0]);
    for (let i = 0; i < 600; i++) index.put(key(i), "changed");
    for (let i = 0; i < 300; i += 5) index.delete(key(i));
    await index.compact();
    await index.flush();
    const rest = [...it];
    assertEquals([first.value, ...rest], expected);
    assertEquals(index.get(key(1)), "changed");
    await index.close();
  });

  it("works with for await…of and releases its snapshot on break", async () => {
    const { index } = await filled();
    let n = 0;
    for await (const [k] of index.range({ gte: key(100) })) {
      assertEquals(k, key(100 + n));
      if (++n === 5) break;
    }
    assertEquals(index.openIterators, 0);
    const it = index.range();
    it.next();
    it.close();
    assertEquals(it.next().done, true);
    assertEquals(index.openIterators, 0);
    await index.close();
  });

  it("keeps a table on disk while an iterator reads it, and removes it after", async () => {
    const { fs, index } = await memIndex(SMALL);
    for (let i = 0; i < 50; i++) index.put(key(i), "x");
    await index.flush();
    const tablesBefore = fs.list("/db").filter((n) => n.endsWith(".chunks"));
    const it = index.range();
    await index.compact();
    for (const name of tablesBefore) assert(fs.stat(`/db/${name}`), `${name} removed under an open iterator`);
    assertEquals([...it].length, 50);
    for (const name of tablesBefore) assertEquals(fs.stat(`/db/${name}`), undefined, `${name} kept`);
    await index.close();
  });
});

describe("SegmentIndex range() reads", () => {
  it("reopens no table per range: a reopened index reads each sparse index once", async () => {
    const fs = new MemoryFileSystem();
    let index = await SegmentIndex.create<string, string>("/db", { fs, ...SMALL });
    for (let i = 0; i < 300; i++) index.put(key(i), `v${i}`);
    await index.compact();
    await index.close();
    const sparseReads = new Map<string, number>();
    const readFile = fs.readFile.bind(fs);
    fs.readFile = (path: string) => {
      if (path.endsWith(".sparse")) sparseReads.set(path, (sparseReads.get(path) ?? 0) + 1);
      return readFile(path);
    };
    index = await SegmentIndex.open<string, string>("/db", { fs });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 300; i += 7) {
        const got = [...index.range({ gte: key(i), limit: 20 })].map(([k]) => k);
        assertEquals(got, Array.from({ length: Math.min(20, 300 - i) }, (_, n) => key(i + n)));
      }
    }
    assertGreater(sparseReads.size, 1);
    for (const [path, reads] of sparseReads) assertEquals(reads, 1, path);
    await index.close();
  });

  it("returns long ranges in both directions from every start, over several tables", async () => {
    const { index } = await memIndex({ ...SMALL, chunkKeyLimit: 3 });
    for (let i = 0; i < 400; i += 2) index.put(key(i), `v${i}`);
    await index.compact();
    for (let i = 1; i < 400; i += 6) index.put(key(i), `d${i}`);
    for (let i = 0; i < 400; i += 10) index.delete(key(i));
    await index.flush();
    const all = new Map<string, string>();
    for (let i = 0; i < 400; i += 2) all.set(key(i), `v${i}`);
    for (let i = 1; i < 400; i += 6) all.set(key(i), `d${i}`);
    for (let i = 0; i < 400; i += 10) all.delete(key(i));
    const sorted = [...all].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (let i = 0; i < 400; i += 13) {
      const from = key(i);
      assertEquals(
        [...index.range({ gte: from, limit: 50 })],
        sorted.filter(([k]) => k >= from).slice(0, 50),
      );
      assertEquals(
        [...index.range({ lte: from, limit: 50, reverse: true })],
        sorted.filter(([k]) => k <= from).reverse().slice(0, 50),
      );
    }
    await index.close();
  });
});

describe("SegmentIndex lifecycle", () => {
  it("moves OPENING → READY → CLOSED; a second close() is a no-op", async () => {
    const { index } = await memIndex();
    assertEquals(index.state, "READY");
    const closing = index.close();
    assertEquals(index.close(), closing);
    await closing;
    assertEquals(index.state, "CLOSED");
    await index.close();
  });

  it("rejects every operation after close with ClosedError", async () => {
    const { index } = await memIndex();
    await index.close();
    assertThrows(() => index.get("a"), ClosedError);
    assertThrows(() => index.put("a", "b"), ClosedError);
    assertThrows(() => index.delete("a"), ClosedError);
    assertThrows(() => index.range(), ClosedError);
    await assertRejects(() => index.flush(), ClosedError);
    await assertRejects(() => index.compact(), ClosedError);
  });

  it("records openedAt from the injected clock", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create("/db", { fs, clock: () => 1234 });
    assertEquals(index.openedAt, 1234);
    await index.close();
    const again = await SegmentIndex.open("/db", { fs, clock: () => 5678 });
    assertEquals(again.openedAt, 5678);
    await again.close();
  });

  it("create() refuses an existing index; open() and tryOpen() handle a missing one", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create("/db", { fs });
    await index.close();
    await assertRejects(() => SegmentIndex.create("/db", { fs }), AlreadyExistsError);
    await assertRejects(() => SegmentIndex.open("/nothing", { fs }), NotFoundError);
    assertEquals(await SegmentIndex.tryOpen("/nothing", { fs }), undefined);
    const opened = await SegmentIndex.tryOpen("/db", { fs });
    assert(opened);
    await opened.close();
  });

  it("refuses a second opener and frees the lock on close", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create("/db", { fs });
    await assertRejects(() => SegmentIndex.open("/db", { fs }), LockedError);
    await index.close();
    const again = await SegmentIndex.open("/db", { fs });
    await again.close();
  });

  it("refuses a second opener on disk, and recovers a lock left by a crash", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create("/db", { fs });
    index.put("a", "1");
    await index.flush();
    fs.crash();
    const again = await SegmentIndex.open<string, string>("/db", { fs });
    assertEquals(again.get("a"), "1");
    await again.close();
  });

  it("refuses to reopen with different fixed options, naming the option", async () => {
    const fs = new MemoryFileSystem();
    await (await SegmentIndex.create("/db", { fs, chunkKeyLimit: 16 })).close();
    await assertRejects(
      () => SegmentIndex.open("/db", { fs, chunkKeyLimit: 32 }),
      TypeError,
      "chunkKeyLimit",
    );
    await assertRejects(() => SegmentIndex.open("/db", { fs, keyType: INT32 }), TypeError, "keyType");
    const ok = await SegmentIndex.open("/db", { fs, chunkKeyLimit: 16, keyType: STRING });
    await ok.close();
  });

  it("refuses a manifest from a newer engine and a damaged manifest", async () => {
    const fs = new MemoryFileSystem();
    await (await SegmentIndex.create("/db", { fs })).close();
    const bytes = fs.readFile("/db/MANIFEST");
    await writeFileAtomic(fs, "/db/MANIFEST", encodeManifest({ version: 99 }));
    await assertRejects(() => SegmentIndex.open("/db", { fs }), UnsupportedFormatError, "newer");
    const damaged = bytes.slice();
    damaged[damaged.length - 10] ^= 0xff;
    await writeFileAtomic(fs, "/db/MANIFEST", damaged);
    await assertRejects(() => SegmentIndex.open("/db", { fs }), CorruptionError);
  });
});

describe("SegmentIndex lookup keys", () => {
  it("a get() of a key as long as a stored one leaves the stored key and a range's bounds intact", async () => {
    const { index } = await memIndex(SMALL);
    const written = [index.put("key-1", "v1"), index.batch([{ type: "put", key: "key-3", value: "v3" }])];
    const it = index.range({ gte: "key-1", lte: "key-3" });
    assertEquals([index.get("key-2"), index.get("key-4"), index.get("key-1")], [undefined, undefined, "v1"]);
    assertEquals([...it], [["key-1", "v1"], ["key-3", "v3"]]);
    await index.flush();
    assertEquals(index.get("key-9"), undefined);
    assertEquals([...index.range()], [["key-1", "v1"], ["key-3", "v3"]]);
    await Promise.all(written);
    await index.close();
  });

  it("stores and finds non-ASCII and astral keys in the write cache, on disk and after reopening", async () => {
    const { fs, index } = await memIndex(SMALL);
    const keys = [
      "é",
      "ключ-1",
      "漢字",
      "😀",
      "a\u{10FFFF}b",
      "é".repeat(70),
      "😀".repeat(33),
      "z".repeat(64),
    ];
    for (const [i, k] of keys.entries()) index.put(k, `v${i}`);
    const check = (ix: SegmentIndex<string, string>) => {
      for (const [i, k] of keys.entries()) assertEquals(ix.get(k), `v${i}`, k);
      for (const k of ["e", "ключ-2", "漢", "😁", "é".repeat(69), "😀".repeat(32)]) {
        assertEquals(ix.get(k), undefined, k);
      }
      assertThrows(() => ix.get("a\uD800"), TypeError, "lone surrogate U+D800 at index 1");
      assertThrows(() => ix.get("x".repeat(MAX_KEY_BYTES + 1)), RangeError, "maximum");
    };
    check(index);
    await index.compact();
    check(index);
    await index.close();
    const reopened = await SegmentIndex.open<string, string>("/db", { fs });
    check(reopened);
    assertEquals([...reopened.range()].map(([k]) => k), [...keys].sort((a, b) => compareUtf8(a, b)));
    await reopened.close();
  });
});

/** Order of STRING keys: UTF-8 bytes, which is code point order. */
function compareUtf8(a: string, b: string): number {
  const [x, y] = [new TextEncoder().encode(a), new TextEncoder().encode(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

describe("SegmentIndex bad input", () => {
  it("rejects wrong types, null, undefined and oversize keys, leaving the index unchanged", async () => {
    const { index } = await memIndex();
    index.put("keep", "v");
    for (const bad of [undefined, null, 5, {}, "\ud800"]) {
      assertThrows(() => index.put(bad as unknown as string, "v"), TypeError);
      assertThrows(() => index.get(bad as unknown as string), TypeError);
    }
    assertThrows(() => index.put("k", undefined as unknown as string), TypeError);
    assertThrows(() => index.put("x".repeat(MAX_KEY_BYTES + 1), "v"), RangeError, "maximum");
    assertEquals([...index.range()], [["keep", "v"]]);
    await index.close();
  });

  it("rejects invalid options at create with the option's name", async () => {
    const fs = new MemoryFileSystem();
    await assertRejects(
      () => SegmentIndex.create("/a", { fs, chunkKeyLimit: 0 }),
      RangeError,
      "chunkKeyLimit",
    );
    await assertRejects(
      () => SegmentIndex.create("/a", { fs, segmentWriteCacheKeyLimit: 1.5 }),
      TypeError,
      "segmentWriteCacheKeyLimit",
    );
    await assertRejects(
      () => SegmentIndex.create("/a", { fs, keyType: JSON_VALUE as never }),
      TypeError,
    );
    assertEquals(fs.stat("/a"), undefined);
  });
});

describe("SegmentIndex runtime tuning", () => {
  it("reports original and current values with a revision", async () => {
    const { index } = await memIndex();
    const c = index.config();
    assertEquals(c.revision, 0);
    assertEquals(c.current, c.original);
    assert(c.supportedKeys.includes("segmentSplitKeyThreshold"));
    await index.close();
  });

  it("validates each value and the cross-key rules, including split ≥ during-maintenance", async () => {
    const { index } = await memIndex();
    assertEquals(index.validateConfig({ chunkCacheLimit: 10 }), []);
    assertEquals(index.validateConfig({ chunkCacheLimit: 0 })[0].key, "chunkCacheLimit");
    assertEquals(index.validateConfig({ nope: 1 })[0].key, "nope");
    const problems = index.validateConfig({
      segmentWriteCacheKeyLimit: 100,
      segmentWriteCacheKeyLimitDuringMaintenance: 200,
      segmentSplitKeyThreshold: 150,
    });
    assertEquals(problems.map((p) => p.key), ["segmentSplitKeyThreshold"]);
    await index.close();
  });

  it("applies atomically, bumps the revision, enforces expectedRevision and persists", async () => {
    const { fs, index } = await memIndex();
    const before = index.config();
    const err = assertThrows(
      () => index.applyConfig({ chunkCacheLimit: 5, segmentWriteCacheKeyLimitDuringMaintenance: 1 }),
      RangeError,
    );
    assertStringIncludes(err.message, "segmentWriteCacheKeyLimitDuringMaintenance");
    assertEquals(index.config(), before);
    const after = index.applyConfig({ chunkCacheLimit: 5 }, 0);
    assertEquals(after.revision, 1);
    assertEquals(after.current.chunkCacheLimit, 5);
    assertEquals(after.original.chunkCacheLimit, before.original.chunkCacheLimit);
    assertThrows(() => index.applyConfig({ chunkCacheLimit: 6 }, 0), ConflictError);
    await index.close();
    const again = await SegmentIndex.open("/db", { fs });
    assertEquals(again.config().current.chunkCacheLimit, 5);
    await again.close();
  });

  it("enforces a lowered write-cache limit and split threshold on a live index", async () => {
    const { index } = await memIndex();
    for (let i = 0; i < 400; i++) index.put(key(i), "v");
    assertEquals(index.metrics().maintenance.flushes, 0);
    index.applyConfig({
      segmentWriteCacheKeyLimit: 10,
      segmentWriteCacheKeyLimitDuringMaintenance: 20,
      indexBufferedWriteKeyLimit: 40,
      segmentSplitKeyThreshold: 100,
    });
    assertEquals(index.metrics().maintenance.flushes, 1);
    assert(index.metrics().writePath.bufferedKeys < 40);
    await index.compact();
    assertGreater(index.metrics().segments.count, 1);
    await index.close();
  });

  it("bounds buffered keys by indexBufferedWriteKeyLimit during a synchronous write loop", async () => {
    const { index } = await memIndex({ ...SMALL, segmentSplitKeyThreshold: 1_000_000 });
    let max = 0;
    for (let i = 0; i < 2000; i++) {
      index.put(key(i), "v");
      max = Math.max(max, index.metrics().writePath.bufferedKeys);
    }
    assert(max <= SMALL.indexBufferedWriteKeyLimit, `buffered ${max}`);
    await index.close();
  });
});

describe("SegmentIndex.checkAndRepairConsistency()", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("verifies a healthy index and reports what it checked", async () => {
    const { index } = await memIndex(SMALL);
    for (let i = 0; i < 300; i++) index.put(key(i), "v");
    await index.compact();
    const report = await index.checkAndRepairConsistency();
    assertEquals(report.problems, []);
    assertEquals(report.keysChecked, 300);
    assertGreater(report.tablesChecked, 1);
    await index.close();
  });

  it("rebuilds a damaged Bloom filter and sparse index, and removes orphan files", async () => {
    const { fs, index } = await memIndex(SMALL);
    for (let i = 0; i < 50; i++) index.put(key(i), "v");
    await index.flush();
    const table = fs.list("/db").find((n) => n.endsWith(".bloom"))!.replace(".bloom", "");
    for (const suffix of [".bloom", ".sparse"]) {
      const bytes = fs.readFile(`/db/${table}${suffix}`);
      bytes[bytes.length - 3] ^= 0x55;
      await writeFileAtomic(fs, `/db/${table}${suffix}`, bytes);
    }
    await writeFileAtomic(fs, "/db/999999.chunks", new Uint8Array(10));
    const report = await index.checkAndRepairConsistency();
    assertEquals(report.rebuilt.map((r) => r.file).sort(), ["bloom", "sparse"]);
    assertEquals(report.removedFiles, ["999999.chunks"]);
    assertEquals(index.state, "READY");
    for (let i = 0; i < 50; i++) assertEquals(index.get(key(i)), "v");
    assertEquals((await index.checkAndRepairConsistency()).problems, []);
    await index.close();
  });

  it("reports damaged data, moves to ERROR, and never serves it", async () => {
    const { fs, index } = await memIndex(SMALL);
    for (let i = 0; i < 50; i++) index.put(key(i), "v");
    await index.flush();
    const chunks = fs.list("/db").find((n) => n.endsWith(".chunks"))!;
    const bytes = fs.readFile(`/db/${chunks}`);
    bytes[40] ^= 0x01;
    await writeFileAtomic(fs, `/db/${chunks}`, bytes);
    const report = await index.checkAndRepairConsistency();
    assertEquals(report.problems.length, 1);
    assertStringIncludes(report.problems[0].action, "none");
    assertEquals(index.state, "ERROR");
    const err = assertThrows(() => index.get(key(1)), StateError);
    assertInstanceOf(err.cause, CorruptionError);
    const closeErr = await assertRejects(() => index.close(), StateError);
    assertInstanceOf(closeErr.cause, CorruptionError);
    assertEquals(index.state, "CLOSED");
  });
});
