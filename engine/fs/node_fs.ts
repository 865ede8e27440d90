/**
 * {@linkcode NodeFileSystem}: the {@linkcode FileSystem} over `node:fs`,
 * which both Deno and Node provide. Everything but the two flushes is a
 * synchronous system call; `sync()` and `syncDir()` run `fdatasync`/`fsync`
 * on the thread pool so that a millisecond-long flush does not stall the
 * event loop.
 *
 * @module
 */
import * as nodeFs from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import process from "node:process";
import { AlreadyExistsError, ClosedError, IoError, LockedError, NotFoundError } from "../errors.ts";
import type { FileHandle, FileInfo, FileLock, FileSystem, OpenMode } from "./file_system.ts";

/**
 * Absolute paths of the lock files held by this process. A lock file whose
 * recorded pid is ours but which is missing here was left by an earlier
 * process that had the same pid.
 */
const HELD_LOCKS = new Set<string>();

/** Attempts at taking a lock before giving up on a holder that keeps changing. */
const LOCK_ATTEMPTS = 3;

/**
 * `append` must write at the end the handle tracks, yet positioned writes
 * must land where asked; Linux ignores the position of `pwrite` on a file
 * opened with `O_APPEND`, so "append" opens read-write without it.
 */
const OPEN_FLAGS: Record<OpenMode, string | number> = {
  read: "r",
  write: "r+",
  create: "wx+",
  append: nodeFs.constants.O_RDWR | nodeFs.constants.O_CREAT,
};

/**
 * The file system of the host, through `node:fs`. Stateless apart from the
 * process-wide table of held locks, so any number of instances may be used.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { NodeFileSystem } from "./node_fs.ts";
 *
 * const dir = mkdtempSync(`${tmpdir()}/hestia-`);
 * const fs = new NodeFileSystem();
 * const file = fs.open(`${dir}/data`, "create");
 * file.append(new Uint8Array([1, 2, 3]));
 * await file.sync();
 * file.close();
 * await fs.syncDir(dir);
 * assertEquals(fs.readFile(`${dir}/data`), new Uint8Array([1, 2, 3]));
 * rmSync(dir, { recursive: true });
 * ```
 */
export class NodeFileSystem implements FileSystem {
  /**
   * Opens a file. A writable handle tracks the file's length itself, so
   * `size()` and `append()` assume it is the file's only writer.
   *
   * @throws {NotFoundError} `read`/`write` on a missing file, or a missing parent directory.
   * @throws {AlreadyExistsError} `create` on an existing path.
   * @throws {IoError} the path is a directory, or any other failure.
   */
  open(path: string, mode: OpenMode): FileHandle {
    let fd: number;
    try {
      fd = nodeFs.openSync(path, OPEN_FLAGS[mode]);
    } catch (error) {
      throw mapError("open", path, error);
    }
    try {
      const stats = nodeFs.fstatSync(fd);
      if (stats.isDirectory()) throw new IoError("open", path, { cause: new Error("is a directory") });
      return new NodeFileHandle(path, fd, mode !== "read", stats.size);
    } catch (error) {
      nodeFs.closeSync(fd);
      throw error instanceof IoError ? error : mapError("open", path, error);
    }
  }

  /**
   * Reads a whole file into a new array.
   *
   * @throws {NotFoundError} nothing at `path`.
   * @throws {IoError} `path` is a directory, or any other failure.
   */
  readFile(path: string): Uint8Array {
    const handle = this.open(path, "read");
    try {
      return handle.read(0, handle.size());
    } finally {
      handle.close();
    }
  }

  /** Kind and size (0 for a directory) of `path`, or `undefined` if nothing is there. */
  stat(path: string): FileInfo | undefined {
    try {
      const stats = nodeFs.statSync(path);
      return stats.isDirectory() ? { kind: "directory", size: 0 } : { kind: "file", size: stats.size };
    } catch (error) {
      if (errorCode(error) === "ENOENT" || errorCode(error) === "ENOTDIR") return undefined;
      throw mapError("stat", path, error);
    }
  }

