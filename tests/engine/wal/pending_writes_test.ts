import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { IoError, StateError } from "../../../engine/errors.ts";
import { FaultFileSystem } from "../../../engine/fs/fault_fs.ts";
import type { FileSystem } from "../../../engine/fs/file_system.ts";
import { MemoryFileSystem } from "../../../engine/fs/mem_fs.ts";
import { FILE_HEADER_SIZE } from "../../../engine/format/file_header.ts";
import { logFileName, parseLogFileName, recordSize } from "../../../engine/wal/wal_format.ts";
import { PENDING_LIMIT_BYTES } from "../../../engine/wal/write_ahead_log.ts";
import { DIR, newFs, openWal, put, WAL } from "./_helpers.ts";

const FIRST = `${WAL}/${logFileName(1)}`;

/** Size of the records `put(key-i, value)` for i in [from, to). */
function putBytes(from: number, to: number, value: string): number {
  let total = 0;
  for (let i = from; i < to; i++) total += recordSize(put(`key-${i}`, value));
  return total;
}

/**
 * What the OS holds of the log right now, as a fresh file system: the state a
 * process killed at this instant leaves behind (its pending bytes are gone).
 */
async function killImage(fs: FileSystem): Promise<MemoryFileSystem> {
  const image = new MemoryFileSystem();
  image.mkdir(DIR);
  image.mkdir(WAL);
  for (const name of fs.list(WAL)) {
    const handle = image.open(`${WAL}/${name}`, "create");
    handle.append(fs.readFile(`${WAL}/${name}`));
    await handle.sync();
    handle.close();
  }
  await image.syncDir(WAL);
  await image.syncDir(DIR);
  await image.syncDir("/");
  return image;
}

