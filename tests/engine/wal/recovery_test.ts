import { assert, assertEquals, assertInstanceOf, assertRejects, assertStringIncludes } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { CorruptionError, IoError, UnsupportedFormatError } from "../../../engine/errors.ts";
import { writeFileAtomic } from "../../../engine/fs/atomic.ts";
import { FaultFileSystem } from "../../../engine/fs/fault_fs.ts";
import type { FileSystem } from "../../../engine/fs/file_system.ts";
import { MemoryFileSystem } from "../../../engine/fs/mem_fs.ts";
import { FILE_HEADER_SIZE, FileKind, writeFileHeader } from "../../../engine/format/file_header.ts";
import { CHECKPOINT_FILE, encodeCheckpoint, logFileName } from "../../../engine/wal/wal_format.ts";
import { type WalOp, type WalOptions, WriteAheadLog } from "../../../engine/wal/write_ahead_log.ts";
import { DIR, newFs, openWal, put, utf8, WAL } from "./_helpers.ts";

const FIRST = `${WAL}/${logFileName(1)}`;

const BATCH: WalOp[] = [
  { type: "put", key: utf8("batch-a"), value: utf8("1") },
  { type: "delete", key: utf8("batch-b") },
  { type: "put", key: utf8("batch-c"), value: utf8("333") },
];

/** Writes `count` single-put records durably; returns each record's offset, and the file size last. */
async function writeLog(fs: FileSystem, count: number, options: WalOptions = {}): Promise<number[]> {
  const { wal } = await openWal(fs, { durability: "sync", ...options });
  const offsets = [FILE_HEADER_SIZE];
  for (let i = 1; i <= count; i++) {
    await wal.append(put(`key-${i}`, `value-${i}`)).durable;
    offsets.push(wal.retainedBytes);
  }
  await wal.close();
  return offsets;
}

/** Overwrites one byte of a file in place, as bit rot would. */
function flipByte(fs: FileSystem, path: string, offset: number): void {
  const handle = fs.open(path, "write");
  const [byte] = handle.read(offset, 1);
  handle.write(offset, new Uint8Array([byte ^ 0x40]));
  handle.close();
}

/** A file system holding a log file with exactly `bytes` and nothing else in the log directory. */
function fsWithLog(bytes: Uint8Array): MemoryFileSystem {
  const fs = new MemoryFileSystem();
  fs.mkdir(WAL);
  const handle = fs.open(FIRST, "create");
  handle.append(bytes);
  handle.close();
  return fs;
}

function snapshot(fs: FileSystem): Map<string, Uint8Array> {
  return new Map(fs.list(WAL).map((name) => [name, fs.readFile(`${WAL}/${name}`)]));
}

describe("WriteAheadLog recovery of a torn tail", () => {
  it("drops exactly the record torn at any byte, and reports the bytes dropped", async () => {
    const recordSize = await (async () => {
      const fs = await newFs();
      const offsets = await writeLog(fs, 1);
      return offsets[1] - offsets[0];
    })();
    for (let torn = 0; torn < recordSize; torn++) {
      const fault = new FaultFileSystem(await newFs());
      const offsets = await writeLog(fault, 3);
      const { wal } = await openWal(fault, { durability: "sync" });
      fault.failOn({ op: "append", nth: 1, torn });
      await assertRejects(() => wal.append(put("key-4", "value-4")).durable, IoError, "injected fault");
      await wal.close();
      fault.clearFaults();

      if (torn > 0) {
        const error = await assertRejects(
          () => openWal(fault, { corruptionPolicy: "fail-fast" }),
          CorruptionError,
        );
        assertEquals([error.file, error.offset], [FIRST, offsets[3]]);
      }
      const { wal: reopened, report, replayed } = await openWal(fault);
      assertEquals(replayed.map((r) => r.lsn), [1, 2, 3], `torn at ${torn}`);
      assertEquals(report.droppedBytes, torn);
      assertEquals(report.truncatedAt, torn > 0 ? offsets[3] : undefined);
      assertEquals(reopened.stats().truncations, torn > 0 ? 1 : 0);
      assertEquals(reopened.stats().corruptions, 0);
      assertEquals(fault.inner.stat(FIRST)?.size, offsets[3]);
      assertEquals(reopened.append(put("key-4", "again")).lsn, 4);
      await reopened.close();
      const clean = await openWal(fault);
      assertEquals(clean.replayed.map((r) => r.lsn), [1, 2, 3, 4]);
      assertEquals(clean.report.truncatedFile, undefined);
      await clean.wal.close();
    }
  });

  it("applies an atomic batch whole or not at all, wherever the file is cut", async () => {
    const fs = await newFs();
    const { wal } = await openWal(fs);
    wal.append(put("before", "1"));
    const start = wal.retainedBytes;
    await wal.append(BATCH).durable;
    await wal.close();
    const full = fs.readFile(FIRST);
    for (let end = start; end <= full.length; end++) {
      const { wal: reopened, replayed, report } = await openWal(fsWithLog(full.slice(0, end)));
      const complete = end === full.length;
      assertEquals(
        replayed,
        complete ? [{ lsn: 1, ops: put("before", "1") }, { lsn: 2, ops: BATCH }] : [
          { lsn: 1, ops: put("before", "1") },
        ],
      );
      assertEquals(report.droppedBytes, complete ? 0 : end - start);
      await reopened.close();
    }
  });

  it("loses an unsynced torn tail in a crash without dropping anything", async () => {
    const fault = new FaultFileSystem(await newFs());
    await writeLog(fault, 2);
    const { wal } = await openWal(fault);
    fault.failOn({ op: "append", nth: 1, torn: 10 });
    await assertRejects(() => wal.append(put("key-3", "value-3")).durable, IoError);
    fault.crash();
    fault.clearFaults();
    const { replayed, report } = await openWal(fault);
    assertEquals(replayed.map((r) => r.lsn), [1, 2]);
    assertEquals(report.droppedBytes, 0);
  });
});

