import { assert, assertEquals, assertFalse, assertRejects, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { ClosedError } from "../../../engine/errors.ts";
import { NodeFileSystem } from "../../../engine/fs/node_fs.ts";
import type { FileSystem } from "../../../engine/fs/file_system.ts";
import { FILE_HEADER_SIZE } from "../../../engine/format/file_header.ts";
import { decodeRecord, logFileName, parseLogFileName } from "../../../engine/wal/wal_format.ts";
import { type WalOp, type WalOptions, WriteAheadLog } from "../../../engine/wal/write_ahead_log.ts";
import { DIR, newFs, openWal, put, utf8, WAL } from "./_helpers.ts";

/** Plain-object copies of ops, comparable with what recovery hands back. */
function plain(ops: readonly WalOp[]): WalOp[] {
  return ops.map(({ type, key, value }) => type === "put" ? { type, key, value } : { type, key });
}

const opArbitrary: fc.Arbitrary<WalOp> = fc.oneof(
  fc.record({
    type: fc.constant("put" as const),
    key: fc.uint8Array({ maxLength: 24 }),
    value: fc.uint8Array({ maxLength: 120 }),
  }),
  fc.record({ type: fc.constant("delete" as const), key: fc.uint8Array({ maxLength: 24 }) }),
);

describe("WriteAheadLog.open()", () => {
  it("creates the log directory durably, with an empty first log file", async () => {
    const fs = await newFs();
    const { wal, report, replayed } = await openWal(fs);
    assertEquals(report, {
      checkpointLsn: 0,
      lastLsn: 0,
      replayedRecords: 0,
      droppedBytes: 0,
      clampedCheckpoint: false,
    });
    assertEquals(replayed, []);
    assertEquals([wal.lastLsn, wal.durableLsn, wal.checkpointLsn], [0, 0, 0]);
    fs.crash();
    assertEquals(fs.list(WAL), [logFileName(1)]);
    assertEquals(fs.stat(`${WAL}/${logFileName(1)}`)?.size, FILE_HEADER_SIZE);
    const again = await openWal(fs);
    assertEquals(again.report.lastLsn, 0);
    await again.wal.close();
  });

  it("validates its options", async () => {
    const fs = await newFs();
    const bad: [WalOptions, ErrorConstructor | RangeErrorConstructor, string][] = [
      [{ durability: "always" as never }, TypeError, "durability"],
      [{ corruptionPolicy: "ignore" as never }, TypeError, "corruptionPolicy"],
      [{ segmentBytes: 16 }, RangeError, "segmentBytes"],
      [{ segmentBytes: 1.5e3 + 0.5 }, RangeError, "segmentBytes"],
      [{ maxRetainedBytes: -1 }, RangeError, "maxRetainedBytes"],
      [{ clock: 5 as never }, TypeError, "clock"],
    ];
    for (const [options, type, message] of bad) {
      await assertRejects(() => WriteAheadLog.open(fs, DIR, options, () => {}), type, message);
    }
    await assertRejects(
      () => WriteAheadLog.open(fs, DIR, {}, undefined as never),
      TypeError,
      "replay must be a function",
    );
  });

  it("continues the last log file after a reopen, and starts a new one when it is full", async () => {
    const fs = await newFs();
    const first = await openWal(fs, { segmentBytes: 100 });
    await first.wal.append(put("a", "1")).durable;
    await first.wal.close();
    const second = await openWal(fs, { segmentBytes: 100 });
    assertEquals(second.wal.append(put("b", "2")).lsn, 2);
    await second.wal.close();
    assertEquals(fs.list(WAL), [logFileName(1)]);

    const big = put("c", "x".repeat(100));
    const third = await openWal(fs, { segmentBytes: 100 });
    await third.wal.append(big).durable;
    await third.wal.close();
    assertEquals(fs.list(WAL), [logFileName(1), logFileName(3)]);
    const fourth = await openWal(fs, { segmentBytes: 100 });
    assertEquals(fourth.wal.append(put("d", "4")).lsn, 4);
    await fourth.wal.close();
    assertEquals(fs.list(WAL), [logFileName(1), logFileName(3), logFileName(4)]);
    assertEquals((await openWal(fs)).replayed.map((r) => r.lsn), [1, 2, 3, 4]);
  });
});

describe("WriteAheadLog.append()", () => {
  it("numbers records 1, 2, 3… and hands them back in order after a reopen", async () => {
    const fs = await newFs();
    const { wal } = await openWal(fs);
    const batch: WalOp[] = [
      { type: "put", key: utf8("x"), value: utf8("1") },
      { type: "delete", key: utf8("y") },
    ];
    assertEquals(wal.append(put("a", "1")).lsn, 1);
    assertEquals(wal.append(batch).lsn, 2);
    const { lsn, durable } = wal.append([{ type: "delete", key: utf8("a") }]);
    assertEquals(lsn, 3);
    await durable;
    assertEquals(wal.lastLsn, 3);
    assertEquals(wal.durableLsn, 3);
    await wal.close();

    const { report, replayed } = await openWal(fs);
    assertEquals(replayed, [
      { lsn: 1, ops: put("a", "1") },
      { lsn: 2, ops: batch },
      { lsn: 3, ops: [{ type: "delete", key: utf8("a") }] },
    ]);
    assertEquals(report.replayedRecords, 3);
    assertEquals(report.lastLsn, 3);
  });

  it("round-trips any sequence of batches: a reopen replays exactly the records after the checkpoint", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(opArbitrary, { minLength: 1, maxLength: 4 }), { maxLength: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(64, 300, 4096),
        async (batches, checkpointAt, segmentBytes) => {
          const fs = await newFs();
          const { wal } = await openWal(fs, { segmentBytes });
          const durable = batches.map((ops) => wal.append(ops).durable);
          await Promise.all(durable);
          const checkpoint = Math.floor(checkpointAt * batches.length);
          await wal.checkpoint(checkpoint);
          await wal.close();
          fs.crash();
          const { wal: reopened, report, replayed } = await openWal(fs, { segmentBytes });
          assertEquals(
            replayed,
            batches.slice(checkpoint).map((ops, i) => ({ lsn: checkpoint + i + 1, ops: plain(ops) })),
          );
          assertEquals(report.lastLsn, batches.length);
          assertEquals(report.checkpointLsn, checkpoint);
          assertEquals(report.droppedBytes, 0);
          await reopened.close();
        },
      ),
      { numRuns: 40 },
    );
  });

  it("rejects a malformed batch without harming the log", async () => {
    const fs = await newFs();
    const { wal } = await openWal(fs);
    assertThrows(() => wal.append([]), TypeError, "at least one op");
    assertThrows(() => wal.append([{ type: "put", key: utf8("k") }]), TypeError, "value");
    assertEquals(wal.failed, undefined);
    assertEquals(wal.append(put("k", "v")).lsn, 1);
    await wal.close();
    assertEquals((await openWal(fs)).replayed.map((r) => r.lsn), [1]);
  });

  it("throws ClosedError after close(), which is idempotent", async () => {
    const fs = await newFs();
    const { wal } = await openWal(fs);
    const closing = wal.close();
    assert(wal.close() === closing);
    await closing;
    assertThrows(() => wal.append(put("k", "v")), ClosedError);
    await assertRejects(() => wal.checkpoint(0), ClosedError);
  });
});

