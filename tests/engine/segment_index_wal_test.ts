import {
  assert,
  assertEquals,
  assertGreater,
  assertInstanceOf,
  assertLessOrEqual,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import {
  CorruptionError,
  MemoryFileSystem,
  SegmentIndex,
  StateError,
  UnsupportedFormatError,
} from "../../engine/mod.ts";
import { crc32c } from "../../engine/_crc32c.ts";
import { FaultFileSystem } from "../../engine/fs/fault_fs.ts";
import { writeFileAtomic } from "../../engine/fs/atomic.ts";

function key(i: number): string {
  return `key-${String(i).padStart(6, "0")}`;
}

async function contents(fs: MemoryFileSystem | FaultFileSystem): Promise<[string, string][]> {
  const index = await SegmentIndex.open<string, string>("/db", { fs });
  const all = [...index.range()];
  await index.close();
  return all;
}

describe("SegmentIndex with its write-ahead log", () => {
  for (const durability of ["sync", "group"] as const) {
    it(`keeps every write whose promise resolved across a crash (${durability})`, async () => {
      const fs = new MemoryFileSystem();
      const index = await SegmentIndex.create<string, string>("/db", { fs, durability });
      await index.put("before", "flush");
      await index.flush();
      const acks = [];
      for (let i = 0; i < 200; i++) acks.push(index.put(key(i), `v${i}`));
      await index.delete(key(7));
      await Promise.all(acks);
      await index.batch([{ type: "put", key: "b1", value: "x" }, { type: "delete", key: key(8) }]);
      fs.crash();
      const again = await SegmentIndex.open<string, string>("/db", { fs });
      assertGreater(again.recovery!.replayedRecords, 0);
      assertEquals(again.get("before"), "flush");
      assertEquals(again.get(key(7)), undefined);
      assertEquals(again.get(key(8)), undefined);
      assertEquals(again.get(key(199)), "v199");
      assertEquals(again.get("b1"), "x");
      assertEquals([...again.range()].length, 1 + 200 - 2 + 1);
      await again.close();
    });
  }

  it("shares fsyncs between writers of the same moment in group mode", async () => {
    const inner = new MemoryFileSystem();
    const fs = new FaultFileSystem(inner);
    const index = await SegmentIndex.create<string, string>("/db", { fs, durability: "group" });
    fs.resetCounts();
    await Promise.all(Array.from({ length: 500 }, (_, i) => index.put(key(i), "v")));
    assertLessOrEqual(fs.counts().sync, 5);
    assertEquals(index.metrics().wal.appends, 500);
    await index.close();
  });

  it("with durability none, loses at most a tail of writes in a crash, never reorders or invents", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create<string, string>("/db", { fs, durability: "none" });
    for (let i = 0; i < 50; i++) await index.put(key(i), "v");
    await index.flush();
    for (let i = 50; i < 100; i++) await index.put(key(i), "v");
    fs.crash();
    const survived = (await contents(fs)).map(([k]) => k);
    assertGreater(survived.length, 49);
    assertEquals(survived, Array.from({ length: survived.length }, (_, i) => key(i)));
  });

  it("without a log, keeps only what a flush made durable", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create<string, string>("/db", { fs, wal: false });
    await index.put("a", "1");
    await index.flush();
    await index.put("b", "2");
    assertEquals(index.metrics().wal.enabled, false);
    fs.crash();
    assertEquals(await contents(fs), [["a", "1"]]);
  });

  it("refuses to reopen with another durability or log setting", async () => {
    const fs = new MemoryFileSystem();
    await (await SegmentIndex.create("/db", { fs, durability: "sync" })).close();
    await assertRejects(() => SegmentIndex.open("/db", { fs, durability: "group" }), TypeError, "durability");
    await assertRejects(() => SegmentIndex.open("/db", { fs, wal: false }), TypeError, "wal");
    await assertRejects(() => SegmentIndex.create("/x", { fs, durability: "fast" as never }), TypeError);
  });

  it("checkpoints after a flush, so the log files it covered are removed", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create<string, string>("/db", { fs, walSegmentBytes: 4096 });
    for (let i = 0; i < 500; i++) await index.put(key(i), "x".repeat(50));
    assertGreater(fs.list("/db/wal").filter((n) => n.endsWith(".log")).length, 5);
    await index.flush();
    const wal = index.metrics().wal;
    assertEquals(wal.checkpointLsn, wal.appliedLsn);
    assertLessOrEqual(fs.list("/db/wal").filter((n) => n.endsWith(".log")).length, 1);
    await index.close();
    const again = await SegmentIndex.open<string, string>("/db", { fs });
    assertEquals(again.recovery!.replayedRecords, 0);
    assertEquals([...again.range()].length, 500);
    await again.close();
  });

  it("holds writers back while the log is over its retention limit, keeping it bounded", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create<string, string>("/db", {
      fs,
      walSegmentBytes: 8 * 1024,
      walMaxRetainedBytes: 64 * 1024,
    });
    let max = 0;
    for (let i = 0; i < 3000; i++) {
      await index.put(key(i), "y".repeat(100));
      max = Math.max(max, index.metrics().wal.retainedBytes);
    }
    assertLessOrEqual(max, 64 * 1024 + 8 * 1024 + 256);
    assertGreater(index.metrics().maintenance.flushes, 0);
    await index.close();
    assertEquals((await contents(fs)).length, 3000);
  });

  it("keeps acknowledged writes when it crashes in the middle of a flush", async () => {
    for (let crashAfter = 1; crashAfter < 40; crashAfter += 3) {
      const inner = new MemoryFileSystem();
      const fs = new FaultFileSystem(inner);
      const index = await SegmentIndex.create<string, string>("/db", { fs, segmentWriteCacheKeyLimit: 50 });
      for (let i = 0; i < 120; i++) await index.put(key(i), `v${i}`);
      // Every file operation after the Nth fails, as if the machine stopped there.
      fs.failOn({ nth: crashAfter, times: Infinity });
      await index.flush().catch(() => {});
      await index.close().catch(() => {});
      fs.clearFaults();
      inner.crash();
      const got = await contents(inner);
      assertEquals(got.length, 120, `crash after ${crashAfter} operations`);
      assertEquals(got[119], [key(119), "v119"]);
    }
  });

  it("checkpoints only what tables hold, never writes still buffered", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create<string, string>("/db", { fs });
    for (let i = 0; i < 50; i++) await index.put(key(i), "flushed");
    await index.flush();
    for (let i = 50; i < 80; i++) await index.put(key(i), "buffered");
    // A configuration change commits the manifest while those writes are still only in the log.
    index.applyConfig({ chunkCacheLimit: 100 });
    const commits = index.metrics().maintenance.commits;
    while (index.metrics().maintenance.commits === commits) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assertEquals(index.metrics().writePath.bufferedKeys, 30);
    assertEquals(index.metrics().wal.checkpointLsn, 50);
    fs.crash();
    assertEquals((await contents(fs)).length, 80);
  });

  it("moves to ERROR on a failed log fsync, rejects the write, and refuses every later write", async () => {
    const inner = new MemoryFileSystem();
    const fs = new FaultFileSystem(inner);
    const index = await SegmentIndex.create<string, string>("/db", { fs, durability: "sync" });
    await index.put("safe", "1");
    fs.failOn({ op: "sync", path: /\.log$/ });
    await assertRejects(() => index.put("lost", "2"));
    const err = assertThrows(() => index.put("later", "3"), StateError);
    assertEquals(err.state, "ERROR");
    assertEquals(index.state, "ERROR");
    await assertRejects(() => index.close(), StateError);
    fs.clearFaults();
    inner.crash();
    assertEquals((await contents(inner)).find(([k]) => k === "safe"), ["safe", "1"]);
  });

  it("cuts a damaged log tail by default and reports it; fail-fast refuses to open", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create<string, string>("/db", { fs });
    for (let i = 0; i < 20; i++) await index.put(key(i), "v");
    fs.crash();
    const log = fs.list("/db/wal").find((n) => n.endsWith(".log"))!;
    const bytes = fs.readFile(`/db/wal/${log}`);
    bytes[bytes.length - 5] ^= 0xff;
    await writeFileAtomic(fs, `/db/wal/${log}`, bytes);
    const err = await assertRejects(
      () => SegmentIndex.open("/db", { fs, walCorruptionPolicy: "fail-fast" }),
      CorruptionError,
    );
    assert(err.file.endsWith(log));
    const again = await SegmentIndex.open<string, string>("/db", { fs });
    assertGreater(again.recovery!.droppedBytes, 0);
    assertEquals([...again.range()].length, 19);
    await again.close();
  });

  it("applies a batch atomically after a torn log write", async () => {
    const inner = new MemoryFileSystem();
    const fs = new FaultFileSystem(inner);
    const index = await SegmentIndex.create<string, string>("/db", { fs, durability: "sync" });
    await index.put("first", "1");
    fs.failOn({ op: "append", path: /\.log$/, torn: 10 });
    // The log buffers the record: the write, torn, happens in the sync round the batch waits for.
    await assertRejects(() =>
      index.batch([{ type: "put", key: "a", value: "1" }, { type: "put", key: "b", value: "2" }])
    );
    assertInstanceOf(assertThrows(() => index.get("a")), StateError);
    await assertRejects(() => index.close(), StateError);
    fs.clearFaults();
    inner.crash();
    assertEquals(await contents(inner), [["first", "1"]]);
  });

  it("refuses to open, changing nothing, when its log or checkpoint is of a newer format", async () => {
    for (const target of ["log", "CHECKPOINT"]) {
      const fs = new MemoryFileSystem();
      const index = await SegmentIndex.create<string, string>("/db", { fs });
      for (let i = 0; i < 20; i++) await index.put(key(i), "v");
      if (target === "CHECKPOINT") await index.flush();
      fs.crash();
      const name = target === "log" ? fs.list("/db/wal").find((n) => n.endsWith(".log"))! : "CHECKPOINT";
      const path = `/db/wal/${name}`;
      // Raise the header's format version (bytes 6–7) and reseal its checksum, as a newer engine would write it.
      const bytes = fs.readFile(path);
      bytes[6] = 2;
      new DataView(bytes.buffer, bytes.byteOffset).setUint32(12, crc32c(bytes, 0, 0, 12), true);
      await writeFileAtomic(fs, path, bytes);
      const before = fs.list("/db/wal").map((n) => [n, fs.readFile(`/db/wal/${n}`).length]);
      const err = await assertRejects(() => SegmentIndex.open("/db", { fs }), UnsupportedFormatError);
      assert(err.file.endsWith(name), err.message);
      assertEquals(fs.list("/db/wal").map((n) => [n, fs.readFile(`/db/wal/${n}`).length]), before);
    }
  });
});
