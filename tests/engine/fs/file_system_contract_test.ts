import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import { afterEach, beforeEach, describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import * as nodeFs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AlreadyExistsError,
  ClosedError,
  IoError,
  LockedError,
  NotFoundError,
} from "../../../engine/errors.ts";
import type { FileHandle, FileSystem, OpenMode } from "../../../engine/fs/file_system.ts";
import { MemoryFileSystem } from "../../../engine/fs/mem_fs.ts";
import { NodeFileSystem } from "../../../engine/fs/node_fs.ts";

/** A file system under test, with a fresh empty directory to work in. */
interface Target {
  fs: FileSystem;
  dir: string;
  cleanup(): void;
}

function nodeTarget(): Target {
  const dir = nodeFs.mkdtempSync(join(tmpdir(), "hestia-fs-contract-"));
  return {
    fs: new NodeFileSystem(),
    dir,
    cleanup: () => nodeFs.rmSync(dir, { recursive: true, force: true }),
  };
}

function memoryTarget(): Target {
  const fs = new MemoryFileSystem();
  fs.mkdir("/work");
  return { fs, dir: "/work", cleanup: () => {} };
}

const bytes = (...values: number[]) => new Uint8Array(values);

function contractSuite(name: string, makeTarget: () => Target): void {
  describe(`${name} (FileSystem contract)`, () => {
    let target: Target;
    let fs: FileSystem;
    let handles: FileHandle[];
    const p = (...parts: string[]) => join(target.dir, ...parts);

    function open(path: string, mode: OpenMode): FileHandle {
      const handle = fs.open(path, mode);
      handles.push(handle);
      return handle;
    }

    beforeEach(() => {
      target = makeTarget();
      fs = target.fs;
      handles = [];
    });

    afterEach(() => {
      for (const handle of handles) handle.close();
      target.cleanup();
    });

    it(`${name}.open("create") makes an empty file and refuses an existing one`, () => {
      const handle = open(p("a"), "create");
      assertEquals(handle.size(), 0);
      assertEquals(handle.path, p("a"));
      assertEquals(fs.stat(p("a")), { kind: "file", size: 0 });
      assertThrows(() => fs.open(p("a"), "create"), AlreadyExistsError);
    });

    it(`${name}.open() raises NotFoundError for a missing file in "read" and "write" mode`, () => {
      assertThrows(() => fs.open(p("missing"), "read"), NotFoundError);
      assertThrows(() => fs.open(p("missing"), "write"), NotFoundError);
      assertEquals(fs.stat(p("missing")), undefined);
    });

    it(`${name}.open() raises NotFoundError when the parent directory is missing`, () => {
      assertThrows(() => fs.open(p("nope", "a"), "create"), NotFoundError);
      assertThrows(() => fs.open(p("nope", "a"), "append"), NotFoundError);
    });

    it(`${name}.open() raises IoError on a directory or through a file`, () => {
      fs.mkdir(p("d"));
      for (const mode of ["read", "write", "append"] as const) {
        assertThrows(() => fs.open(p("d"), mode), IoError);
      }
      assertThrows(() => fs.open(p("d"), "create"), AlreadyExistsError);
      open(p("f"), "create");
      assertThrows(() => fs.open(p("f", "x"), "create"), IoError);
    });

    it(`${name}.open("append") creates a missing file and appends after existing bytes`, () => {
      const first = open(p("log"), "append");
      first.append(bytes(1, 2));
      first.close();
      const second = open(p("log"), "append");
      assertEquals(second.size(), 2);
      second.append(bytes(3));
      assertEquals(fs.readFile(p("log")), bytes(1, 2, 3));
    });

    it(`${name}.open("append") still writes at the given position with write()`, () => {
      const handle = open(p("f"), "append");
      handle.append(bytes(1, 2, 3, 4));
      handle.write(1, bytes(9));
      assertEquals(fs.readFile(p("f")), bytes(1, 9, 3, 4));
    });

    it(`${name} FileHandle.append() and write() keep no reference to the data`, () => {
      const handle = open(p("f"), "append");
      const data = bytes(1, 2, 3);
      handle.append(data);
      data.fill(7);
      handle.write(0, data.subarray(0, 1));
      data.fill(8);
      assertEquals(fs.readFile(p("f")), bytes(7, 2, 3));
    });

    it(`${name}.open("write") keeps the content and writes in place`, () => {
      open(p("f"), "create").append(bytes(1, 2, 3));
      const handle = open(p("f"), "write");
      assertEquals(handle.size(), 3);
      handle.write(0, bytes(7));
      handle.append(bytes(8));
      assertEquals(fs.readFile(p("f")), bytes(7, 2, 3, 8));
    });

    it(`${name} FileHandle.read() returns fewer bytes at the end of the file and none past it`, () => {
      const handle = open(p("f"), "create");
      handle.append(bytes(1, 2, 3, 4, 5));
      assertEquals(handle.read(0, 5), bytes(1, 2, 3, 4, 5));
      assertEquals(handle.read(3, 10), bytes(4, 5));
      assertEquals(handle.read(5, 4), bytes());
      assertEquals(handle.read(100, 4), bytes());
      assertEquals(handle.read(2, 0), bytes());
    });

    it(`${name} FileHandle.readInto() fills the buffer's front and counts short reads at the end`, () => {
      const handle = open(p("f"), "create");
      handle.append(bytes(1, 2, 3, 4, 5));
      const buffer = new Uint8Array(6).fill(9);
      assertEquals(handle.readInto(1, buffer, 3), 3);
      assertEquals(buffer, bytes(2, 3, 4, 9, 9, 9));
      assertEquals(handle.readInto(3, buffer), 2);
      assertEquals(buffer, bytes(4, 5, 4, 9, 9, 9));
      assertEquals(handle.readInto(5, buffer), 0);
      assertEquals(handle.readInto(100, buffer, 4), 0);
      assertEquals(handle.readInto(0, buffer, 0), 0);
      assertEquals(buffer, bytes(4, 5, 4, 9, 9, 9));
    });

    it(`${name} FileHandle.readInto() rejects bad positions, lengths past the buffer, and a closed handle`, () => {
      const handle = open(p("f"), "create");
      handle.append(bytes(1, 2, 3));
      assertThrows(() => handle.readInto(-1, new Uint8Array(1)), RangeError);
      assertThrows(() => handle.readInto(0, new Uint8Array(2), 3), RangeError);
      assertThrows(() => handle.readInto(0, new Uint8Array(2), 1.5), RangeError);
      handle.close();
      assertThrows(() => handle.readInto(0, new Uint8Array(1)), ClosedError);
    });

    it(`${name} FileHandle.read() returns an array the caller may keep and change`, () => {
      const handle = open(p("f"), "create");
      handle.append(bytes(1, 2, 3));
      const got = handle.read(0, 3);
      got[0] = 99;
      assertEquals(handle.read(0, 3), bytes(1, 2, 3));
      const whole = fs.readFile(p("f"));
      whole[1] = 99;
      assertEquals(fs.readFile(p("f")), bytes(1, 2, 3));
    });

    it(`${name} FileHandle.write() past the end grows the file and zero-fills the gap`, () => {
      const handle = open(p("f"), "create");
      handle.append(bytes(1, 2));
      handle.write(5, bytes(7, 8));
      assertEquals(handle.size(), 7);
      assertEquals(fs.readFile(p("f")), bytes(1, 2, 0, 0, 0, 7, 8));
      handle.append(bytes(9));
      assertEquals(fs.stat(p("f")), { kind: "file", size: 8 });
    });

    it(`${name} FileHandle.write() copies the data, so later changes by the caller do not leak`, () => {
      const handle = open(p("f"), "create");
      const data = bytes(1, 2, 3);
      handle.write(0, data);
      data[0] = 99;
      assertEquals(fs.readFile(p("f")), bytes(1, 2, 3));
    });

    it(`${name} FileHandle.truncate() cuts the file and zero-fills when it grows again`, () => {
      const handle = open(p("f"), "create");
      handle.append(bytes(1, 2, 3, 4, 5));
      handle.truncate(2);
      assertEquals(handle.size(), 2);
      assertEquals(handle.read(0, 10), bytes(1, 2));
      handle.truncate(4);
      assertEquals(fs.readFile(p("f")), bytes(1, 2, 0, 0));
      handle.append(bytes(6));
      assertEquals(fs.readFile(p("f")), bytes(1, 2, 0, 0, 6));
    });

    it(`${name} FileHandle refuses writes on a handle opened for reading`, () => {
      open(p("f"), "create").append(bytes(1));
      const reader = open(p("f"), "read");
      assertThrows(() => reader.write(0, bytes(2)), IoError);
      assertThrows(() => reader.append(bytes(2)), IoError);
      assertThrows(() => reader.truncate(0), IoError);
      assertEquals(fs.readFile(p("f")), bytes(1));
    });

    it(`${name} FileHandle.size() of a reader follows a writer of the same file`, () => {
      const writer = open(p("f"), "create");
      const reader = open(p("f"), "read");
      writer.append(bytes(1, 2, 3));
      assertEquals(reader.size(), 3);
      assertEquals(reader.read(0, 3), bytes(1, 2, 3));
    });

    it(`${name} FileHandle raises RangeError for a negative or fractional position`, () => {
      const handle = open(p("f"), "create");
      assertThrows(() => handle.read(-1, 1), RangeError);
      assertThrows(() => handle.read(0, 1.5), RangeError);
      assertThrows(() => handle.write(-1, bytes(1)), RangeError);
      assertThrows(() => handle.truncate(-1), RangeError);
    });

    it(`${name} FileHandle raises ClosedError after close(), and a second close() does nothing`, async () => {
      const handle = open(p("f"), "create");
      handle.close();
      handle.close();
      assertThrows(() => handle.size(), ClosedError);
      assertThrows(() => handle.read(0, 1), ClosedError);
      assertThrows(() => handle.write(0, bytes(1)), ClosedError);
      assertThrows(() => handle.append(bytes(1)), ClosedError);
      assertThrows(() => handle.truncate(0), ClosedError);
      await assertRejects(() => handle.sync(), ClosedError);
    });

    it(`${name} FileHandle.sync() resolves, and close() right after it is safe`, async () => {
      const handle = open(p("f"), "create");
      handle.append(bytes(1, 2, 3));
      const flushed = handle.sync();
      handle.close();
      await flushed;
      assertEquals(fs.readFile(p("f")), bytes(1, 2, 3));
    });

    it(`${name} FileHandle keeps working after its file is renamed or removed`, () => {
      const handle = open(p("f"), "create");
      handle.append(bytes(1));
      fs.rename(p("f"), p("g"));
      handle.append(bytes(2));
      assertEquals(fs.readFile(p("g")), bytes(1, 2));
      fs.remove(p("g"));
      handle.append(bytes(3));
      assertEquals(handle.read(0, 3), bytes(1, 2, 3));
    });

    it(`${name}.readFile() reads a whole file and refuses a missing path or a directory`, () => {
      open(p("f"), "create").append(bytes(4, 5, 6));
      assertEquals(fs.readFile(p("f")), bytes(4, 5, 6));
      open(p("empty"), "create");
      assertEquals(fs.readFile(p("empty")), bytes());
      assertThrows(() => fs.readFile(p("missing")), NotFoundError);
      fs.mkdir(p("d"));
      assertThrows(() => fs.readFile(p("d")), IoError);
    });

    it(`${name}.stat() tells files from directories, and undefined for nothing`, () => {
      open(p("f"), "create").append(bytes(1, 2));
      fs.mkdir(p("d"));
      assertEquals(fs.stat(p("f")), { kind: "file", size: 2 });
      assertEquals(fs.stat(p("d")), { kind: "directory", size: 0 });
      assertEquals(fs.stat(p("missing")), undefined);
      assertEquals(fs.stat(p("f", "below")), undefined);
    });

    it(`${name}.list() returns names sorted by UTF-16 code unit`, () => {
      for (const name of ["b", "a", "B", "é", "10", "9", "a.tmp"]) open(p(name), "create");
      fs.mkdir(p("dir"));
      assertEquals(fs.list(target.dir), ["10", "9", "B", "a", "a.tmp", "b", "dir", "é"]);
      assertEquals(fs.list(p("dir")), []);
    });

    it(`${name}.list() raises NotFoundError for a missing directory and IoError for a file`, () => {
      open(p("f"), "create");
      assertThrows(() => fs.list(p("missing")), NotFoundError);
      assertThrows(() => fs.list(p("f")), IoError);
    });

    it(`${name}.mkdir() creates missing parents and accepts an existing directory`, () => {
      fs.mkdir(p("a", "b", "c"));
      fs.mkdir(p("a", "b", "c"));
      fs.mkdir(p("a"));
      assertEquals(fs.stat(p("a", "b", "c")), { kind: "directory", size: 0 });
      assertEquals(fs.list(p("a")), ["b"]);
    });

    it(`${name}.mkdir() raises AlreadyExistsError on a file and IoError below one`, () => {
      open(p("f"), "create");
      assertThrows(() => fs.mkdir(p("f")), AlreadyExistsError);
      assertThrows(() => fs.mkdir(p("f", "x")), IoError);
    });

    it(`${name}.remove() removes a file or an empty directory only`, () => {
      open(p("f"), "create");
      fs.mkdir(p("empty"));
      fs.mkdir(p("full"));
      open(p("full", "x"), "create");
      fs.remove(p("f"));
      fs.remove(p("empty"));
      assertThrows(() => fs.remove(p("full")), IoError);
      assertThrows(() => fs.remove(p("f")), NotFoundError);
      assertThrows(() => fs.remove(p("nope", "f")), NotFoundError);
      assertEquals(fs.list(target.dir), ["full"]);
    });

    it(`${name}.removeTree() removes a directory with everything below, and accepts a missing one`, () => {
      fs.mkdir(p("t", "a", "b"));
      open(p("t", "a", "b", "f"), "create").append(bytes(1));
      open(p("t", "g"), "create");
      fs.removeTree(p("t"));
      assertEquals(fs.stat(p("t")), undefined);
      fs.removeTree(p("t"));
      fs.removeTree(p("never", "was"));
      assertEquals(fs.list(target.dir), []);
    });

    it(`${name}.rename() moves a file to a new name`, () => {
      open(p("a"), "create").append(bytes(1));
      fs.mkdir(p("d"));
      fs.rename(p("a"), p("d", "b"));
      assertEquals(fs.list(target.dir), ["d"]);
      assertEquals(fs.readFile(p("d", "b")), bytes(1));
    });

    it(`${name}.rename() replaces an existing file, and a reader of the old one keeps its bytes`, () => {
      open(p("old"), "create").append(bytes(1, 1));
      const reader = open(p("old"), "read");
      open(p("new"), "create").append(bytes(2, 2, 2));
      fs.rename(p("new"), p("old"));
      assertEquals(fs.readFile(p("old")), bytes(2, 2, 2));
      assertEquals(fs.list(target.dir), ["old"]);
      assertEquals(reader.read(0, 10), bytes(1, 1));
    });

    it(`${name}.rename() onto itself changes nothing`, () => {
      open(p("a"), "create").append(bytes(5));
      fs.rename(p("a"), p("a"));
      assertEquals(fs.readFile(p("a")), bytes(5));
    });

    it(`${name}.rename() raises NotFoundError for a missing source or target directory`, () => {
      open(p("a"), "create");
      assertThrows(() => fs.rename(p("missing"), p("b")), NotFoundError);
      assertThrows(() => fs.rename(p("a"), p("nope", "b")), NotFoundError);
      assertEquals(fs.list(target.dir), ["a"]);
    });

    it(`${name}.rename() raises IoError for a file onto a directory and a directory onto a file`, () => {
      open(p("f"), "create");
      fs.mkdir(p("d"));
      assertThrows(() => fs.rename(p("f"), p("d")), IoError);
      assertThrows(() => fs.rename(p("d"), p("f")), IoError);
      assertThrows(() => fs.rename(p("d"), p("d", "inside")), IoError);
    });

    it(`${name}.syncDir() resolves for a directory and rejects for a missing one or a file`, async () => {
      open(p("f"), "create");
      await fs.syncDir(target.dir);
      await assertRejects(() => fs.syncDir(p("missing")), NotFoundError);
      await assertRejects(() => fs.syncDir(p("f")), IoError);
    });

    it(`${name}.lock() excludes a second opener until release(), which may be called twice`, () => {
      const lock = fs.lock(p("LOCK"));
      assertEquals(lock.path, p("LOCK"));
      assertEquals(lock.recoveredStale, false);
      assertEquals(fs.stat(p("LOCK"))?.kind, "file");
      const error = assertThrows(() => fs.lock(p("LOCK")), LockedError);
      assertEquals(error.path, p("LOCK"));
      lock.release();
      lock.release();
      assertEquals(fs.stat(p("LOCK")), undefined);
      const again = fs.lock(p("LOCK"));
      assertEquals(again.recoveredStale, false);
      again.release();
    });

    it(`${name}.lock() raises NotFoundError when the directory is missing`, () => {
      assertThrows(() => fs.lock(p("nope", "LOCK")), NotFoundError);
    });

    it(`${name}.lock() refuses a lock file it cannot read`, () => {
      open(p("LOCK"), "create").append(new TextEncoder().encode("not json"));
      const error = assertThrows(() => fs.lock(p("LOCK")), LockedError);
      assert(error.message.includes("remove it"), error.message);
      assertEquals(fs.readFile(p("LOCK")), new TextEncoder().encode("not json"));
    });
  });
}