describe("WriteAheadLog rotation and checkpoint()", () => {
  /** Every log file with the LSN of its first record, read from disk. */
  function logFiles(fs: FileSystem): { name: string; size: number; firstRecordLsn?: number }[] {
    return fs.list(WAL).filter((name) => parseLogFileName(name) !== undefined).map((name) => {
      const bytes = fs.readFile(`${WAL}/${name}`);
      const first = bytes.length > FILE_HEADER_SIZE ? decodeRecord(bytes, FILE_HEADER_SIZE) : undefined;
      return { name, size: bytes.length, firstRecordLsn: first?.ok ? first.lsn : undefined };
    });
  }

  it("rotates before a record would take the active file past segmentBytes", async () => {
    const fs = await newFs();
    const { wal } = await openWal(fs, { segmentBytes: 128 });
    for (let i = 0; i < 30; i++) wal.append(put(`key-${i}`, "value"));
    const huge = wal.append(put("huge", "v".repeat(300)));
    wal.append(put("after", "v"));
    await huge.durable;
    const files = logFiles(fs);
    assert(files.length > 5, `only ${files.length} files`);
    for (const file of files) {
      assertEquals(file.firstRecordLsn, parseLogFileName(file.name), file.name);
      if (file.firstRecordLsn !== huge.lsn) assert(file.size <= 128, `${file.name} has ${file.size} bytes`);
    }
    assert(files.some((f) => f.firstRecordLsn === huge.lsn && f.size > 300));
    assertEquals(wal.retainedBytes, files.reduce((sum, f) => sum + f.size, 0));
    assertEquals(wal.stats().fileCount, files.length);
    await wal.close();
  });

  it("trims the files whose records are all covered, never the active one", async () => {
    const fs = await newFs();
    const { wal } = await openWal(fs, { segmentBytes: 128 });
    for (let i = 0; i < 29; i++) wal.append(put(`key-${i}`, "value"));
    // The round that makes the last record durable writes the pending ones first.
    await wal.append(put("key-29", "value")).durable;
    const before = logFiles(fs);
    const firstLsns = before.map((f) => f.firstRecordLsn ?? 0);
    const lsn = firstLsns[3] + 1;
    await wal.checkpoint(lsn);
    // Files 0..2 end below firstLsns[3] ≤ lsn; file 3 still holds lsn + 1.
    assertEquals(logFiles(fs).map((f) => f.name), before.slice(3).map((f) => f.name));
    assertEquals(wal.checkpointLsn, lsn);
    assertEquals(wal.retainedBytes, before.slice(3).reduce((sum, f) => sum + f.size, 0));

    await wal.checkpoint(wal.lastLsn);
    assertEquals(logFiles(fs).map((f) => f.name), [before.at(-1)?.name]);
    assertEquals(wal.stats().fileCount, 1);
    wal.append(put("next", "v"));
    await wal.close();
    fs.crash();
    const { replayed, report } = await openWal(fs);
    assertEquals(replayed.map((r) => r.lsn), [31]);
    assertEquals(report.checkpointLsn, 30);
  });

  it("ignores a checkpoint at or below the current one and refuses one past the last LSN", async () => {
    const fs = await newFs();
    const { wal } = await openWal(fs);
    wal.append(put("a", "1"));
    wal.append(put("b", "2"));
    await wal.checkpoint(2);
    await wal.checkpoint(1);
    assertEquals(wal.checkpointLsn, 2);
    await assertRejects(() => wal.checkpoint(3), RangeError, "0..2");
    await assertRejects(() => wal.checkpoint(-1), RangeError);
    await wal.close();
    assertEquals((await openWal(fs)).report.checkpointLsn, 2);
  });

  it("reports overLimit while the retained bytes exceed maxRetainedBytes", async () => {
    const fs = await newFs();
    const { wal } = await openWal(fs, { segmentBytes: 256, maxRetainedBytes: 1024 });
    while (!wal.overLimit) wal.append(put("key", "some value"));
    assert(wal.retainedBytes > 1024);
    await wal.checkpoint(wal.lastLsn);
    assertFalse(wal.overLimit);
    assert(wal.retainedBytes <= 256);
    await wal.close();
  });
});

