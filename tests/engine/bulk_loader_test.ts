/**
 * `SegmentIndex.bulkLoad()`: sorted ingest into new segments. The contract:
 * keys strictly increasing and above every key of the index, nothing
 * visible before `commit()`, all of it durable after, a bad key rejected
 * without ending the load, a conflicting write making the commit fail with
 * nothing loaded, `abort()` and `close()` leaving no file behind. A
 * property test checks loads against a `Map` model after arbitrary writes,
 * deletes and compactions, across a reopen.
 *
 * @module
 */
import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import { BulkLoader, ClosedError, INT32, MemoryFileSystem, SegmentIndex } from "../../engine/mod.ts";
import { key, SMALL } from "./_index_model.ts";

const DIR = "/db";

function tableFiles(fs: MemoryFileSystem): string[] {
  return fs.list(DIR).filter((name) => /^\d{6,}\.(chunks|sparse|bloom)$/.test(name)).sort();
}

async function create(fs = new MemoryFileSystem(), options = {}) {
  return { fs, index: await SegmentIndex.create<string, string>(DIR, { fs, ...SMALL, ...options }) };
}

function entries(from: number, to: number, prefix = "l"): [string, string][] {
  return Array.from({ length: to - from }, (_, i) => [key(from + i), `${prefix}${from + i}`]);
}

/** Checks that the index holds `expected`, consistently, and still does after a close and reopen. */
async function assertKept(
  index: SegmentIndex<string, string>,
  fs: MemoryFileSystem,
  expected: [string, string][],
): Promise<void> {
  assertEquals([...index.range()], expected);
  assertEquals((await index.checkAndRepairConsistency()).problems, []);
  await index.close();
  const again = await SegmentIndex.open<string, string>(DIR, { fs });
  assertEquals([...again.range()], expected);
  await again.close();
}

