import { assert, assertEquals } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { MemoryFileSystem, SegmentIndex } from "../../engine/mod.ts";
import { key } from "./_index_model.ts";

// Write caches large enough that only flush() and compact() write tables, so each test controls them.
const OPTIONS = {
  segmentWriteCacheKeyLimit: 200,
  segmentWriteCacheKeyLimitDuringMaintenance: 300,
  indexBufferedWriteKeyLimit: 1000,
  segmentSplitKeyThreshold: 400,
  deltaFileLimit: 8,
  chunkKeyLimit: 8,
};

function tableFiles(fs: MemoryFileSystem): string[] {
  return fs.list("/db").filter((name) => name.endsWith(".chunks")).sort();
}

async function load(
  index: SegmentIndex<string, string>,
  from: number,
  to: number,
  value = "v",
): Promise<void> {
  await index.batch(
    Array.from(
      { length: to - from },
      (_, i) => ({ type: "put" as const, key: key(from + i), value: value + (from + i) }),
    ),
  );
}

async function indexWithMain(
  keys: number,
): Promise<{ fs: MemoryFileSystem; index: SegmentIndex<string, string> }> {
  const fs = new MemoryFileSystem();
  const index = await SegmentIndex.create<string, string>("/db", { fs, ...OPTIONS });
  await load(index, 0, keys);
  await index.compact();
  assertEquals(tableFiles(fs).length, 1);
  return { fs, index };
}

describe("SegmentIndex compaction of an ascending load", () => {
  it("splits after the main table's last key instead of rewriting it", async () => {
    const { fs, index } = await indexWithMain(160);
    const [main] = tableFiles(fs);
    await load(index, 160, 280);
    await index.flush();
    await load(index, 280, 360);
    await index.compact();
    const m = index.metrics();
    assertEquals(m.segments.count, 2);
    assertEquals(m.split.completed, 1);
    assertEquals(m.maintenance.compactions, 2);
    const files = tableFiles(fs);
    assertEquals(files.length, 2);
    assert(files.includes(main), "the main table is kept as the lower segment's");
    assertEquals([...index.range()].map(([k]) => k), Array.from({ length: 360 }, (_, i) => key(i)));
    await index.close();
    const again = await SegmentIndex.open<string, string>("/db", { fs });
    for (let i = 0; i < 360; i++) assertEquals(again.get(key(i)), "v" + i);
    assertEquals([...again.range({ gt: key(158), lte: key(161) })].map(([k]) => k), [
      key(159),
      key(160),
      key(161),
    ]);
    await again.close();
  });

  it("merges normally when a delta overlaps the main table", async () => {
    const { fs, index } = await indexWithMain(160);
    const [main] = tableFiles(fs);
    await index.batch([{ type: "put", key: key(159), value: "new" }, {
      type: "put",
      key: key(250),
      value: "v250",
    }]);
    await index.compact();
    assertEquals(index.metrics().segments.count, 1);
    assertEquals(index.metrics().split.completed, 0);
    assert(!tableFiles(fs).includes(main), "the main table was rewritten");
    assertEquals(index.get(key(159)), "new");
    assertEquals(index.get(key(250)), "v250");
    assertEquals([...index.range()].length, 161);
    await index.close();
  });

  it("merges normally when the main table is under a quarter of the split threshold", async () => {
    const { index } = await indexWithMain(80);
    await load(index, 80, 240);
    await index.compact();
    assertEquals(index.metrics().segments.count, 1);
    assertEquals([...index.range()].length, 240);
    await index.close();
  });

  it("drops tombstones above the main table and keeps the newest value", async () => {
    const { index } = await indexWithMain(160);
    await load(index, 160, 240, "old");
    await index.flush();
    await index.batch([
      { type: "delete", key: key(165) },
      { type: "put", key: key(166), value: "new" },
      { type: "delete", key: key(500) },
    ]);
    await index.compact();
    assertEquals(index.metrics().segments.count, 2);
    assertEquals(index.get(key(165)), undefined);
    assertEquals(index.get(key(166)), "new");
    assertEquals(index.get(key(167)), "old167");
    assertEquals(index.get(key(500)), undefined);
    assertEquals([...index.range({ gte: key(160) })].length, 79);
    await index.close();
  });

  it("partitions writes that arrive during the compaction between the two halves", async () => {
    const { index } = await indexWithMain(160);
    await load(index, 160, 280);
    const compacted = index.compact();
    // Applied before the worker runs: they sit in the write cache when the segment splits.
    const writes = index.batch([
      { type: "put", key: key(3), value: "low" },
      { type: "put", key: key(159), value: "edge" },
      { type: "put", key: key(160), value: "high" },
      { type: "put", key: key(900), value: "top" },
      { type: "delete", key: key(10) },
    ]);
    await Promise.all([compacted, writes]);
    assertEquals(index.metrics().segments.count, 2);
    assertEquals(index.get(key(3)), "low");
    assertEquals(index.get(key(159)), "edge");
    assertEquals(index.get(key(160)), "high");
    assertEquals(index.get(key(900)), "top");
    assertEquals(index.get(key(10)), undefined);
    assertEquals([...index.range()].length, 280);
    await index.compact();
    assertEquals([...index.range({ lte: key(159) })].length, 159);
    await index.close();
  });

  it("leaves an open iterator on the snapshot it took", async () => {
    const { index } = await indexWithMain(160);
    await load(index, 160, 240);
    const iterator = index.range();
    assertEquals(iterator.next().value, [key(0), "v0"]);
    await index.compact();
    await load(index, 240, 280);
    index.delete(key(1));
    assertEquals(index.metrics().segments.count, 2);
    const rest = [...iterator].map(([k]) => k);
    assertEquals(rest, Array.from({ length: 239 }, (_, i) => key(i + 1)));
    assertEquals([...index.range()].length, 279);
  });

  it("recovers the split and later logged writes after a crash", async () => {
    const { fs, index } = await indexWithMain(160);
    await load(index, 160, 240);
    await index.compact();
    assertEquals(index.metrics().segments.count, 2);
    await load(index, 240, 245);
    await index.put(key(7), "after");
    fs.crash();
    const again = await SegmentIndex.open<string, string>("/db", { fs });
    assertEquals(again.metrics().segments.count, 2);
    assertEquals([...again.range()].length, 245);
    assertEquals(again.get(key(7)), "after");
    assertEquals(again.get(key(244)), "v244");
    await again.close();
  });
});
