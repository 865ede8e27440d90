/**
 * The log writes the records of a turn together, so a table can hold records
 * the log has not written yet. A manifest that names such a table must not
 * become durable before the log has them: after a crash the log replays the
 * records after its checkpoint, and an older record it replays without the
 * newer one the table holds brings an overwritten or deleted value back.
 *
 * @module
 */
import { assertEquals } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { SegmentIndex, STRING } from "../../engine/mod.ts";
import type { FileHandle, OpenMode } from "../../engine/fs/file_system.ts";
import { MemoryFileSystem } from "../../engine/fs/mem_fs.ts";

const DIR = "/db";

/**
 * A memory file system whose log syncs wait for a gate, and which keeps an
 * image of every file (what a process killed at that instant leaves behind)
 * the moment a manifest is renamed into place.
 */
class GatedFileSystem extends MemoryFileSystem {
  #gate: Promise<void> = Promise.resolve();
  #open: () => void = () => {};
  image: MemoryFileSystem | undefined;
  /** Take the image at the next manifest rename. */
  armed = false;

  closeGate(): void {
    this.#gate = new Promise((resolve) => this.#open = resolve);
  }

  openGate(): void {
    this.#open();
  }

  override open(path: string, mode: OpenMode): FileHandle {
    const handle = super.open(path, mode);
    if (!path.includes("/wal/")) return handle;
    const sync = handle.sync.bind(handle);
    handle.sync = async () => {
      await this.#gate;
      await sync();
    };
    return handle;
  }

  override rename(from: string, to: string): void {
    super.rename(from, to);
    if (this.armed && to.endsWith("/MANIFEST")) {
      this.armed = false;
      this.image = this.#copy();
    }
  }

  #copy(): MemoryFileSystem {
    const image = new MemoryFileSystem();
    const walk = (dir: string) => {
      image.mkdir(dir);
      for (const name of this.list(dir)) {
        const path = `${dir}/${name}`;
        if (this.stat(path)?.kind === "directory") walk(path);
        else image.open(path, "create").append(this.readFile(path));
      }
    };
    walk(DIR);
    return image;
  }
}

describe("SegmentIndex commit order", () => {
  for (const durability of ["sync", "group", "none"] as const) {
    it(`makes the log hold every record a committed table holds (${durability})`, async () => {
      const fs = new GatedFileSystem();
      const index = await SegmentIndex.create<string, string>(DIR, {
        fs,
        keyType: STRING,
        valueType: STRING,
        durability,
      });
      await index.put("k", "old");
      // A sync round stuck in its fsync (it wrote "x"): the delete appended meanwhile waits in the
      // log's buffer while a flush puts it in a table.
      fs.closeGate();
      const first = index.put("x", "1");
      await new Promise((resolve) => setTimeout(resolve, 5));
      const second = index.delete("k");
      setTimeout(() => fs.openGate(), 20);
      fs.armed = true;
      await index.flush();
      await Promise.all([first, second]);
      await index.close();
      const image = fs.image!;
      const reopened = await SegmentIndex.open<string, string>(DIR, { fs: image });
      assertEquals([reopened.get("k"), reopened.get("x")], [undefined, "1"]);
      await reopened.close();
    });
  }
});