  /**
   * Entry names of `dir`, sorted by UTF-16 code unit.
   *
   * @throws {NotFoundError} `dir` is missing.
   * @throws {IoError} `dir` is a file, or any other failure.
   */
  list(dir: string): string[] {
    try {
      return nodeFs.readdirSync(dir).sort();
    } catch (error) {
      throw mapError("list", dir, error);
    }
  }

  /**
   * Creates `dir` and its missing parents. Not durable until the parent is
   * passed to `syncDir()`.
   *
   * @throws {AlreadyExistsError} a file sits at `dir`.
   */
  mkdir(dir: string): void {
    try {
      nodeFs.mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw mapError("mkdir", dir, error);
    }
  }

  /**
   * Removes a file or an empty directory.
   *
   * @throws {NotFoundError} nothing at `path`.
   * @throws {IoError} a directory that is not empty, or any other failure.
   */
  remove(path: string): void {
    try {
      // Deno's unlinkSync also removes directories, so the kind decides the call.
      if (nodeFs.lstatSync(path).isDirectory()) nodeFs.rmdirSync(path);
      else nodeFs.unlinkSync(path);
    } catch (error) {
      throw mapError("remove", path, error);
    }
  }

  /** Removes `dir` and everything below it; a missing `dir` is fine. */
  removeTree(dir: string): void {
    try {
      nodeFs.rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      throw mapError("removeTree", dir, error);
    }
  }

  /**
   * Renames `from` to `to`, atomically replacing a file at `to`.
   *
   * @throws {NotFoundError} `from` or the parent of `to` is missing.
   * @throws {IoError} a file onto a directory, a directory onto a file, or any other failure.
   */
  rename(from: string, to: string): void {
    try {
      nodeFs.renameSync(from, to);
    } catch (error) {
      throw mapError("rename", `${from} -> ${to}`, error);
    }
  }

  /**
   * `fsync`s the directory, making its creations, renames and removals durable.
   * Rejects with `NotFoundError` if `dir` is missing, `IoError` if it is a file.
   */
  syncDir(dir: string): Promise<void> {
    let fd: number;
    try {
      fd = nodeFs.openSync(dir, "r");
    } catch (error) {
      return Promise.reject(mapError("syncDir", dir, error));
    }
    try {
      if (!nodeFs.fstatSync(fd).isDirectory()) {
        throw new IoError("syncDir", dir, { cause: new Error("not a directory") });
      }
    } catch (error) {
      nodeFs.closeSync(fd);
      return Promise.reject(error instanceof IoError ? error : mapError("syncDir", dir, error));
    }
    return new Promise((resolvePromise, reject) => {
      nodeFs.fsync(fd, (error) => {
        nodeFs.closeSync(fd);
        if (error) reject(mapError("syncDir", dir, error));
        else resolvePromise();
      });
    });
  }

