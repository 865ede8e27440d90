import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import * as nodeFs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClosedError, IoError } from "../../../engine/errors.ts";
import { AtomicFileWriter, TMP_SUFFIX, writeFileAtomic } from "../../../engine/fs/atomic.ts";
import { FaultFileSystem } from "../../../engine/fs/fault_fs.ts";
import type { FileSystem } from "../../../engine/fs/file_system.ts";
import { MemoryFileSystem } from "../../../engine/fs/mem_fs.ts";
import { NodeFileSystem } from "../../../engine/fs/node_fs.ts";

const OLD = new TextEncoder().encode("old manifest, complete");
const NEW = new TextEncoder().encode("new manifest, longer and also complete");

/** `/db` durable, holding `/db/CURRENT` = `old` when given. */
async function setup(old: Uint8Array | undefined): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  fs.mkdir("/db");
  await fs.syncDir("/");
  if (old) {
    const handle = fs.open("/db/CURRENT", "create");
    handle.append(old);
    await handle.sync();
    handle.close();
    await fs.syncDir("/db");
  }
  return fs;
}

function contentOf(fs: FileSystem, path: string): string {
  return fs.stat(path) ? new TextDecoder().decode(fs.readFile(path)) : "<absent>";
}

/** Writes NEW in three appends through the streaming writer. */
async function streamNew(fs: FileSystem, path: string): Promise<void> {
  const writer = AtomicFileWriter.begin(fs, path);
  writer.append(NEW.subarray(0, 5));
  writer.append(NEW.subarray(5, 20));
  writer.append(NEW.subarray(20));
  await writer.commit();
}

/**
 * Fails the kth file-system operation of `replace` (so the crash strikes
 * before it), then crashes, for every k until the replacement runs through;
 * after each crash `/db/CURRENT` must hold the old or the new content, and
 * the new one if `replace` resolved.
 */
async function crashAtEveryStep(
  old: Uint8Array | undefined,
  replace: (fs: FileSystem) => Promise<void>,
  torn = false,
): Promise<number> {
  const oldText = old ? new TextDecoder().decode(old) : "<absent>";
  const newText = new TextDecoder().decode(NEW);
  for (let k = 1;; k++) {
    const memory = await setup(old);
    const fs = new FaultFileSystem(memory);
    const fault = torn ? fs.failOn({ op: "append", nth: k, torn: 3 }) : fs.failOn({ nth: k });
    let resolved = false;
    try {
      await replace(fs);
      resolved = true;
    } catch (error) {
      assert(error instanceof IoError, `step ${k}: ${error}`);
    }
    const beforeCrash = contentOf(memory, "/db/CURRENT");
    assert(beforeCrash === oldText || beforeCrash === newText, `step ${k} before the crash: ${beforeCrash}`);
    fs.crash();
    const afterCrash = contentOf(memory, "/db/CURRENT");
    assertEquals(afterCrash === oldText || afterCrash === newText, true, `step ${k}: ${afterCrash}`);
    if (resolved) assertEquals(afterCrash, newText, `step ${k} resolved but the new content was lost`);
    if (fault.fired === 0) return k;
  }
}