contractSuite("NodeFileSystem", nodeTarget);
contractSuite("MemoryFileSystem", memoryTarget);

/** One step of a random script run against both implementations. */
type Step =
  | { op: "open"; name: string; mode: OpenMode }
  | { op: "write"; position: number; data: number[] }
  | { op: "append"; data: number[] }
  | { op: "truncate"; length: number }
  | { op: "read"; position: number; length: number }
  | { op: "size" | "close" | "sync" }
  | { op: "readFile" | "stat" | "remove" | "removeTree" | "mkdir" | "list" | "syncDir"; name: string }
  | { op: "rename"; from: string; to: string };

const NAMES = ["a", "b", "d", "d/a", "d/e", "d/e/f"];

function stepArbitrary(): fc.Arbitrary<Step> {
  const name = fc.constantFrom(...NAMES);
  const data = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 12 });
  const pathStep = fc.record({
    op: fc.constantFrom(
      "readFile" as const,
      "stat" as const,
      "remove" as const,
      "removeTree" as const,
      "mkdir" as const,
      "list" as const,
      "syncDir" as const,
    ),
    name,
  });
  // Handle steps outweigh path steps, so that scripts spend most of their length on an open file.
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant("open" as const),
        name,
        mode: fc.constantFrom<OpenMode>("read", "write", "create", "append", "append"),
      }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("write" as const), position: fc.nat(40), data }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("append" as const), data }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("truncate" as const), length: fc.nat(50) }) },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant("read" as const), position: fc.nat(50), length: fc.nat(20) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constantFrom("size" as const, "close" as const, "sync" as const) }),
    },
    { weight: 4, arbitrary: pathStep },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("rename" as const), from: name, to: name }) },
  );
}