  /**
   * Takes the lock by creating `path` exclusively, holding
   * `{"pid", "host", "acquiredAt"}` as JSON, flushed before returning. An
   * existing lock file is taken over (`recoveredStale`) when its holder ran
   * on this host and its pid is no longer alive, or is our own pid but not
   * held by this process (a reused pid).
   *
   * Two processes taking over the same stale lock at the same instant can
   * race; taking over a live lock cannot happen.
   *
   * @throws {LockedError} held by this process, by a live process on this
   *   host, by a process on another host, or the lock file is unreadable.
   * @throws {NotFoundError} the lock file's directory is missing.
   */
  lock(path: string): FileLock {
    const absolute = resolve(path);
    if (HELD_LOCKS.has(absolute)) throw new LockedError(path, `this process (pid ${process.pid})`);
    let recoveredStale = false;
    for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
      if (createLockFile(path)) {
        HELD_LOCKS.add(absolute);
        return new NodeFileLock(path, absolute, recoveredStale);
      }
      const holder = readLockHolder(path);
      if (holder === "gone") continue;
      if (holder === "empty") {
        // Lock files are linked into place complete, so an empty one was left by an interrupted older writer.
        removeIfPresent(path);
        recoveredStale = true;
        continue;
      }
      if (holder === "garbled") {
        throw new LockedError(
          path,
          "an unknown holder (the lock file is unreadable); remove it if no process uses the index",
        );
      }
      if (holder.host !== hostname()) {
        throw new LockedError(
          path,
          `process ${holder.pid} on host ${holder.host} since ${holder.acquiredAt}; ` +
            "remove the lock file if that process no longer runs",
        );
      }
      if (holder.pid !== process.pid && isAlive(holder.pid)) {
        throw new LockedError(
          path,
          `process ${holder.pid} on host ${holder.host} since ${holder.acquiredAt}`,
        );
      }
      removeIfPresent(path);
      recoveredStale = true;
    }
    throw new LockedError(path, "another process that is taking the lock at the same time");
  }
}

/** A lock holder as recorded in the lock file. */
interface LockHolder {
  pid: number;
  host: string;
  acquiredAt: string;
}

/** Creates the lock file exclusively; false if one already exists. */
function createLockFile(path: string): boolean {
  // The holder is written and synced under a private name first, then linked into place: the link is atomic
  // and fails if a lock exists, so a process killed at any moment never leaves a partly written lock file.
  const holder: LockHolder = { pid: process.pid, host: hostname(), acquiredAt: new Date().toISOString() };
  const draft = `${path}.${process.pid}.new`;
  removeIfPresent(draft);
  let fd: number;
  try {
    fd = nodeFs.openSync(draft, "wx");
  } catch (error) {
    throw mapError("lock", path, error);
  }
  try {
    writeAll(fd, new TextEncoder().encode(JSON.stringify(holder) + "\n"), 0);
    nodeFs.fsyncSync(fd);
  } catch (error) {
    nodeFs.closeSync(fd);
    removeIfPresent(draft);
    throw mapError("lock", path, error);
  }
  nodeFs.closeSync(fd);
  try {
    nodeFs.linkSync(draft, path);
  } catch (error) {
    if (errorCode(error) === "EEXIST") return false;
    throw mapError("lock", path, error);
  } finally {
    removeIfPresent(draft);
  }
  return true;
}

/** The recorded holder; "gone" if the file vanished meanwhile, "empty" if it holds nothing, "garbled" if unreadable. */
function readLockHolder(path: string): LockHolder | "gone" | "empty" | "garbled" {
  let text: string;
  try {
    text = nodeFs.readFileSync(path, "utf8");
  } catch (error) {
    if (errorCode(error) === "ENOENT") return "gone";
    throw mapError("lock", path, error);
  }
  if (text.length === 0) return "empty";
  try {
    const parsed = JSON.parse(text);
    const { pid, host, acquiredAt } = parsed ?? {};
    // A pid of 0 or below would make kill() signal a process group.
    if (!Number.isSafeInteger(pid) || pid <= 0 || typeof host !== "string") return "garbled";
    return { pid, host, acquiredAt: String(acquiredAt) };
  } catch {
    return "garbled";
  }
}