describe("WriteAheadLog recovery of a rotation cut short", () => {
  it("removes trailing files holding only part of a header, under either policy, as no damage", async () => {
    for (const corruptionPolicy of ["truncate-invalid-tail", "fail-fast"] as const) {
      for (const stubSize of [0, 1, 7, FILE_HEADER_SIZE - 1]) {
        const fs = await newFs();
        await writeLog(fs, 3);
        for (const lsn of [4, 5]) {
          const stub = fs.open(`${WAL}/${logFileName(lsn)}`, "create");
          stub.append(writeFileHeader(FileKind.WAL).subarray(0, stubSize));
          stub.close();
        }
        const { wal, report, replayed } = await openWal(fs, { corruptionPolicy });
        assertEquals(replayed.map((r) => r.lsn), [1, 2, 3]);
        assertEquals([report.truncatedFile, report.droppedBytes, wal.stats().truncations], [undefined, 0, 0]);
        assertEquals(fs.list(WAL), [logFileName(1)]);
        assertEquals(wal.append(put("k", "v")).lsn, 4);
        await wal.close();
      }
    }
  });

  it("treats a short file that is not the start of a header as damage", async () => {
    const fs = await newFs();
    await writeLog(fs, 3);
    const stub = fs.open(`${WAL}/${logFileName(4)}`, "create");
    stub.append(new Uint8Array(10));
    stub.close();
    await assertRejects(() => openWal(fs, { corruptionPolicy: "fail-fast" }), CorruptionError, "inside");
    const { report } = await openWal(fs);
    assertEquals([report.truncatedFile, report.truncatedAt, report.droppedBytes], [
      `${WAL}/${logFileName(4)}`,
      10,
      10,
    ]);
    assertEquals(fs.list(WAL), [logFileName(1)]);
  });
});