describe("WriteAheadLog pending writes", () => {
  it("writes the records appended in one turn with one write system call per sync round", async () => {
    for (const durability of ["group", "sync"] as const) {
      const fs = new FaultFileSystem(await newFs());
      const { wal } = await openWal(fs, { durability });
      fs.resetCounts();
      const durable = [];
      for (let i = 0; i < 100; i++) durable.push(wal.append(put(`key-${i}`, "value")).durable);
      assertEquals(fs.counts().append, 0, "appends only buffer");
      await Promise.all(durable);
      // Group: one round covers all 100. Sync: the first round writes all 100, the other 99 only sync.
      assertEquals(fs.counts().append, 1, durability);
      assertEquals(fs.counts().sync, durability === "group" ? 1 : 100, durability);
      assertEquals(fs.inner.stat(FIRST)?.size, FILE_HEADER_SIZE + putBytes(0, 100, "value"));
      assertEquals(wal.stats().pendingSyncBytes, 0);
      await wal.close();
    }
  });

  it("with durability none, writes a turn's records once, by the end of that turn", async () => {
    const fs = new FaultFileSystem(await newFs());
    const { wal } = await openWal(fs, { durability: "none" });
    fs.resetCounts();
    for (let i = 0; i < 49; i++) wal.append(put(`key-${i}`, "value"));
    const last = wal.append(put("key-49", "value"));
    assertEquals(fs.inner.stat(FIRST)?.size, FILE_HEADER_SIZE);
    assertEquals(wal.retainedBytes, FILE_HEADER_SIZE + putBytes(0, 50, "value"), "sizes count pending bytes");
    await last.durable;
    // Whoever awaits the (resolved) promise resumes after the write.
    assertEquals(fs.inner.stat(FIRST)?.size, FILE_HEADER_SIZE + putBytes(0, 50, "value"));
    assertEquals([fs.counts().append, fs.counts().sync], [1, 0]);

    wal.append(put("key-50", "value"));
    await new Promise((resolve) => setTimeout(resolve, 0));
    assertEquals(fs.counts().append, 2, "a later turn writes again");
    assertEquals(fs.inner.stat(FIRST)?.size, FILE_HEADER_SIZE + putBytes(0, 51, "value"));
    await wal.close();
  });

  it("writes at once when the pending bytes would pass the limit, never more than the limit per write", async () => {
    const fs = new FaultFileSystem(await newFs());
    const { wal } = await openWal(fs, { durability: "none" });
    const value = "v".repeat(1000);
    const count = Math.ceil((3 * PENDING_LIMIT_BYTES) / recordSize(put("key-0", value)));
    const sizes: number[] = [];
    const real = fs.inner;
    fs.resetCounts();
    for (let i = 0; i < count; i++) {
      wal.append(put(`key-${i}`, value));
      sizes.push(real.stat(FIRST)?.size ?? 0);
    }
    const total = putBytes(0, count, value);
    const written = sizes[sizes.length - 1] - FILE_HEADER_SIZE;
    assert(fs.counts().append >= 2, `wrote ${fs.counts().append} times during the burst`);
    assert(total - written <= PENDING_LIMIT_BYTES, `${total - written} bytes left pending`);
    for (let i = 1; i < sizes.length; i++) assert(sizes[i] - sizes[i - 1] <= PENDING_LIMIT_BYTES);
    await wal.close();
    assertEquals(real.stat(FIRST)?.size, FILE_HEADER_SIZE + total);
    const { replayed } = await openWal(fs);
    assertEquals(replayed.length, count);
  });

  it("takes a record larger than the limit, after the records pending before it", async () => {
    const fs = await newFs();
    const { wal } = await openWal(fs);
    wal.append(put("small", "1"));
    const huge = "h".repeat(PENDING_LIMIT_BYTES + 1);
    wal.append(put("huge", huge));
    await wal.append(put("after", "2")).durable;
    await wal.close();
    fs.crash();
    const { replayed } = await openWal(fs);
    assertEquals(replayed.map((r) => r.lsn), [1, 2, 3]);
    assertEquals(new TextDecoder().decode(replayed[1].ops[0].value), huge);
  });

  it("writes a file's pending records to it before rotating to the next file", async () => {
    const fs = new FaultFileSystem(await newFs());
    const { wal } = await openWal(fs, { durability: "group", segmentBytes: 200 });
    const durable = [];
    for (let i = 0; i < 40; i++) durable.push(wal.append(put(`key-${i}`, "value")).durable);
    await Promise.all(durable);
    const files = fs.list(WAL).filter((name) => parseLogFileName(name) !== undefined);
    assert(files.length > 3, `${files.length} files`);
    let retained = 0;
    for (const name of files) {
      const size = fs.inner.stat(`${WAL}/${name}`)?.size ?? 0;
      assert(size <= 200, `${name} has ${size} bytes`);
      retained += size;
    }
    assertEquals(wal.retainedBytes, retained);
    await wal.close();
    fs.crash();
    const { replayed, report } = await openWal(fs);
    assertEquals(replayed.map((r) => r.lsn), Array.from({ length: 40 }, (_, i) => i + 1));
    assertEquals(report.truncatedFile, undefined);
  });

  it("close() writes the pending records", async () => {
    for (const durability of ["group", "none"] as const) {
      const fs = await newFs();
      const { wal } = await openWal(fs, { durability });
      for (let i = 0; i < 5; i++) wal.append(put(`key-${i}`, "value"));
      await wal.close();
      assertEquals(fs.stat(FIRST)?.size, FILE_HEADER_SIZE + putBytes(0, 5, "value"), durability);
      const { replayed } = await openWal(fs);
      assertEquals(replayed.length, 5, durability);
    }
  });

  it("a failed end-of-turn write fails the log: later appends, rounds and close report it", async () => {
    const fs = new FaultFileSystem(await newFs());
    const { wal } = await openWal(fs, { durability: "none" });
    fs.failOn({ op: "append", nth: 1 });
    await wal.append(put("a", "1")).durable;
    assertInstanceOf(wal.failed, IoError);
    assertThrows(() => wal.append(put("b", "2")), StateError);
    await assertRejects(() => wal.checkpoint(1), StateError);
    await wal.close();
  });

  it("a failed write to make room fails the append that needed it and the log", async () => {
    const fs = new FaultFileSystem(await newFs());
    const { wal } = await openWal(fs, { durability: "group" });
    const value = "v".repeat(1000);
    const first = wal.append(put("key-0", value));
    fs.failOn({ op: "append", nth: 1 });
    let appended = 1;
    const error = assertThrows(() => {
      for (; appended < 1000; appended++) wal.append(put(`key-${appended}`, value));
    }, IoError);
    assert(wal.failed === error);
    assertEquals(wal.lastLsn, appended, "the append that failed got no LSN");
    await assertRejects(() => first.durable, IoError);
    await wal.close();
  });

  it("after a kill, recovers exactly the records written before it, not the pending ones", async () => {
    const fs = await newFs();
    const { wal } = await openWal(fs, { durability: "group" });
    for (let i = 0; i < 2; i++) wal.append(put(`key-${i}`, "value"));
    await wal.append(put("key-2", "value")).durable;
    const value = "v".repeat(1000);
    let lsn = 3;
    // A burst long enough to write once to make room, then a pending tail.
    while (fs.stat(FIRST)!.size === FILE_HEADER_SIZE + putBytes(0, 3, "value")) {
      lsn = wal.append(put(`key-${lsn + 1}`, value)).lsn;
    }
    for (let i = 0; i < 10; i++) lsn = wal.append(put(`key-${lsn + 1}`, value)).lsn;
    const image = await killImage(fs);
    let written = image.stat(FIRST)!.size - FILE_HEADER_SIZE - putBytes(0, 3, "value");
    let writtenRecords = 3;
    while (written > 0) written -= recordSize(put(`key-${++writtenRecords}`, value));
    assertEquals(written, 0, "the write ended on a record boundary");
    assert(writtenRecords > 3 && writtenRecords < lsn, `${writtenRecords} of ${lsn} records written`);
    const { replayed, report } = await openWal(image);
    assertEquals(replayed.map((r) => r.lsn), Array.from({ length: writtenRecords }, (_, i) => i + 1));
    assertEquals(report.truncatedFile, undefined);
    await wal.close();
  });
});