/** True unless signal 0 reports that no such process exists; EPERM means it runs as another user. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== "ESRCH";
  }
}

function removeIfPresent(path: string): void {
  try {
    nodeFs.unlinkSync(path);
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw mapError("lock", path, error);
  }
}

class NodeFileLock implements FileLock {
  readonly path: string;
  readonly recoveredStale: boolean;
  #absolute: string;
  #held = true;

  constructor(path: string, absolute: string, recoveredStale: boolean) {
    this.path = path;
    this.#absolute = absolute;
    this.recoveredStale = recoveredStale;
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    HELD_LOCKS.delete(this.#absolute);
    removeIfPresent(this.path);
  }
}

class NodeFileHandle implements FileHandle {
  readonly path: string;
  #fd: number;
  #writable: boolean;
  #end: number;
  #closed = false;
  #pendingSyncs = 0;

  constructor(path: string, fd: number, writable: boolean, size: number) {
    this.path = path;
    this.#fd = fd;
    this.#writable = writable;
    this.#end = size;
  }

  size(): number {
    this.#check();
    if (this.#writable) return this.#end;
    // A read-only handle may watch a file that another handle is writing.
    try {
      return nodeFs.fstatSync(this.#fd).size;
    } catch (error) {
      throw mapError("size", this.path, error);
    }
  }

  read(position: number, length: number): Uint8Array {
    checkOffset("length", length);
    const buffer = new Uint8Array(length);
    const done = this.readInto(position, buffer);
    return done === length ? buffer : buffer.slice(0, done);
  }

  readInto(position: number, buffer: Uint8Array, length: number = buffer.length): number {
    this.#check();
    checkOffset("position", position);
    checkReadLength(length, buffer);
    let done = 0;
    try {
      while (done < length) {
        const n = nodeFs.readSync(this.#fd, buffer, done, length - done, position + done);
        if (n === 0) break;
        done += n;
      }
    } catch (error) {
      throw mapError("read", this.path, error);
    }
    return done;
  }

  write(position: number, data: Uint8Array): void {
    this.#check();
    checkOffset("position", position);
    this.#writeAt("write", position, data);
  }

  append(data: Uint8Array): void {
    this.#check();
    this.#writeAt("append", this.#end, data);
  }

  truncate(length: number): void {
    this.#check();
    checkOffset("length", length);
    try {
      nodeFs.ftruncateSync(this.#fd, length);
    } catch (error) {
      throw mapError("truncate", this.path, error);
    }
    this.#end = length;
  }

  sync(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError(this.path));
    this.#pendingSyncs++;
    return new Promise((resolvePromise, reject) => {
      nodeFs.fdatasync(this.#fd, (error) => {
        // close() during a flush defers the real close, so the flush never hits a reused descriptor.
        if (--this.#pendingSyncs === 0 && this.#closed) {
          try {
            this.#closeFd();
          } catch {
            // Nobody is left to report to: the handle was closed while this flush ran.
          }
        }
        if (error) reject(mapError("sync", this.path, error));
        else resolvePromise();
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pendingSyncs === 0) this.#closeFd();
  }

  #closeFd(): void {
    try {
      nodeFs.closeSync(this.#fd);
    } catch (error) {
      throw mapError("close", this.path, error);
    }
  }

  #writeAt(operation: string, position: number, data: Uint8Array): void {
    try {
      writeAll(this.#fd, data, position);
    } catch (error) {
      throw mapError(operation, this.path, error);
    }
    this.#end = Math.max(this.#end, position + data.length);
  }

  #check(): void {
    if (this.#closed) throw closedError(this.path);
  }
}

/** Loops because `writeSync` may write fewer bytes than asked. */
function writeAll(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) {
    done += nodeFs.writeSync(fd, data, done, data.length - done, position + done);
  }
}

function checkOffset(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}

function checkReadLength(length: number, buffer: Uint8Array): void {
  checkOffset("length", length);
  if (length > buffer.length) {
    throw new RangeError(`length ${length} exceeds the buffer of ${buffer.length} bytes`);
  }
}

function closedError(path: string): ClosedError {
  return new ClosedError(`Cannot use ${path}: the file handle is closed`);
}

function errorCode(error: unknown): unknown {
  return typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** ENOENT and EEXIST become their own classes; every other failure is an `IoError`. */
function mapError(operation: string, path: string, error: unknown): Error {
  const code = errorCode(error);
  if (code === "ENOENT") return new NotFoundError(path, { cause: error });
  if (code === "EEXIST") return new AlreadyExistsError(path, { cause: error });
  return new IoError(operation, path, { cause: error });
}
