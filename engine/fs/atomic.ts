/**
 * Atomic file replacement: a new version is written beside the target,
 * flushed, and renamed over it, so that after a crash at any point the
 * target holds either its complete old content (or is still absent) or the
 * complete new content. A file is never overwritten in place.
 *
 * The protocol, for a target `path`:
 * 1. remove a stale `path.tmp` left by an earlier crash, and create it anew;
 * 2. write the new content into `path.tmp`;
 * 3. `sync()` it, so its bytes are durable before any name points at them;
 * 4. close it and rename `path.tmp` to `path`, replacing the old file;
 * 5. `syncDir()` the parent, making the rename durable.
 *
 * Until step 5 completes a crash brings back the old file; afterwards the
 * new one.
 *
 * @module
 */
import { ClosedError, NotFoundError } from "../errors.ts";
import type { FileHandle, FileSystem } from "./file_system.ts";
import { dirname } from "./path.ts";

/** Suffix of the temporary file written beside the target. */
export const TMP_SUFFIX = ".tmp";

/**
 * Replaces the file at `path` with `data` atomically; see the module doc
 * for the protocol. Resolves once the new content is durable. If it
 * rejects, `path` holds the old or the new content, and so it does after a
 * crash.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { writeFileAtomic } from "./atomic.ts";
 * import { MemoryFileSystem } from "./mem_fs.ts";
 *
 * const fs = new MemoryFileSystem();
 * await writeFileAtomic(fs, "/CURRENT", new TextEncoder().encode("MANIFEST-2\n"));
 * fs.crash();
 * assertEquals(new TextDecoder().decode(fs.readFile("/CURRENT")), "MANIFEST-2\n");
 * ```
 */
export async function writeFileAtomic(fs: FileSystem, path: string, data: Uint8Array): Promise<void> {
  const writer = AtomicFileWriter.begin(fs, path);
  try {
    writer.append(data);
  } catch (error) {
    writer.abort();
    throw error;
  }
  await writer.commit();
}

/**
 * Streams a new version of a file into `path.tmp`, then replaces `path`
 * with it in {@linkcode AtomicFileWriter.commit}. One writer per target at
 * a time; a second `begin()` on the same path discards the first one's
 * temporary file.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { AtomicFileWriter } from "./atomic.ts";
 * import { MemoryFileSystem } from "./mem_fs.ts";
 *
 * const fs = new MemoryFileSystem();
 * const writer = AtomicFileWriter.begin(fs, "/table");
 * writer.append(new Uint8Array([1, 2, 3]));
 * writer.append(new Uint8Array([4]));
 * await writer.commit();
 * assertEquals(fs.readFile("/table"), new Uint8Array([1, 2, 3, 4]));
 * ```
 */
export class AtomicFileWriter {
  /** The file this writer replaces. */
  readonly path: string;
  /** The temporary file the new content goes to until the commit. */
  readonly tmpPath: string;
  #fs: FileSystem;
  #handle: FileHandle;
  #size = 0;
  #state: "writing" | "committing" | "done" = "writing";

  private constructor(fs: FileSystem, path: string, handle: FileHandle) {
    this.#fs = fs;
    this.path = path;
    this.tmpPath = handle.path;
    this.#handle = handle;
  }

  /**
   * Starts a replacement of `path`: removes a stale `path.tmp` and creates
   * it empty. `path` itself is untouched until the commit.
   *
   * @throws {NotFoundError} the directory of `path` is missing.
   */
  static begin(fs: FileSystem, path: string): AtomicFileWriter {
    const tmpPath = path + TMP_SUFFIX;
    try {
      fs.remove(tmpPath);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    return new AtomicFileWriter(fs, path, fs.open(tmpPath, "create"));
  }

  /** Bytes appended so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * Appends `bytes` to the new content.
   *
   * @throws {ClosedError} after `commit()` started or `abort()`.
   */
  append(bytes: Uint8Array): void {
    if (this.#state !== "writing") throw new ClosedError(`Cannot append to ${this.tmpPath}: writer finished`);
    this.#handle.append(bytes);
    this.#size += bytes.length;
  }

  /**
   * Flushes the temporary file, renames it over `path`, and flushes the
   * directory. If the flush or the rename fails, the temporary file is
   * removed and `path` keeps its old content; if only the directory flush
   * fails, `path` already shows the new content but a crash may bring the
   * old one back.
   *
   * @throws {ClosedError} called twice, or after `abort()`.
   */
  async commit(): Promise<void> {
    if (this.#state !== "writing") throw new ClosedError(`Cannot commit ${this.path}: writer finished`);
    this.#state = "committing";
    try {
      await this.#handle.sync();
      this.#handle.close();
      this.#fs.rename(this.tmpPath, this.path);
    } catch (error) {
      this.#discard();
      throw error;
    }
    this.#state = "done";
    await this.#fs.syncDir(dirname(this.path));
  }

  /**
   * Gives up: closes and removes the temporary file, leaving `path` as it
   * was. Best effort and never throws (a leftover temporary file is removed
   * by the next `begin()`); does nothing once `commit()` has started, which
   * cleans up after itself.
   */
  abort(): void {
    if (this.#state !== "writing") return;
    this.#discard();
  }

  #discard(): void {
    this.#state = "done";
    try {
      this.#handle.close();
    } catch {
      // The handle is being thrown away; a failing close changes nothing for the caller.
    }
    try {
      this.#fs.remove(this.tmpPath);
    } catch {
      // Removed by the next begin(); the target was never touched.
    }
  }
}
