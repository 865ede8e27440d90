import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import { ClosedError, NotFoundError } from "../../../engine/errors.ts";
import { MemoryFileSystem } from "../../../engine/fs/mem_fs.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

/** A file system with a durable directory `/db`. */
async function withDb(): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  fs.mkdir("/db");
  await fs.syncDir("/");
  return fs;
}

/** Creates `path` with `data`, durable in content and in its directory. */
async function durableFile(fs: MemoryFileSystem, path: string, data: Uint8Array): Promise<void> {
  const handle = fs.open(path, "create");
  handle.append(data);
  await handle.sync();
  handle.close();
  await fs.syncDir(path.slice(0, path.lastIndexOf("/")) || "/");
}

describe("MemoryFileSystem.crash()", () => {
  it("MemoryFileSystem.crash() drops bytes written after the last sync", async () => {
    const fs = await withDb();
    const handle = fs.open("/db/log", "create");
    handle.append(bytes(1, 2, 3));
    await handle.sync();
    await fs.syncDir("/db");
    handle.append(bytes(4, 5));
    handle.write(10, bytes(6));
    fs.crash();
    assertEquals(fs.readFile("/db/log"), bytes(1, 2, 3));
  });

  it("MemoryFileSystem.crash() keeps every byte that was synced", async () => {
    const fs = await withDb();
    const handle = fs.open("/db/log", "create");
    handle.append(bytes(1, 2));
    await handle.sync();
    handle.append(bytes(3));
    await handle.sync();
    await fs.syncDir("/db");
    fs.crash();
    assertEquals(fs.readFile("/db/log"), bytes(1, 2, 3));
  });

  it("MemoryFileSystem.crash() brings back synced bytes overwritten in place after the sync", async () => {
    const fs = await withDb();
    await durableFile(fs, "/db/f", bytes(1, 2, 3, 4));
    const handle = fs.open("/db/f", "write");
    handle.write(1, bytes(9, 9));
    handle.append(bytes(5));
    assertEquals(fs.readFile("/db/f"), bytes(1, 9, 9, 4, 5));
    fs.crash();
    assertEquals(fs.readFile("/db/f"), bytes(1, 2, 3, 4));
  });

  it("MemoryFileSystem.crash() undoes a truncation that was not synced", async () => {
    const fs = await withDb();
    await durableFile(fs, "/db/f", bytes(1, 2, 3, 4));
    const handle = fs.open("/db/f", "write");
    handle.truncate(1);
    handle.append(bytes(7));
    fs.crash();
    assertEquals(fs.readFile("/db/f"), bytes(1, 2, 3, 4));
  });

  it("MemoryFileSystem.crash() drops a synced file whose directory was not synced after its creation", async () => {
    const fs = await withDb();
    const handle = fs.open("/db/new", "create");
    handle.append(bytes(1));
    await handle.sync();
    fs.crash();
    assertEquals(fs.stat("/db/new"), undefined);
    assertEquals(fs.list("/db"), []);
  });

  it("MemoryFileSystem.crash() keeps a created file after syncDir(), with only its synced bytes", async () => {
    const fs = await withDb();
    fs.open("/db/empty", "create").append(bytes(1, 2));
    await fs.syncDir("/db");
    fs.crash();
    assertEquals(fs.readFile("/db/empty"), bytes());
  });

  it("MemoryFileSystem.crash() undoes a rename not followed by syncDir()", async () => {
    const fs = await withDb();
    await durableFile(fs, "/db/a", bytes(1));
    await durableFile(fs, "/db/b", bytes(2));
    fs.rename("/db/a", "/db/b");
    assertEquals(fs.list("/db"), ["b"]);
    fs.crash();
    assertEquals(fs.list("/db"), ["a", "b"]);
    assertEquals(fs.readFile("/db/a"), bytes(1));
    assertEquals(fs.readFile("/db/b"), bytes(2));
  });

  it("MemoryFileSystem.crash() keeps a rename followed by syncDir()", async () => {
    const fs = await withDb();
    await durableFile(fs, "/db/a", bytes(1));
    await durableFile(fs, "/db/b", bytes(2));
    fs.rename("/db/a", "/db/b");
    await fs.syncDir("/db");
    fs.crash();
    assertEquals(fs.list("/db"), ["b"]);
    assertEquals(fs.readFile("/db/b"), bytes(1));
  });

  it("MemoryFileSystem.crash() brings back a file removed without syncDir()", async () => {
    const fs = await withDb();
    await durableFile(fs, "/db/a", bytes(1));
    fs.remove("/db/a");
    fs.crash();
    assertEquals(fs.readFile("/db/a"), bytes(1));
    fs.remove("/db/a");
    await fs.syncDir("/db");
    fs.crash();
    assertEquals(fs.stat("/db/a"), undefined);
  });

  it("MemoryFileSystem.crash() moves a file between directories only as far as both were synced", async () => {
    const fs = await withDb();
    fs.mkdir("/db/archive");
    await fs.syncDir("/db");
    await durableFile(fs, "/db/a", bytes(1));
    fs.rename("/db/a", "/db/archive/a");
    await fs.syncDir("/db/archive");
    fs.crash();
    // The new name was synced and the old one not yet removed durably: the file shows in both.
    assertEquals(fs.readFile("/db/a"), bytes(1));
    assertEquals(fs.readFile("/db/archive/a"), bytes(1));
  });

  it("MemoryFileSystem.crash() loses a directory made by mkdir() until its parent is synced", async () => {
    const fs = await withDb();
    fs.mkdir("/db/part/sub");
    await durableFile(fs, "/db/part/sub/f", bytes(1));
    await fs.syncDir("/db/part");
    fs.crash();
    assertEquals(fs.stat("/db/part"), undefined);
  });

  it("MemoryFileSystem.crash() keeps a directory whose parent was synced, with entries of its own last syncDir()", async () => {
    const fs = await withDb();
    fs.mkdir("/db/part");
    await fs.syncDir("/db");
    await durableFile(fs, "/db/part/kept", bytes(1));
    fs.open("/db/part/lost", "create");
    fs.crash();
    assertEquals(fs.list("/db/part"), ["kept"]);
  });

  it("MemoryFileSystem.crash() keeps the root directory, which needs no sync", () => {
    const fs = new MemoryFileSystem();
    fs.mkdir("/db");
    fs.crash();
    assertEquals(fs.list("/"), []);
  });

  it("MemoryFileSystem.crash() makes open handles fail with ClosedError", async () => {
    const fs = await withDb();
    await durableFile(fs, "/db/f", bytes(1));
    const handle = fs.open("/db/f", "write");
    fs.crash();
    assertThrows(() => handle.read(0, 1), ClosedError);
    assertThrows(() => handle.append(bytes(2)), ClosedError);
    assertThrows(() => handle.size(), ClosedError);
    await assertRejects(() => handle.sync(), ClosedError);
    handle.close();
    assertEquals(fs.readFile("/db/f"), bytes(1));
    const fresh = fs.open("/db/f", "append");
    fresh.append(bytes(2));
    assertEquals(fs.readFile("/db/f"), bytes(1, 2));
  });

  it("MemoryFileSystem.crash() twice in a row changes nothing more", async () => {
    const fs = await withDb();
    await durableFile(fs, "/db/f", bytes(1, 2));
    fs.open("/db/f", "append").append(bytes(3));
    fs.crash();
    fs.crash();
    assertEquals(fs.readFile("/db/f"), bytes(1, 2));
  });

  it("MemoryFileSystem names the same file with and without a leading slash", async () => {
    const fs = await withDb();
    fs.open("db/./x/../f", "create").append(bytes(1));
    assertEquals(fs.readFile("/db/f"), bytes(1));
    assertThrows(() => fs.readFile(""), NotFoundError);
  });

  it("MemoryFileSystem.crash() keeps exactly the content of the last sync, for any writes", async () => {
    type Edit =
      | { kind: "write"; position: number; data: number[] }
      | { kind: "append"; data: number[] }
      | { kind: "truncate"; length: number }
      | { kind: "sync" };
    const data = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 30 });
    const edit: fc.Arbitrary<Edit> = fc.oneof(
      fc.record({ kind: fc.constant("write" as const), position: fc.nat(100), data }),
      fc.record({ kind: fc.constant("append" as const), data }),
      fc.record({ kind: fc.constant("truncate" as const), length: fc.nat(120) }),
      fc.record({ kind: fc.constant("sync" as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { maxLength: 40 }), async (edits) => {
        const fs = await withDb();
        const handle = fs.open("/db/f", "create");
        await fs.syncDir("/db");
        let model = new Uint8Array(0);
        let synced = model;
        for (const e of edits) {
          if (e.kind === "sync") {
            await handle.sync();
            synced = model.slice();
            continue;
          }
          if (e.kind === "write" || e.kind === "append") {
            const position = e.kind === "write" ? e.position : model.length;
            const grown = new Uint8Array(Math.max(model.length, position + e.data.length));
            grown.set(model);
            grown.set(e.data, position);
            model = grown;
            if (e.kind === "write") handle.write(e.position, new Uint8Array(e.data));
            else handle.append(new Uint8Array(e.data));
          } else {
            const cut = new Uint8Array(e.length);
            cut.set(model.subarray(0, Math.min(e.length, model.length)));
            model = cut;
            handle.truncate(e.length);
          }
          assertEquals(fs.readFile("/db/f"), model);
        }
        fs.crash();
        assertEquals(fs.readFile("/db/f"), synced);
        // After the crash the file grows again from its synced bytes, with zeros in any gap.
        const again = fs.open("/db/f", "write");
        again.write(synced.length + 2, bytes(7));
        const expected = new Uint8Array(synced.length + 3);
        expected.set(synced);
        expected[synced.length + 2] = 7;
        assertEquals(fs.readFile("/db/f"), expected);
        again.close();
      }),
      { numRuns: 200 },
    );
  });
});
