import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { IoError, NotFoundError } from "../../../engine/errors.ts";
import { FAULT_OPS, FaultFileSystem } from "../../../engine/fs/fault_fs.ts";
import { MemoryFileSystem } from "../../../engine/fs/mem_fs.ts";
import { NodeFileSystem } from "../../../engine/fs/node_fs.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

function faulty(): { fs: FaultFileSystem; memory: MemoryFileSystem } {
  const memory = new MemoryFileSystem();
  return { fs: new FaultFileSystem(memory), memory };
}

describe("FaultFileSystem", () => {
  it("FaultFileSystem.counts() counts every operation by name, failed ones included", async () => {
    const { fs } = faulty();
    fs.mkdir("/d");
    const handle = fs.open("/d/f", "create");
    handle.write(0, bytes(1));
    handle.append(bytes(2));
    handle.read(0, 2);
    handle.truncate(1);
    handle.size();
    await handle.sync();
    handle.close();
    fs.readFile("/d/f");
    fs.stat("/d/f");
    fs.list("/d");
    fs.rename("/d/f", "/d/g");
    await fs.syncDir("/d");
    fs.lock("/d/LOCK").release();
    fs.remove("/d/g");
    assertThrows(() => fs.remove("/d/g"), NotFoundError);
    fs.removeTree("/d");
    assertEquals(fs.counts(), {
      open: 1,
      read: 1,
      write: 1,
      append: 1,
      truncate: 1,
      sync: 1,
      syncDir: 1,
      rename: 1,
      remove: 2,
      removeTree: 1,
      mkdir: 1,
      list: 1,
      stat: 1,
      readFile: 1,
      lock: 1,
    });
    assertEquals(Object.keys(fs.counts()), [...FAULT_OPS]);
    fs.resetCounts();
    assertEquals(fs.counts().remove, 0);
  });

  it("FaultFileSystem.failOn() with nth fails only that matching write, leaving the file unchanged", () => {
    const { fs, memory } = faulty();
    const fault = fs.failOn({ op: "write", nth: 3 });
    const handle = fs.open("/f", "create");
    handle.write(0, bytes(1));
    handle.write(1, bytes(2));
    const error = assertThrows(() => handle.write(2, bytes(3)), IoError, "injected fault");
    assertEquals(error.operation, "write");
    assertEquals(error.path, "/f");
    assertEquals(memory.readFile("/f"), bytes(1, 2));
    handle.write(2, bytes(4));
    assertEquals(memory.readFile("/f"), bytes(1, 2, 4));
    assertEquals({ seen: fault.seen, fired: fault.fired }, { seen: 4, fired: 1 });
  });

  it("FaultFileSystem counts readInto() as a read and fails it like one, leaving the buffer untouched", () => {
    const { fs } = faulty();
    const handle = fs.open("/f", "create");
    handle.append(bytes(1, 2, 3));
    fs.resetCounts();
    const fault = fs.failOn({ op: "read", nth: 2 });
    const buffer = new Uint8Array(3);
    assertEquals(handle.readInto(0, buffer, 2), 2);
    buffer.fill(7);
    assertThrows(() => handle.readInto(0, buffer), IoError, "injected fault");
    assertEquals(buffer, bytes(7, 7, 7));
    assertEquals(handle.readInto(1, buffer), 2);
    assertEquals(buffer, bytes(2, 3, 7));
    assertEquals({ seen: fault.seen, fired: fault.fired, reads: fs.counts().read }, {
      seen: 3,
      fired: 1,
      reads: 3,
    });
  });

  it("FaultFileSystem.failOn() without nth fails every matching operation until cleared", () => {
    const { fs } = faulty();
    fs.open("/a", "create").close();
    fs.failOn({ op: "stat" });
    for (let i = 0; i < 3; i++) assertThrows(() => fs.stat("/a"), IoError);
    fs.clearFaults();
    assertEquals(fs.stat("/a"), { kind: "file", size: 0 });
  });

  it("FaultFileSystem.failOn() with times fails that many operations in a row", () => {
    const { fs } = faulty();
    fs.failOn({ op: "mkdir", nth: 2, times: 2 });
    fs.mkdir("/a");
    assertThrows(() => fs.mkdir("/b"), IoError);
    assertThrows(() => fs.mkdir("/c"), IoError);
    fs.mkdir("/d");
    assertEquals(fs.list("/"), ["a", "d"]);
  });

  it("FaultFileSystem.failOn() with a path string fails only operations on that exact path", () => {
    const { fs } = faulty();
    fs.failOn({ op: "open", path: "/b" });
    fs.open("/a", "create").close();
    assertThrows(() => fs.open("/b", "create"), IoError);
    fs.open("/bb", "create").close();
    assertEquals(fs.list("/"), ["a", "bb"]);
  });

  it("FaultFileSystem.failOn() with a path pattern counts only matching operations toward nth", () => {
    const { fs } = faulty();
    fs.failOn({ op: "append", path: /\.log$/, nth: 2 });
    const log = fs.open("/wal.log", "create");
    const data = fs.open("/data.sst", "create");
    log.append(bytes(1));
    data.append(bytes(1));
    data.append(bytes(2));
    assertThrows(() => log.append(bytes(2)), IoError);
    log.append(bytes(3));
    assertEquals(fs.inner.readFile("/wal.log"), bytes(1, 3));
    assertEquals(fs.inner.readFile("/data.sst"), bytes(1, 2));
  });

  it("FaultFileSystem.failOn() matches a rename on either of its paths", () => {
    const { fs } = faulty();
    fs.open("/a.tmp", "create").close();
    fs.failOn({ op: "rename", path: "/CURRENT" });
    const error = assertThrows(() => fs.rename("/a.tmp", "/CURRENT"), IoError);
    assertEquals(error.path, "/a.tmp -> /CURRENT");
    assertEquals(fs.list("/"), ["a.tmp"]);
  });

  it("FaultFileSystem.failOn() without op fails the nth operation of any kind", () => {
    const { fs } = faulty();
    fs.failOn({ nth: 3 });
    fs.mkdir("/a");
    fs.stat("/a");
    assertThrows(() => fs.list("/a"), IoError);
    fs.list("/a");
  });

  it("FaultFileSystem makes a failed sync() reject, and the unsynced bytes die in a crash", async () => {
    const { fs, memory } = faulty();
    const handle = fs.open("/f", "create");
    await fs.syncDir("/");
    handle.append(bytes(1));
    await handle.sync();
    fs.failOn({ op: "sync", nth: 1 });
    handle.append(bytes(2));
    await assertRejects(() => handle.sync(), IoError, "injected fault");
    fs.crash();
    assertEquals(memory.readFile("/f"), bytes(1));
  });

  it("FaultFileSystem makes a failed syncDir() reject, and the unsynced entries die in a crash", async () => {
    const { fs, memory } = faulty();
    fs.open("/f", "create").close();
    fs.failOn({ op: "syncDir", path: "/" });
    await assertRejects(() => fs.syncDir("/"), IoError);
    fs.crash();
    assertEquals(memory.list("/"), []);
  });

  it("FaultFileSystem.failOn() with torn applies a prefix of the append before failing", () => {
    const { fs, memory } = faulty();
    fs.failOn({ op: "append", nth: 2, torn: 2 });
    const handle = fs.open("/f", "create");
    handle.append(bytes(1));
    assertThrows(() => handle.append(bytes(2, 3, 4, 5)), IoError);
    assertEquals(memory.readFile("/f"), bytes(1, 2, 3));
  });

  it("FaultFileSystem.failOn() with torn applies a prefix of a positioned write before failing", () => {
    const { fs, memory } = faulty();
    fs.failOn({ op: "write", torn: 1 });
    const handle = fs.open("/f", "create");
    assertThrows(() => handle.write(2, bytes(7, 8)), IoError);
    assertEquals(memory.readFile("/f"), bytes(0, 0, 7));
  });

  it("FaultFileSystem.failOn() throws the given error instead of the default one", () => {
    const { fs } = faulty();
    const full = new IoError("write", "/f", { cause: new Error("ENOSPC: no space left on device") });
    fs.failOn({ op: "write", error: full });
    const handle = fs.open("/f", "create");
    assertStrictEquals(assertThrows(() => handle.write(0, bytes(1))), full);
  });

  it("FaultFileSystem.failOn() fires one fault per operation, checking faults in arming order", () => {
    const { fs } = faulty();
    const first = fs.failOn({ op: "stat", nth: 1, error: new Error("first") });
    const second = fs.failOn({ op: "stat", nth: 1, error: new Error("second") });
    assertThrows(() => fs.stat("/"), Error, "first");
    fs.stat("/");
    assertEquals([first.fired, second.fired], [1, 0]);
  });

  it("FaultFileSystem.failOn() rejects a torn fault on an operation that writes no data, and bad counts", () => {
    const { fs } = faulty();
    assertThrows(() => fs.failOn({ op: "sync", torn: 1 }), TypeError);
    assertThrows(() => fs.failOn({ torn: 1 }), TypeError);
    assertThrows(() => fs.failOn({ op: "write", torn: -1 }), RangeError);
    assertThrows(() => fs.failOn({ op: "write", nth: 0 }), RangeError);
    assertThrows(() => fs.failOn({ op: "write", times: 0 }), RangeError);
  });

  it("FaultFileSystem.crash() crashes the wrapped MemoryFileSystem and invalidates wrapped handles", async () => {
    const { fs, memory } = faulty();
    const handle = fs.open("/f", "create");
    handle.append(bytes(1));
    await handle.sync();
    await fs.syncDir("/");
    handle.append(bytes(2));
    fs.crash();
    assertThrows(() => handle.append(bytes(3)));
    assertEquals(memory.readFile("/f"), bytes(1));
  });

  it("FaultFileSystem.crash() works through a FaultFileSystem wrapping another one", () => {
    const memory = new MemoryFileSystem();
    const fs = new FaultFileSystem(new FaultFileSystem(memory));
    fs.open("/f", "create").close();
    fs.crash();
    assertEquals(memory.list("/"), []);
  });

  it("FaultFileSystem.crash() raises TypeError when the wrapped file system cannot crash", () => {
    const fs = new FaultFileSystem(new NodeFileSystem());
    const error = assertThrows(() => fs.crash(), TypeError, "MemoryFileSystem");
    assertInstanceOf(error, TypeError);
  });

  it("FaultFileSystem passes results and errors of the wrapped file system through", () => {
    const { fs } = faulty();
    assertThrows(() => fs.readFile("/missing"), NotFoundError);
    const lock = fs.lock("/LOCK");
    assert(fs.stat("/LOCK"));
    lock.release();
    assertEquals(fs.stat("/LOCK"), undefined);
  });
});
