/**
 * The engine's only door to storage. Every file the engine touches goes
 * through a {@linkcode FileSystem}: {@linkcode NodeFileSystem} over `node:fs`
 * (Deno and Node both provide it), {@linkcode MemoryFileSystem} for tests and
 * ephemeral indexes, and {@linkcode FaultFileSystem} to inject failures and
 * crashes in tests.
 *
 * Reads, writes, renames and listings are synchronous on purpose: one `await`
 * on a thread-pool operation per key caps an engine near 10,000 ops/s on our
 * machines, while a synchronous positioned read of a page-cached block costs
 * a few microseconds. Only the flushes to stable storage (`sync`,
 * `syncDir`) are asynchronous, because they take milliseconds and must not
 * stall the event loop.
 *
 * Durability contract, the one every caller relies on and the one
 * `MemoryFileSystem.crash()` enforces: after a crash a file holds exactly
 * the bytes it had at its last completed `sync()`, and a directory holds
 * exactly the entries (creations, renames, removals) it had at its last
 * completed `syncDir()`. Nothing else survives.
 *
 * Paths are POSIX-style strings; implementations accept them as given
 * (absolute or relative to the process's working directory).
 *
 * Errors: a missing path raises `NotFoundError`, an existing one where a new
 * one is required raises `AlreadyExistsError`, a lock held elsewhere raises
 * `LockedError`, and any other failure raises `IoError` naming the operation
 * and the path.
 *
 * @module
 */

/**
 * How {@linkcode FileSystem.open} opens a file:
 * - `read`: an existing file, for reading only;
 * - `write`: an existing file, for reading and writing;
 * - `create`: a new file (fails with `AlreadyExistsError` if present), for reading and writing;
 * - `append`: an existing file or a new empty one, for reading and writing.
 */
export type OpenMode = "read" | "write" | "create" | "append";

/** An open file. Not safe to use after `close()`. */
export interface FileHandle {
  /** The path the file was opened with. */
  readonly path: string;
  /** Current length in bytes, including writes not yet synced. */
  size(): number;
  /**
   * Reads up to `length` bytes at `position`. Returns fewer only when the
   * file ends first. The returned array is the caller's to keep.
   */
  read(position: number, length: number): Uint8Array;
  /**
   * Reads up to `length` bytes at `position` into `buffer[0, length)`, for
   * callers that reuse their buffers (a fresh array per read costs more
   * than the read itself). Returns the bytes read: fewer than `length` only
   * when the file ends first. Throws `RangeError` if `length` exceeds the
   * buffer.
   */
  readInto(position: number, buffer: Uint8Array, length?: number): number;
  /** Writes all of `data` at `position`, growing the file if needed. */
  write(position: number, data: Uint8Array): void;
  /**
   * Writes all of `data` at the current end of the file. Keeps no reference
   * to `data`: callers (the log, the chunk file writer) reuse its memory.
   */
  append(data: Uint8Array): void;
  /** Cuts the file to `length` bytes (or zero-fills it up to `length`). */
  truncate(length: number): void;
  /** Resolves once every byte written so far is on stable storage. */
  sync(): Promise<void>;
  /** Releases the handle. A second call does nothing. */
  close(): void;
}

/** Kind and size of a path, from {@linkcode FileSystem.stat}. */
export interface FileInfo {
  kind: "file" | "directory";
  size: number;
}

/** An exclusive lock taken with {@linkcode FileSystem.lock}. */
export interface FileLock {
  /** The lock file's path. */
  readonly path: string;
  /** True if the lock was taken over from a holder that no longer runs. */
  readonly recoveredStale: boolean;
  /** Removes the lock file and frees the lock. A second call does nothing. */
  release(): void;
}

/** Storage operations the engine needs, and nothing more. */
export interface FileSystem {
  /** Opens a file; see {@linkcode OpenMode}. */
  open(path: string, mode: OpenMode): FileHandle;
  /** Reads a whole file. */
  readFile(path: string): Uint8Array;
  /** Kind and size of a path, or `undefined` if nothing is there. */
  stat(path: string): FileInfo | undefined;
  /** Names (not paths) of the entries of a directory, sorted by UTF-16 code unit. */
  list(dir: string): string[];
  /** Creates a directory and any missing parents; an existing directory is fine. */
  mkdir(dir: string): void;
  /** Removes a file or an empty directory. */
  remove(path: string): void;
  /** Removes a directory and everything below it; a missing one is fine. */
  removeTree(dir: string): void;
  /** Renames a file, atomically replacing any file at `to`. */
  rename(from: string, to: string): void;
  /** Resolves once the directory's entries (creations, renames, removals) are on stable storage. */
  syncDir(dir: string): Promise<void>;
  /**
   * Takes an exclusive lock by creating the lock file at `path`. Fails with
   * `LockedError` while another opener holds it, in this process or in a
   * live process on this host; a lock left by a process that no longer runs
   * is taken over (`recoveredStale` is then true).
   */
  lock(path: string): FileLock;
}