describe("writeFileAtomic()", () => {
  it("writeFileAtomic() creates the file and leaves no temporary file behind", async () => {
    const fs = await setup(undefined);
    await writeFileAtomic(fs, "/db/CURRENT", NEW);
    assertEquals(fs.readFile("/db/CURRENT"), NEW);
    assertEquals(fs.list("/db"), ["CURRENT"]);
  });

  it("writeFileAtomic() replaces the old content durably", async () => {
    const fs = await setup(OLD);
    await writeFileAtomic(fs, "/db/CURRENT", NEW);
    fs.crash();
    assertEquals(fs.readFile("/db/CURRENT"), NEW);
    assertEquals(fs.list("/db"), ["CURRENT"]);
  });

  it("writeFileAtomic() runs the documented protocol: write tmp, sync, rename, syncDir", async () => {
    const fs = new FaultFileSystem(await setup(OLD));
    fs.resetCounts();
    await writeFileAtomic(fs, "/db/CURRENT", NEW);
    const counts = fs.counts();
    assertEquals(
      [counts.open, counts.append, counts.sync, counts.rename, counts.syncDir, counts.write],
      [1, 1, 1, 1, 1, 0],
    );
  });

  it("writeFileAtomic() keeps the old or the new content after a crash at every step", async () => {
    const steps = await crashAtEveryStep(OLD, (fs) => writeFileAtomic(fs, "/db/CURRENT", NEW));
    assert(steps >= 6, `only ${steps} steps`);
  });

  it("writeFileAtomic() leaves the file absent or complete after a crash at every step of a first write", async () => {
    await crashAtEveryStep(undefined, (fs) => writeFileAtomic(fs, "/db/CURRENT", NEW));
  });

  it("writeFileAtomic() removes the temporary file when the sync fails, keeping the old content", async () => {
    const memory = await setup(OLD);
    const fs = new FaultFileSystem(memory);
    fs.failOn({ op: "sync" });
    await assertRejects(() => writeFileAtomic(fs, "/db/CURRENT", NEW), IoError);
    assertEquals(memory.list("/db"), ["CURRENT"]);
    assertEquals(memory.readFile("/db/CURRENT"), OLD);
  });

  it("writeFileAtomic() removes the temporary file when the rename fails", async () => {
    const memory = await setup(OLD);
    const fs = new FaultFileSystem(memory);
    fs.failOn({ op: "rename" });
    await assertRejects(() => writeFileAtomic(fs, "/db/CURRENT", NEW), IoError);
    assertEquals(memory.list("/db"), ["CURRENT"]);
    assertEquals(memory.readFile("/db/CURRENT"), OLD);
  });

  it("writeFileAtomic() rejects when the directory sync fails, showing the new content that a crash may undo", async () => {
    const memory = await setup(OLD);
    const fs = new FaultFileSystem(memory);
    fs.failOn({ op: "syncDir" });
    await assertRejects(() => writeFileAtomic(fs, "/db/CURRENT", NEW), IoError);
    assertEquals(memory.readFile("/db/CURRENT"), NEW);
    memory.crash();
    assertEquals(memory.readFile("/db/CURRENT"), OLD);
  });

  it("writeFileAtomic() writes and replaces a file on NodeFileSystem", async () => {
    const dir = nodeFs.mkdtempSync(join(tmpdir(), "hestia-atomic-"));
    try {
      const fs = new NodeFileSystem();
      const path = join(dir, "CURRENT");
      await writeFileAtomic(fs, path, OLD);
      await writeFileAtomic(fs, path, NEW);
      assertEquals(fs.readFile(path), NEW);
      assertEquals(fs.list(dir), ["CURRENT"]);
    } finally {
      nodeFs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("AtomicFileWriter", () => {
  it("AtomicFileWriter keeps the old or the new content after a crash at every step", async () => {
    await crashAtEveryStep(OLD, (fs) => streamNew(fs, "/db/CURRENT"));
  });

  it("AtomicFileWriter keeps the old or the new content after a torn append at every step", async () => {
    const steps = await crashAtEveryStep(OLD, (fs) => streamNew(fs, "/db/CURRENT"), true);
    assertEquals(steps, 4);
  });

  it("AtomicFileWriter writes to path.tmp and touches the target only at commit()", async () => {
    const fs = await setup(OLD);
    const writer = AtomicFileWriter.begin(fs, "/db/CURRENT");
    assertEquals(writer.path, "/db/CURRENT");
    assertEquals(writer.tmpPath, "/db/CURRENT" + TMP_SUFFIX);
    writer.append(NEW.subarray(0, 4));
    writer.append(NEW.subarray(4));
    assertEquals(writer.size, NEW.length);
    assertEquals(fs.readFile("/db/CURRENT"), OLD);
    assertEquals(fs.readFile("/db/CURRENT.tmp"), NEW);
    await writer.commit();
    assertEquals(fs.readFile("/db/CURRENT"), NEW);
    assertEquals(fs.list("/db"), ["CURRENT"]);
  });

  it("AtomicFileWriter.begin() removes a stale temporary file left by an earlier crash", async () => {
    const fs = await setup(OLD);
    fs.open("/db/CURRENT.tmp", "create").append(new TextEncoder().encode("half-written garbage"));
    await fs.syncDir("/db");
    fs.crash();
    assertEquals(fs.list("/db"), ["CURRENT", "CURRENT.tmp"]);
    await streamNew(fs, "/db/CURRENT");
    assertEquals(fs.readFile("/db/CURRENT"), NEW);
    assertEquals(fs.list("/db"), ["CURRENT"]);
  });

  it("AtomicFileWriter.abort() removes the temporary file and leaves the target untouched", async () => {
    const fs = await setup(OLD);
    const writer = AtomicFileWriter.begin(fs, "/db/CURRENT");
    writer.append(NEW);
    writer.abort();
    writer.abort();
    assertEquals(fs.list("/db"), ["CURRENT"]);
    assertEquals(fs.readFile("/db/CURRENT"), OLD);
    assertThrows(() => writer.append(NEW), ClosedError);
    await assertRejects(() => writer.commit(), ClosedError);
  });

  it("AtomicFileWriter refuses appends and a second commit after commit(), where abort() does nothing", async () => {
    const fs = await setup(undefined);
    const writer = AtomicFileWriter.begin(fs, "/db/CURRENT");
    writer.append(NEW);
    await writer.commit();
    assertThrows(() => writer.append(NEW), ClosedError);
    await assertRejects(() => writer.commit(), ClosedError);
    writer.abort();
    assertEquals(fs.readFile("/db/CURRENT"), NEW);
  });

  it("AtomicFileWriter.begin() raises when the directory is missing", () => {
    const fs = new MemoryFileSystem();
    assertThrows(() => AtomicFileWriter.begin(fs, "/nope/CURRENT"));
  });
});
