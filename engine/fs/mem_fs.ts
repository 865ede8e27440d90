/**
 * {@linkcode MemoryFileSystem}: a {@linkcode FileSystem} held entirely in
 * memory, for tests and ephemeral indexes, with a strict durability model
 * that {@linkcode MemoryFileSystem.crash} enforces.
 *
 * The model: every file keeps its current bytes and the bytes it had at its
 * last `sync()`; every directory keeps its current entries and the entries it
 * had at its last `syncDir()`. An entry (file or subdirectory) is durable
 * once its parent directory was synced after the entry was created, renamed
 * or removed; the root directory itself is always durable. So a directory
 * made by `mkdir()` survives a crash only after `syncDir()` of its parent,
 * and everything below a directory that did not survive is lost with it.
 *
 * Paths are POSIX-style; relative paths are taken from the root, so `a/b`
 * and `/a/b` name the same file.
 *
 * @module
 */
import { AlreadyExistsError, ClosedError, IoError, LockedError, NotFoundError } from "../errors.ts";
import type { FileHandle, FileInfo, FileLock, FileSystem, OpenMode } from "./file_system.ts";

const EMPTY = new Uint8Array(0);

/** One life of the file system between crashes; handles and locks die with it. */
interface Session {
  live: boolean;
  boot: number;
}

/**
 * A file's bytes. The durable content is `syncedCopy` when set, else the
 * first `syncedSize` bytes of `data`: appends after a sync leave that prefix
 * intact, so a copy is taken only when a write or truncate would change it.
 * Bytes of `data` past `size` are always zero.
 */
class MemFile {
  readonly kind = "file";
  data: Uint8Array = EMPTY;
  size = 0;
  syncedSize = 0;
  syncedCopy: Uint8Array | undefined;

  read(position: number, length: number): Uint8Array {
    const end = Math.min(this.size, position + length);
    return position >= end ? new Uint8Array(0) : this.data.slice(position, end);
  }

  readInto(position: number, buffer: Uint8Array, length: number): number {
    const end = Math.min(this.size, position + length);
    if (position >= end) return 0;
    buffer.set(this.data.subarray(position, end));
    return end - position;
  }

  write(position: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (position < this.syncedSize) this.#preserveSynced();
    this.#reserve(position + bytes.length);
    this.data.set(bytes, position);
    this.size = Math.max(this.size, position + bytes.length);
  }

  truncate(length: number): void {
    if (length < this.syncedSize) this.#preserveSynced();
    if (length < this.size) this.data.fill(0, length, this.size);
    else this.#reserve(length);
    this.size = length;
  }

  sync(): void {
    this.syncedCopy = undefined;
    this.syncedSize = this.size;
  }

  revert(): void {
    if (this.syncedCopy) {
      this.data = this.syncedCopy;
      this.syncedCopy = undefined;
    } else {
      this.data.fill(0, this.syncedSize, this.size);
    }
    this.size = this.syncedSize;
  }

  #preserveSynced(): void {
    this.syncedCopy ??= this.data.slice(0, this.syncedSize);
  }

  #reserve(length: number): void {
    if (length <= this.data.length) return;
    const grown = new Uint8Array(Math.max(length, this.data.length * 2, 64));
    grown.set(this.data.subarray(0, this.size));
    this.data = grown;
  }
}

class MemDir {
  readonly kind = "directory";
  entries = new Map<string, MemNode>();
  synced = new Map<string, MemNode>();
}

type MemNode = MemFile | MemDir;

/**
 * An in-memory file system whose {@linkcode MemoryFileSystem.crash} keeps
 * exactly what the durability contract of {@linkcode FileSystem} promises.
 * Not shared between processes: a lock excludes other openers of the same
 * instance only.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { MemoryFileSystem } from "./mem_fs.ts";
 *
 * const fs = new MemoryFileSystem();
 * const file = fs.open("/log", "create");
 * file.append(new Uint8Array([1, 2]));
 * await file.sync();
 * file.append(new Uint8Array([3]));
 * await fs.syncDir("/");
 * fs.crash();
 * assertEquals(fs.readFile("/log"), new Uint8Array([1, 2]));
 * ```
 */