describe("WriteAheadLog recovery of damaged data", () => {
  it("truncate-invalid-tail cuts the log at a damaged record and continues from there", async () => {
    const fs = await newFs();
    const offsets = await writeLog(fs, 5);
    flipByte(fs, FIRST, offsets[2] + 12);
    const { wal, report, replayed } = await openWal(fs);
    assertEquals(replayed.map((r) => r.lsn), [1, 2]);
    assertEquals(report, {
      checkpointLsn: 0,
      lastLsn: 2,
      replayedRecords: 2,
      droppedBytes: offsets[5] - offsets[2],
      truncatedFile: FIRST,
      truncatedAt: offsets[2],
      truncationReason: "record checksum mismatch",
      clampedCheckpoint: false,
    });
    assertEquals(wal.stats().corruptions, 1);
    assertEquals(wal.stats().truncations, 1);
    assertEquals(fs.stat(FIRST)?.size, offsets[2]);
    assertEquals(wal.append(put("new", "3")).lsn, 3);
    await wal.close();
    fs.crash();
    const after = await openWal(fs);
    assertEquals(after.replayed.map((r) => [r.lsn, r.ops]), [[1, put("key-1", "value-1")], [
      2,
      put("key-2", "value-2"),
    ], [
      3,
      put("new", "3"),
    ]]);
  });

  it("fail-fast refuses a damaged record, naming file and offset, and changes nothing", async () => {
    const fs = await newFs();
    const offsets = await writeLog(fs, 5);
    flipByte(fs, FIRST, offsets[2] + 12);
    const before = snapshot(fs);
    const error = await assertRejects(() => openWal(fs, { corruptionPolicy: "fail-fast" }), CorruptionError);
    assertEquals(error.file, FIRST);
    assertEquals(error.offset, offsets[2]);
    assertStringIncludes(error.message, "checksum mismatch");
    assertEquals(snapshot(fs), before);
  });

  it("removes every file after the cut, counting them as dropped", async () => {
    const fs = await newFs();
    await writeLog(fs, 30, { segmentBytes: 128 });
    const names = fs.list(WAL);
    assert(names.length >= 4);
    const sizes = names.map((name) => fs.stat(`${WAL}/${name}`)?.size ?? 0);
    flipByte(fs, `${WAL}/${names[1]}`, FILE_HEADER_SIZE + 20);
    const { report, replayed } = await openWal(fs, { segmentBytes: 128 });
    assertEquals(fs.list(WAL), [names[0], names[1]]);
    assertEquals(report.truncatedFile, `${WAL}/${names[1]}`);
    assertEquals(report.truncatedAt, FILE_HEADER_SIZE);
    assertEquals(report.droppedBytes, sizes.slice(1).reduce((a, b) => a + b, 0) - FILE_HEADER_SIZE);
    assertEquals(replayed.length, report.lastLsn);
  });

  it("removes a file whose header is damaged, with everything after it", async () => {
    const fs = await newFs();
    await writeLog(fs, 30, { segmentBytes: 128 });
    const names = fs.list(WAL);
    flipByte(fs, `${WAL}/${names[2]}`, 5);
    const failFast = await assertRejects(
      () => openWal(fs, { corruptionPolicy: "fail-fast" }),
      CorruptionError,
    );
    assertEquals(failFast.file, `${WAL}/${names[2]}`);
    const { report } = await openWal(fs, { segmentBytes: 128 });
    assertEquals(fs.list(WAL), names.slice(0, 2));
    assertEquals(report.truncatedAt, 0);
    assertStringIncludes(report.truncationReason ?? "", "header checksum mismatch");
    assertEquals(report.lastLsn, Number(names[2].slice(0, 20)) - 1);
  });

  it("cuts the log where a file does not continue the LSN sequence", async () => {
    const fs = await newFs();
    await writeLog(fs, 30, { segmentBytes: 128 });
    const names = fs.list(WAL);
    fs.remove(`${WAL}/${names[1]}`);
    const failFast = await assertRejects(
      () => openWal(fs, { corruptionPolicy: "fail-fast" }),
      CorruptionError,
    );
    // The missing records follow the end of the file before the gap: that file is named, at its end.
    assertEquals([failFast.file, failFast.offset], [
      `${WAL}/${names[0]}`,
      fs.stat(`${WAL}/${names[0]}`)!.size,
    ]);
    assertStringIncludes(failFast.message, "the records in between are missing");
    const { report, replayed } = await openWal(fs);
    assertEquals(fs.list(WAL), [names[0]]);
    assertEquals(replayed.length, Number(names[1].slice(0, 20)) - 1);
    assertEquals(report.lastLsn, replayed.length);
  });

  it("refuses, with either policy, a log that starts after the checkpoint", async () => {
    const fs = await newFs();
    await writeLog(fs, 30, { segmentBytes: 128 });
    const names = fs.list(WAL);
    fs.remove(`${WAL}/${names[0]}`);
    for (const corruptionPolicy of ["truncate-invalid-tail", "fail-fast"] as const) {
      const error = await assertRejects(() => openWal(fs, { corruptionPolicy }), CorruptionError, "missing");
      assertEquals(error.file, `${WAL}/${names[1]}`);
    }
    assertEquals(fs.list(WAL), names.slice(1));
  });

  it("refuses a damaged checkpoint file with either policy", async () => {
    const fs = await newFs();
    const { wal } = await openWal(fs);
    wal.append(put("a", "1"));
    await wal.checkpoint(1);
    await wal.close();
    flipByte(fs, `${WAL}/${CHECKPOINT_FILE}`, 18);
    for (const corruptionPolicy of ["truncate-invalid-tail", "fail-fast"] as const) {
      await assertRejects(
        () => openWal(fs, { corruptionPolicy }),
        CorruptionError,
        "checkpoint checksum mismatch",
      );
    }
  });

  it("refuses log and checkpoint files of a newer format version, and leaves them alone", async () => {
    for (const corruptionPolicy of ["truncate-invalid-tail", "fail-fast"] as const) {
      const fs = await newFs();
      await writeLog(fs, 2);
      const handle = fs.open(FIRST, "write");
      handle.write(0, writeFileHeader(FileKind.WAL, 2));
      handle.close();
      const before = snapshot(fs);
      await assertRejects(() => openWal(fs, { corruptionPolicy }), UnsupportedFormatError, "newer");
      assertEquals(snapshot(fs), before);

      const restore = fs.open(FIRST, "write");
      restore.write(0, writeFileHeader(FileKind.WAL));
      restore.close();
      const newer = new Uint8Array(encodeCheckpoint(1));
      newer.set(writeFileHeader(FileKind.CHECKPOINT, 2));
      await writeFileAtomic(fs, `${WAL}/${CHECKPOINT_FILE}`, newer);
      await assertRejects(() => openWal(fs, { corruptionPolicy }), UnsupportedFormatError, "newer");
    }
  });
});