describe("SegmentIndex.bulkLoad()", () => {
  it("fills an empty index with segments of half the split threshold, visible only after commit()", async () => {
    const { fs, index } = await create();
    const loader = index.bulkLoad();
    assert(loader instanceof BulkLoader);
    for (const [k, v] of entries(0, 230)) loader.add(k, v);
    assertEquals(loader.count, 230);
    assertEquals([...index.range()], [], "nothing visible before the commit");
    assertEquals(index.get(key(0)), undefined);
    await loader.commit();
    assertEquals([...index.range()], entries(0, 230));
    for (const [k, v] of entries(0, 230)) assertEquals(index.get(k), v);
    const m = index.metrics();
    assertEquals(m.segments.count, 5, "230 keys in tables of 50");
    assertEquals(m.operations.puts, 230);
    assertEquals(m.wal.appends, 0, "a load is not logged");
    assertEquals((await index.checkAndRepairConsistency()).problems, []);
    await index.close();
    // Durable at commit: a power loss after the close keeps all of it.
    fs.crash();
    const again = await SegmentIndex.open<string, string>(DIR, { fs });
    assertEquals([...again.range()], entries(0, 230));
    await again.close();
  });

  it("appends above tables and write caches; later writes route to the loaded segments", async () => {
    const { fs, index } = await create();
    for (const [k, v] of entries(0, 150, "a")) await index.put(k, v);
    await index.compact();
    await index.put(key(160), "buffered");
    await index.delete(key(170));
    const loader = index.bulkLoad();
    assertThrows(() => loader.add(key(170), "x"), RangeError, "above the largest key", "a tombstone counts");
    for (const [k, v] of entries(200, 320)) loader.add(k, v);
    await loader.commit();
    const expected = [...entries(0, 150, "a"), [key(160), "buffered"], ...entries(200, 320)];
    assertEquals([...index.range()], expected);
    // Writes into the loaded range and below it land where gets and ranges find them.
    await index.put(key(250), "new");
    await index.put(key(180), "between");
    await index.put(key(999), "last");
    await index.compact();
    const after = new Map(expected as [string, string][]);
    after.set(key(250), "new").set(key(180), "between").set(key(999), "last");
    const sorted = [...after].sort(([a], [b]) => (a < b ? -1 : 1));
    assertEquals([...index.range()], sorted);
    assertEquals([...index.range({ gte: key(175), lt: key(205) })], [
      [key(180), "between"],
      ...entries(200, 205),
    ]);
    await assertKept(index, fs, sorted);
  });

  it("rejects a key out of order or of the wrong type and goes on", async () => {
    const { index } = await create(new MemoryFileSystem(), { valueType: INT32 });
    const typed = index as unknown as SegmentIndex<string, number>;
    const loader = typed.bulkLoad();
    loader.add(key(10), 1);
    assertThrows(() => loader.add(key(10), 2), RangeError, "strictly increase");
    assertThrows(() => loader.add(key(5), 2), RangeError, "strictly increase");
    assertThrows(() => loader.add(key(11), "x" as unknown as number), TypeError);
    // Across a table boundary (50 keys) the previous table's last key is the bound.
    for (let i = 11; i < 60; i++) loader.add(key(i), i);
    assertThrows(() => loader.add(key(59), 0), RangeError, "above the previous key");
    loader.add(key(60), 60);
    assertEquals(loader.count, 51);
    await loader.commit();
    assertEquals(typed.get(key(10)), 1);
    assertEquals([...typed.range()].length, 51);
    await index.close();
  });

  it("encodes keys and values of any text exactly, in reused memory, and rejects lone surrogates", async () => {
    const { fs, index } = await create();
    const loader = index.bulkLoad();
    // Same lengths in a row, ASCII and not, short and past the reused-memory bound of 256 units.
    const loaded: [string, string][] = [
      ["a-0001", "x".repeat(7)],
      ["a-0002", "é".repeat(7)],
      ["a-0003", "😀 ok!!"],
      ["a-0004", "z".repeat(7)],
      ["a-é005", "漢".repeat(300)],
      ["a-😀06", "y".repeat(256)],
      ["a-😀07", "w".repeat(257)],
    ];
    for (const [k, v] of loaded) loader.add(k, v);
    assertThrows(() => loader.add("a-😀08", "bad \uD800"), TypeError, "lone surrogate");
    assertThrows(() => loader.add("a-\uDC00", "bad key"), TypeError, "lone surrogate");
    loader.add("a-😀09", "after");
    await loader.commit();
    loaded.push(["a-😀09", "after"]);
    // Code point order: "0" < "é" < "😀".
    assertEquals([...index.range()], loaded);
    for (const [k, v] of loaded) assertEquals(index.get(k), v);
    await index.close();
    const again = await SegmentIndex.open<string, string>(DIR, { fs });
    assertEquals([...again.range()], loaded);
    await again.close();
  });

  it("fails the commit with nothing loaded when a write reaches the load's range meanwhile", async () => {
    const { fs, index } = await create();
    for (const [k, v] of entries(0, 50, "a")) await index.put(k, v);
    await index.compact();
    const before = tableFiles(fs);
    const loader = index.bulkLoad();
    for (const [k, v] of entries(100, 220)) loader.add(k, v);
    await index.put(key(150), "concurrent");
    await assertRejects(() => loader.commit(), RangeError, "nothing was loaded");
    assertEquals([...index.range()], [...entries(0, 50, "a"), [key(150), "concurrent"]]);
    assertEquals(tableFiles(fs), before, "the load's files are gone");
    assertEquals(index.state, "READY");
    await assertRejects(() => loader.commit(), ClosedError);
    await index.close();
  });

  it("abort() drops the load and its files; an empty commit changes nothing", async () => {
    const { fs, index } = await create();
    const loader = index.bulkLoad();
    for (const [k, v] of entries(0, 120)) loader.add(k, v);
    assert(tableFiles(fs).length > 0, "full tables are written as the load goes");
    loader.abort();
    assertEquals(tableFiles(fs), []);
    assertThrows(() => loader.add(key(500), "x"), ClosedError);
    await assertRejects(() => loader.commit(), ClosedError);
    await index.bulkLoad().commit();
    assertEquals([...index.range()], []);
    assertEquals(index.metrics().segments.count, 1);
    await index.close();
  });

  it("close() aborts a load that has not committed, also one waiting for its syncs", async () => {
    const { fs, index } = await create();
    await index.put(key(1), "kept");
    const open = index.bulkLoad();
    for (const [k, v] of entries(10, 120)) open.add(k, v);
    const waiting = index.bulkLoad();
    waiting.add(key(5000), "w");
    // Observed from the start, so the rejection during close() is never unhandled.
    const committing = waiting.commit().then(() => undefined, (e) => e);
    await index.close();
    assertInstanceOf(await committing, ClosedError);
    assertThrows(() => open.add(key(200), "x"), ClosedError);
    assertEquals(tableFiles(fs).filter((n) => n.endsWith(".chunks")).length, 1, "only the table of the put");
    const again = await SegmentIndex.open<string, string>(DIR, { fs });
    assertEquals([...again.range()], [[key(1), "kept"]]);
    await again.close();
  });

  it("an empty last segment among others hands its bound to the loaded segments", async () => {
    const { fs, index } = await create();
    for (const [k, v] of entries(0, 150, "a")) await index.put(k, v);
    await index.compact();
    // Two segments split near the middle; empty the upper one and compact its tombstones away.
    assertEquals(index.metrics().segments.count, 2);
    for (let i = 50; i < 150; i++) await index.delete(key(i));
    await index.compact();
    assertEquals(index.metrics().segments.count, 2);
    const loader = index.bulkLoad();
    // Its lower bound, the split key, still bounds the load, though no key above 49 is left.
    assertThrows(() => loader.add(key(60), "x"), RangeError, "lower bound");
    for (const [k, v] of entries(300, 360)) loader.add(k, v);
    await loader.commit();
    assertEquals(index.metrics().segments.count, 3, "the empty segment made way for two loaded ones");
    await assertKept(index, fs, [...entries(0, 50, "a"), ...entries(300, 360)]);
  });

  it("matches a Map model after writes, deletes and compactions, across a reopen (property)", async () => {
    const seed = 0xb01c;
    console.log(`bulk load property test: fast-check seed ${seed}`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(300), fc.boolean(), fc.boolean()), { maxLength: 200 }),
        fc.nat(200),
        fc.nat(20),
        async (writes, loadCount, gap) => {
          const { fs, index } = await create();
          const model = new Map<number, string>();
          for (const [i, isDelete, compact] of writes) {
            if (isDelete) {
              await index.delete(key(i));
              model.delete(i);
            } else {
              await index.put(key(i), `w${i}`);
              model.set(i, `w${i}`);
            }
            if (compact) await index.compact();
          }
          // Deleted keys still bound the load until compacted away, so start above every written key.
          let start = gap;
          for (const [i] of writes) start = Math.max(start, i + 1 + gap);
          const loader = index.bulkLoad();
          for (let i = start; i < start + loadCount; i++) {
            loader.add(key(i), `l${i}`);
            model.set(i, `l${i}`);
          }
          await loader.commit();
          const expected = [...model].sort(([a], [b]) => a - b).map(([i, v]) => [key(i), v]);
          assertEquals([...index.range()], expected);
          assertEquals([...index.range({ reverse: true })], [...expected].reverse());
          for (const [i, v] of model) assertEquals(index.get(key(i)), v);
          await index.close();
          const again = await SegmentIndex.open<string, string>(DIR, { fs });
          assertEquals([...again.range()], expected);
          assertEquals((await again.checkAndRepairConsistency()).problems, []);
          await again.close();
        },
      ),
      { seed, numRuns: 60 },
    );
  });
});