/**
 * Runs `steps`, recording each result or the class of its error. At most one
 * handle is open at a time: the node handle tracks its own end, so two
 * writers of one file are outside the contract.
 */
async function runScript(fs: FileSystem, root: string, steps: Step[]): Promise<unknown[]> {
  const results: unknown[] = [];
  let handle: FileHandle | undefined;
  const at = (name: string) => join(root, name);
  for (const step of steps) {
    try {
      results.push(await runStep(step));
    } catch (error) {
      assertInstanceOf(error, Error);
      results.push(`${error.constructor.name}`);
    }
  }
  handle?.close();
  return results;

  async function runStep(step: Step): Promise<unknown> {
    switch (step.op) {
      case "open":
        handle?.close();
        handle = undefined;
        handle = fs.open(at(step.name), step.mode);
        return "opened";
      case "readFile":
        return Array.from(fs.readFile(at(step.name)));
      case "stat":
        return fs.stat(at(step.name)) ?? "none";
      case "list":
        return fs.list(at(step.name));
      case "mkdir":
        return fs.mkdir(at(step.name));
      case "remove":
        return fs.remove(at(step.name));
      case "removeTree":
        return fs.removeTree(at(step.name));
      case "syncDir":
        return await fs.syncDir(at(step.name));
      case "rename":
        return fs.rename(at(step.from), at(step.to));
    }
    // Without an open handle, a handle step first opens "a", so that scripts rarely idle.
    handle ??= fs.open(at("a"), "append");
    switch (step.op) {
      case "write":
        return handle.write(step.position, new Uint8Array(step.data));
      case "append":
        return handle.append(new Uint8Array(step.data));
      case "truncate":
        return handle.truncate(step.length);
      case "read":
        return Array.from(handle.read(step.position, step.length));
      case "size":
        return handle.size();
      case "sync":
        return await handle.sync();
      case "close":
        handle.close();
        return "closed";
    }
  }
}