export class MemoryFileSystem implements FileSystem {
  #root = new MemDir();
  #session: Session = { live: true, boot: 1 };
  #locks = new Set<string>();

  /**
   * Opens a file; handles keep working on the file after it is renamed or
   * removed, as on POSIX.
   *
   * @throws {NotFoundError} `read`/`write` on a missing file, or a missing parent directory.
   * @throws {AlreadyExistsError} `create` on an existing path.
   * @throws {IoError} the path is a directory or goes through a file.
   */
  open(path: string, mode: OpenMode): FileHandle {
    const { parent, name } = this.#parentOf("open", path);
    let node = parent.entries.get(name);
    if (node && mode === "create") throw new AlreadyExistsError(path);
    if (!node) {
      if (mode === "read" || mode === "write") throw new NotFoundError(path);
      node = new MemFile();
      parent.entries.set(name, node);
    }
    if (node.kind === "directory") throw ioError("open", path, "is a directory");
    return new MemFileHandle(path, node, mode !== "read", this.#session);
  }

  /**
   * Reads a whole file into a new array.
   *
   * @throws {NotFoundError} nothing at `path`.
   * @throws {IoError} `path` is a directory.
   */
  readFile(path: string): Uint8Array {
    const node = this.#find("readFile", path);
    if (node.kind === "directory") throw ioError("readFile", path, "is a directory");
    return node.read(0, node.size);
  }

  /** Kind and size (0 for a directory) of `path`, or `undefined` if nothing is there. */
  stat(path: string): FileInfo | undefined {
    const node = this.#walk(path);
    if (node === undefined || node === "notDir") return undefined;
    return node.kind === "file" ? { kind: "file", size: node.size } : { kind: "directory", size: 0 };
  }

  /**
   * Entry names of `dir`, sorted by UTF-16 code unit.
   *
   * @throws {NotFoundError} `dir` is missing.
   * @throws {IoError} `dir` is a file.
   */
  list(dir: string): string[] {
    return [...this.#findDir("list", dir).entries.keys()].sort();
  }

  /**
   * Creates `dir` and its missing parents. Each new directory is durable
   * only once its parent is passed to `syncDir()`.
   *
   * @throws {AlreadyExistsError} a file sits at `dir`.
   * @throws {IoError} a file sits at one of its parents.
   */
  mkdir(dir: string): void {
    const parts = splitPath(dir);
    let current = this.#root;
    for (let i = 0; i < parts.length; i++) {
      const next = current.entries.get(parts[i]);
      if (next?.kind === "file") {
        if (i === parts.length - 1) throw new AlreadyExistsError(dir);
        throw ioError("mkdir", dir, "not a directory");
      }
      if (next) {
        current = next;
      } else {
        const created = new MemDir();
        current.entries.set(parts[i], created);
        current = created;
      }
    }
  }

  /**
   * Removes a file or an empty directory.
   *
   * @throws {NotFoundError} nothing at `path`.
   * @throws {IoError} a directory that is not empty, or the root.
   */
  remove(path: string): void {
    const { parent, name } = this.#parentOf("remove", path);
    const node = parent.entries.get(name);
    if (!node) throw new NotFoundError(path);
    if (node.kind === "directory" && node.entries.size > 0) {
      throw ioError("remove", path, "directory not empty");
    }
    parent.entries.delete(name);
  }

  /**
   * Removes `dir` and everything below it; a missing `dir` is fine.
   *
   * @throws {IoError} `dir` goes through a file, or is the root.
   */
  removeTree(dir: string): void {
    const node = this.#walk(dir);
    if (node === undefined) return;
    if (node === "notDir") throw ioError("removeTree", dir, "not a directory");
    const { parent, name } = this.#parentOf("removeTree", dir);
    parent.entries.delete(name);
  }

  /**
   * Renames `from` to `to`, replacing a file at `to` (or an empty directory,
   * when `from` is a directory).
   *
   * @throws {NotFoundError} `from` or the parent of `to` is missing.
   * @throws {IoError} a file onto a directory, a directory onto a file or a
   *   non-empty directory, or a directory into itself.
   */
  rename(from: string, to: string): void {
    const label = `${from} -> ${to}`;
    // Both parents first, then the entries: the order in which POSIX reports failures.
    const source = this.#parentOf("rename", from, label);
    const target = this.#parentOf("rename", to, label);
    const node = source.parent.entries.get(source.name);
    if (!node) throw new NotFoundError(label);
    const existing = target.parent.entries.get(target.name);
    if (existing === node) return;
    if (node.kind === "file" && existing?.kind === "directory") {
      throw ioError("rename", label, "is a directory");
    }
    if (node.kind === "directory") {
      if (existing?.kind === "file") throw ioError("rename", label, "not a directory");
      if (existing && existing.entries.size > 0) throw ioError("rename", label, "directory not empty");
      if (this.#contains(node, target.parent)) throw ioError("rename", label, "invalid argument");
    }
    source.parent.entries.delete(source.name);
    target.parent.entries.set(target.name, node);
  }

  /**
   * Makes the current entries of `dir` durable. Rejects with `NotFoundError`
   * if `dir` is missing, `IoError` if it is a file.
   */
  syncDir(dir: string): Promise<void> {
    try {
      const node = this.#findDir("syncDir", dir);
      node.synced = new Map(node.entries);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Takes the lock by creating `path` holding `{"boot", "acquiredAt"}` as
   * JSON, flushed before returning; `boot` counts this instance's lives
   * (1, then one more per {@linkcode MemoryFileSystem.crash}). A lock file
   * that no live lock of this instance holds (one that survived a crash) is
   * taken over, with `recoveredStale` true.
   *
   * @throws {LockedError} held through this instance, or the lock file is unreadable.
   * @throws {NotFoundError} the lock file's directory is missing.
   */
  lock(path: string): FileLock {
    const key = "/" + splitPath(path).join("/");
    if (this.#locks.has(key)) throw new LockedError(path, "this process");
    const { parent, name } = this.#parentOf("lock", path);
    const existing = parent.entries.get(name);
    let recoveredStale = false;
    if (existing?.kind === "directory") throw ioError("lock", path, "is a directory");
    if (existing) {
      if (!isMemLock(existing.read(0, existing.size))) {
        throw new LockedError(
          path,
          "an unknown holder (the lock file is unreadable); remove it if no process uses the index",
        );
      }
      parent.entries.delete(name);
      recoveredStale = true;
    }
    const file = new MemFile();
    const content = { boot: this.#session.boot, acquiredAt: new Date().toISOString() };
    file.write(0, new TextEncoder().encode(JSON.stringify(content) + "\n"));
    file.sync();
    parent.entries.set(name, file);
    const session = this.#session;
    const locks = this.#locks;
    locks.add(key);
    return new MemFileLock(path, recoveredStale, () => {
      // After a crash the lock is already gone, and the file may belong to a new holder.
      if (!session.live) return;
      locks.delete(key);
      if (parent.entries.get(name) === file) parent.entries.delete(name);
    });
  }

  /**
   * Simulates a power loss: every directory reverts to the entries of its
   * last `syncDir()` (from the root down, so whatever sits below a lost
   * directory is lost too), every file to the bytes of its last `sync()`;
   * every open handle then fails with `ClosedError`, and every lock is
   * dropped (its lock file, if durable, is stale on the next `lock()`).
   */
  crash(): void {
    this.#session.live = false;
    this.#session = { live: true, boot: this.#session.boot + 1 };
    this.#locks = new Set();
    revertTree(this.#root, new Set());
  }

  /** The node at `path`, `undefined` if missing, "notDir" if the path goes through a file. */
  #walk(path: string): MemNode | undefined | "notDir" {
    let node: MemNode = this.#root;
    for (const part of splitPath(path)) {
      if (node.kind === "file") return "notDir";
      const next = node.entries.get(part);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  #find(operation: string, path: string): MemNode {
    const node = this.#walk(path);
    if (node === undefined) throw new NotFoundError(path);
    if (node === "notDir") throw ioError(operation, path, "not a directory");
    return node;
  }

  #findDir(operation: string, path: string): MemDir {
    const node = this.#find(operation, path);
    if (node.kind === "file") throw ioError(operation, path, "not a directory");
    return node;
  }

  /** The existing parent directory of `path`, and the last segment of `path`; errors name `label`. */
  #parentOf(operation: string, path: string, label = path): { parent: MemDir; name: string } {
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) throw ioError(operation, label, "the root directory cannot be used here");
    const parentPath = "/" + parts.join("/");
    const parent = this.#walk(parentPath);
    if (parent === undefined) throw new NotFoundError(label);
    if (parent === "notDir" || parent.kind === "file") throw ioError(operation, label, "not a directory");
    return { parent, name };
  }

  /** True if `inner` is `outer` or lies below it. */
  #contains(outer: MemDir, inner: MemDir): boolean {
    if (outer === inner) return true;
    for (const child of outer.entries.values()) {
      if (child.kind === "directory" && this.#contains(child, inner)) return true;
    }
    return false;
  }
}

/** Reverts `dir` and everything durable below it; `seen` guards nodes reachable twice. */
function revertTree(dir: MemDir, seen: Set<MemNode>): void {
  if (seen.has(dir)) return;
  seen.add(dir);
  dir.entries = new Map(dir.synced);
  for (const node of dir.entries.values()) {
    if (node.kind === "directory") {
      revertTree(node, seen);
    } else if (!seen.has(node)) {
      seen.add(node);
      node.revert();
    }
  }
}

function isMemLock(bytes: Uint8Array): boolean {
  try {
    const { boot } = JSON.parse(new TextDecoder().decode(bytes)) ?? {};
    return Number.isSafeInteger(boot) && boot > 0;
  } catch {
    return false;
  }
}

/** Path segments with "." and ".." resolved; an empty path names nothing, as on POSIX. */
function splitPath(path: string): string[] {
  if (path === "") throw new NotFoundError(path);
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts;
}

function ioError(operation: string, path: string, reason: string): IoError {
  return new IoError(operation, path, { cause: new Error(reason) });
}

class MemFileLock implements FileLock {
  readonly path: string;
  readonly recoveredStale: boolean;
  #release: (() => void) | undefined;

  constructor(path: string, recoveredStale: boolean, release: () => void) {
    this.path = path;
    this.recoveredStale = recoveredStale;
    this.#release = release;
  }

  release(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }
}

class MemFileHandle implements FileHandle {
  readonly path: string;
  #file: MemFile;
  #writable: boolean;
  #session: Session;
  #closed = false;

  constructor(path: string, file: MemFile, writable: boolean, session: Session) {
    this.path = path;
    this.#file = file;
    this.#writable = writable;
    this.#session = session;
  }

  size(): number {
    return this.#check().size;
  }

  read(position: number, length: number): Uint8Array {
    const file = this.#check();
    checkOffset("position", position);
    checkOffset("length", length);
    return file.read(position, length);
  }

  readInto(position: number, buffer: Uint8Array, length: number = buffer.length): number {
    const file = this.#check();
    checkOffset("position", position);
    checkOffset("length", length);
    if (length > buffer.length) {
      throw new RangeError(`length ${length} exceeds the buffer of ${buffer.length} bytes`);
    }
    return file.readInto(position, buffer, length);
  }

  write(position: number, data: Uint8Array): void {
    const file = this.#checkWritable("write");
    checkOffset("position", position);
    file.write(position, data);
  }

  append(data: Uint8Array): void {
    const file = this.#checkWritable("append");
    file.write(file.size, data);
  }

  truncate(length: number): void {
    const file = this.#checkWritable("truncate");
    checkOffset("length", length);
    file.truncate(length);
  }

  sync(): Promise<void> {
    try {
      this.#check().sync();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): void {
    this.#closed = true;
  }

  #check(): MemFile {
    if (this.#closed) throw new ClosedError(`Cannot use ${this.path}: the file handle is closed`);
    if (!this.#session.live) {
      throw new ClosedError(`Cannot use ${this.path}: the file system crashed after it was opened`);
    }
    return this.#file;
  }

  #checkWritable(operation: string): MemFile {
    const file = this.#check();
    if (!this.#writable) throw ioError(operation, this.path, "the file is open for reading only");
    return file;
  }
}

function checkOffset(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}