describe("WriteAheadLog.stats()", () => {
  it("counts appends, bytes, sync rounds, their time and batch sizes", async () => {
    const fs = await newFs();
    let now = 0;
    const { wal } = await openWal(fs, { clock: () => (now += 5) });
    const empty = wal.stats();
    assert(Object.isFrozen(empty));
    assertEquals(empty, {
      appends: 0,
      appendedBytes: 0,
      syncs: 0,
      syncFailures: 0,
      corruptions: 0,
      truncations: 0,
      retainedBytes: FILE_HEADER_SIZE,
      fileCount: 1,
      durableLsn: 0,
      checkpointLsn: 0,
      lastLsn: 0,
      pendingSyncBytes: 0,
      syncTimeTotalMs: 0,
      syncTimeMaxMs: 0,
      batchBytesTotal: 0,
      batchBytesMax: 0,
    });

    const first = [wal.append(put("a", "1")), wal.append(put("b", "22"))];
    const afterTwo = wal.stats();
    assertEquals(afterTwo.appends, 2);
    assertEquals(afterTwo.lastLsn, 2);
    assertEquals(afterTwo.durableLsn, 0);
    assertEquals(afterTwo.pendingSyncBytes, afterTwo.appendedBytes);
    await Promise.all(first.map((a) => a.durable));
    const batch1 = afterTwo.appendedBytes;
    await wal.append(put("c", "333")).durable;
    const stats = wal.stats();
    assertEquals(stats.appends, 3);
    assertEquals(stats.syncs, 2);
    assertEquals(stats.syncTimeTotalMs, 10);
    assertEquals(stats.syncTimeMaxMs, 5);
    assertEquals(stats.batchBytesTotal, stats.appendedBytes);
    assertEquals(stats.batchBytesMax, batch1);
    assertEquals(stats.pendingSyncBytes, 0);
    assertEquals(stats.durableLsn, 3);
    assertEquals(stats.retainedBytes, FILE_HEADER_SIZE + stats.appendedBytes);
    await wal.close();
  });

  it("in none mode, leaves bytes pending until a checkpoint syncs them", async () => {
    const fs = await newFs();
    const { wal } = await openWal(fs, { durability: "none" });
    await wal.append(put("a", "1")).durable;
    wal.append(put("b", "2"));
    const before = wal.stats();
    assertEquals([before.syncs, before.durableLsn, before.pendingSyncBytes], [0, 0, before.appendedBytes]);
    await wal.checkpoint(1);
    const after = wal.stats();
    assertEquals([after.syncs, after.durableLsn, after.pendingSyncBytes, after.checkpointLsn], [1, 2, 0, 1]);
    await wal.close();
  });
});

describe("WriteAheadLog on NodeFileSystem", () => {
  it("group-commits, rotates and recovers on a real disk", async () => {
    const root = mkdtempSync(`${tmpdir()}/hestia-wal-`);
    try {
      const fs = new NodeFileSystem();
      const { wal } = await openWal(fs, { segmentBytes: 512 }, root);
      const appended = Array.from({ length: 60 }, (_, i) => wal.append(put(`key-${i}`, `value-${i}`)));
      await Promise.all(appended.map((a) => a.durable));
      assert(wal.stats().syncs < 60, `${wal.stats().syncs} syncs`);
      await wal.checkpoint(20);
      await wal.close();
      const { wal: reopened, replayed } = await openWal(fs, { segmentBytes: 512 }, root);
      assertEquals(replayed.map((r) => r.lsn), Array.from({ length: 40 }, (_, i) => i + 21));
      assertEquals(replayed[0].ops, put("key-20", "value-20"));
      await reopened.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