describe("MemoryFileSystem and NodeFileSystem", () => {
  it("MemoryFileSystem gives the same results and errors as NodeFileSystem for random scripts", async () => {
    const root = nodeFs.mkdtempSync(join(tmpdir(), "hestia-fs-model-"));
    try {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(stepArbitrary(), { minLength: 10, maxLength: 60 }), async (steps) => {
          const dir = join(root, String(run++));
          nodeFs.mkdirSync(dir);
          const memory = new MemoryFileSystem();
          memory.mkdir("/run");
          const expected = await runScript(new NodeFileSystem(), dir, steps);
          const actual = await runScript(memory, "/run", steps);
          assertEquals(actual, expected);
          const tree = (fs: FileSystem, base: string) => snapshotTree(fs, base);
          assertEquals(tree(memory, "/run"), tree(new NodeFileSystem(), dir));
        }),
        { numRuns: 200 },
      );
    } finally {
      nodeFs.rmSync(root, { recursive: true, force: true });
    }
  });
});

/** Every path below `dir` with its content (files) or "dir". */
function snapshotTree(fs: FileSystem, dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const visit = (path: string, rel: string) => {
    for (const name of fs.list(path)) {
      const child = join(path, name);
      const key = rel ? `${rel}/${name}` : name;
      if (fs.stat(child)?.kind === "directory") {
        out[key] = "dir";
        visit(child, key);
      } else {
        out[key] = Array.from(fs.readFile(child));
      }
    }
  };
  visit(dir, "");
  return out;
}