describe("WriteAheadLog recovery against the checkpoint", () => {
  it("clamps a checkpoint past the last valid record, durably", async () => {
    const fs = await newFs();
    await writeLog(fs, 3);
    await writeFileAtomic(fs, `${WAL}/${CHECKPOINT_FILE}`, encodeCheckpoint(10));
    const { wal, report, replayed } = await openWal(fs);
    assertEquals(replayed, []);
    assertEquals(report.clampedCheckpoint, true);
    assertEquals(report.checkpointLsn, 3);
    assertEquals(wal.checkpointLsn, 3);
    assertEquals(wal.append(put("new", "4")).lsn, 4);
    await wal.close();
    fs.crash();
    const after = await openWal(fs);
    assertEquals(after.replayed.map((r) => r.lsn), [4]);
    assertEquals(after.report.clampedCheckpoint, false);
    assertEquals(after.report.checkpointLsn, 3);
  });

  it("clamps the checkpoint when the cut lands below it", async () => {
    const fs = await newFs();
    const offsets = await writeLog(fs, 5);
    await writeFileAtomic(fs, `${WAL}/${CHECKPOINT_FILE}`, encodeCheckpoint(4));
    flipByte(fs, FIRST, offsets[2] + 20);
    const { report, replayed } = await openWal(fs);
    assertEquals(replayed, []);
    assertEquals([report.lastLsn, report.checkpointLsn, report.clampedCheckpoint], [2, 2, true]);
  });

  it("skips records at or below the checkpoint and removes files it wholly covers", async () => {
    const fs = await newFs();
    await writeLog(fs, 30, { segmentBytes: 128 });
    const names = fs.list(WAL);
    const third = Number(names[2].slice(0, 20));
    // As after a crash between writing the checkpoint and trimming.
    await writeFileAtomic(fs, `${WAL}/${CHECKPOINT_FILE}`, encodeCheckpoint(third));
    const { report, replayed } = await openWal(fs);
    assertEquals(replayed.map((r) => r.lsn), Array.from({ length: 30 - third }, (_, i) => third + i + 1));
    assertEquals(report.checkpointLsn, third);
    assertEquals(fs.list(WAL), [...names.slice(2), CHECKPOINT_FILE].sort());
  });

  it("leaves files that are not log files alone", async () => {
    const fs = await newFs();
    await writeLog(fs, 1);
    const notes = fs.open(`${WAL}/notes.txt`, "create");
    notes.append(utf8("keep me"));
    notes.close();
    const { replayed } = await openWal(fs);
    assertEquals(replayed.length, 1);
    assertEquals(fs.readFile(`${WAL}/notes.txt`), utf8("keep me"));
  });

  it("hands replay copies it may keep, and propagates its errors without changing the log", async () => {
    const fs = await newFs();
    await writeLog(fs, 2);
    const kept: WalOp[] = [];
    const { wal } = await WriteAheadLog.open(fs, DIR, {}, (_, ops) => kept.push(...ops));
    await wal.close();
    assertEquals(kept, [...put("key-1", "value-1"), ...put("key-2", "value-2")]);
    assert(kept[0].key.buffer !== kept[1].key.buffer);

    const before = snapshot(fs);
    const failure = new Error("apply failed");
    const error = await assertRejects(() =>
      WriteAheadLog.open(fs, DIR, {}, () => {
        throw failure;
      })
    );
    assertInstanceOf(error, Error);
    assert(error === failure);
    assertEquals(snapshot(fs), before);
  });
});
