/**
 * {@linkcode FaultFileSystem}: wraps any {@linkcode FileSystem}, counts its
 * operations by name, and fails chosen ones on purpose, so tests can walk a
 * failure or a crash through every step of a protocol.
 *
 * @module
 */
import { IoError } from "../errors.ts";
import type { FileHandle, FileInfo, FileLock, FileSystem, OpenMode } from "./file_system.ts";

/** The operations {@linkcode FaultFileSystem} counts and can fail. */
export type FaultOp =
  | "open"
  | "read"
  | "write"
  | "append"
  | "truncate"
  | "sync"
  | "syncDir"
  | "rename"
  | "remove"
  | "removeTree"
  | "mkdir"
  | "list"
  | "stat"
  | "readFile"
  | "lock";

/** Every {@linkcode FaultOp}, in a fixed order. */
export const FAULT_OPS: readonly FaultOp[] = [
  "open",
  "read",
  "write",
  "append",
  "truncate",
  "sync",
  "syncDir",
  "rename",
  "remove",
  "removeTree",
  "mkdir",
  "list",
  "stat",
  "readFile",
  "lock",
];

/** Which operations {@linkcode FaultFileSystem.failOn} fails, and how. */
export interface FaultSpec {
  /** The operation to fail; every operation when omitted. */
  op?: FaultOp;
  /**
   * Fail the nth matching operation (1-based, counted from this call to
   * `failOn`) and the `times - 1` after it. When omitted, every matching
   * operation fails.
   */
  nth?: number;
  /**
   * Only operations on this path: equal to the string as the caller passed
   * it, or matched by the pattern. A rename matches on either of its paths;
   * a handle operation on the path it was opened with.
   */
  path?: string | RegExp;
  /** How many operations fail in a row: 1 by default with `nth`, unlimited without. */
  times?: number;
  /** The error to raise; by default an `IoError` whose cause says "injected fault". */
  error?: Error;
  /**
   * For `write` and `append` only: apply this many leading bytes of the data
   * before failing, as a torn write would. Without it a failed write changes
   * nothing.
   */
  torn?: number;
}

/** A registered fault; tells how often it matched and fired. */
export interface InjectedFault {
  /** Matching operations seen since the fault was registered. */
  readonly seen: number;
  /** Operations it failed. */
  readonly fired: number;
}

interface Fault extends InjectedFault {
  spec: FaultSpec;
  seen: number;
  fired: number;
  first: number;
  last: number;
}

/** Implemented by file systems that can simulate a power loss, such as `MemoryFileSystem`. */
interface Crashable {
  crash(): void;
}

/**
 * A {@linkcode FileSystem} that forwards to another one, counting every
 * operation and failing those chosen with {@linkcode FaultFileSystem.failOn}.
 * A failed operation is not forwarded (except the prefix of a torn write):
 * it leaves the inner file system untouched. `sync` and `syncDir` fail by
 * rejecting, everything else by throwing. `close()` is never counted or
 * failed.
 *
 * @example
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { IoError } from "../errors.ts";
 * import { FaultFileSystem } from "./fault_fs.ts";
 * import { MemoryFileSystem } from "./mem_fs.ts";
 *
 * const fs = new FaultFileSystem(new MemoryFileSystem());
 * fs.failOn({ op: "rename", nth: 2 });
 * fs.open("/a", "create").close();
 * fs.rename("/a", "/b");
 * throws(() => fs.rename("/b", "/c"), { name: "IoError", message: /injected fault/ });
 * ```
 */
export class FaultFileSystem implements FileSystem {
  #inner: FileSystem;
  #faults: Fault[] = [];
  #counts = new Map<FaultOp, number>();

  /** Wraps `inner`; no fault is armed until {@linkcode FaultFileSystem.failOn}. */
  constructor(inner: FileSystem) {
    this.#inner = inner;
  }

  /** The wrapped file system, to inspect it without counting or faults. */
  get inner(): FileSystem {
    return this.#inner;
  }

  /**
   * Arms a fault. Faults are checked in the order they were armed; one
   * operation fires at most one fault, and every fault whose filter matches
   * counts the operation.
   *
   * @throws {RangeError} `nth` or `times` below 1, or `torn` negative.
   * @throws {TypeError} `torn` with an operation other than `write` or `append`.
   */
  failOn(spec: FaultSpec): InjectedFault {
    const nth = spec.nth ?? 1;
    const times = spec.times ?? (spec.nth === undefined ? Infinity : 1);
    if (!Number.isSafeInteger(nth) || nth < 1) throw new RangeError(`nth must be 1 or more, got ${nth}`);
    if (!(times >= 1)) throw new RangeError(`times must be 1 or more, got ${times}`);
    if (spec.torn !== undefined) {
      if (spec.op !== "write" && spec.op !== "append") {
        throw new TypeError(`torn applies to "write" and "append" only, not ${spec.op ?? "every operation"}`);
      }
      if (!Number.isSafeInteger(spec.torn) || spec.torn < 0) {
        throw new RangeError(`torn must be a non-negative integer, got ${spec.torn}`);
      }
    }
    const fault: Fault = { spec, seen: 0, fired: 0, first: nth, last: nth + times - 1 };
    this.#faults.push(fault);
    return fault;
  }

  /** Disarms every fault. Counts are kept. */
  clearFaults(): void {
    this.#faults = [];
  }

  /** Operations attempted so far (failed ones included), per operation. */
  counts(): Record<FaultOp, number> {
    const out = {} as Record<FaultOp, number>;
    for (const op of FAULT_OPS) out[op] = this.#counts.get(op) ?? 0;
    return out;
  }

  /** Sets every count back to zero. */
  resetCounts(): void {
    this.#counts.clear();
  }

  /**
   * Simulates a power loss on the wrapped file system. Armed faults stay
   * armed; call {@linkcode FaultFileSystem.clearFaults} to recover cleanly.
   *
   * @throws {TypeError} the wrapped file system cannot crash.
   */
  crash(): void {
    const inner = this.#inner as Partial<Crashable>;
    if (typeof inner.crash !== "function") {
      throw new TypeError(
        "FaultFileSystem.crash() needs a wrapped file system that can crash, such as MemoryFileSystem",
      );
    }
    inner.crash();
  }

  open(path: string, mode: OpenMode): FileHandle {
    this.#maybeFail("open", path);
    return new FaultFileHandle(this.#inner.open(path, mode), (op, handlePath) => this.#check(op, handlePath));
  }

  readFile(path: string): Uint8Array {
    this.#maybeFail("readFile", path);
    return this.#inner.readFile(path);
  }

  stat(path: string): FileInfo | undefined {
    this.#maybeFail("stat", path);
    return this.#inner.stat(path);
  }

  list(dir: string): string[] {
    this.#maybeFail("list", dir);
    return this.#inner.list(dir);
  }

  mkdir(dir: string): void {
    this.#maybeFail("mkdir", dir);
    this.#inner.mkdir(dir);
  }

  remove(path: string): void {
    this.#maybeFail("remove", path);
    this.#inner.remove(path);
  }

  removeTree(dir: string): void {
    this.#maybeFail("removeTree", dir);
    this.#inner.removeTree(dir);
  }

  rename(from: string, to: string): void {
    this.#maybeFail("rename", from, to);
    this.#inner.rename(from, to);
  }

  syncDir(dir: string): Promise<void> {
    try {
      this.#maybeFail("syncDir", dir);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#inner.syncDir(dir);
  }

  lock(path: string): FileLock {
    this.#maybeFail("lock", path);
    return this.#inner.lock(path);
  }

  /** Counts `op` and returns the fault it fires, if any. */
  #check(op: FaultOp, path: string, otherPath?: string): Fault | undefined {
    this.#counts.set(op, (this.#counts.get(op) ?? 0) + 1);
    let firing: Fault | undefined;
    for (const fault of this.#faults) {
      const { spec } = fault;
      if (spec.op !== undefined && spec.op !== op) continue;
      if (!pathMatches(spec.path, path) && !(otherPath !== undefined && pathMatches(spec.path, otherPath))) {
        continue;
      }
      fault.seen++;
      if (!firing && fault.seen >= fault.first && fault.seen <= fault.last) {
        fault.fired++;
        firing = fault;
      }
    }
    return firing;
  }

  #maybeFail(op: FaultOp, path: string, otherPath?: string): void {
    const fault = this.#check(op, path, otherPath);
    if (fault) throw faultError(fault, op, otherPath === undefined ? path : `${path} -> ${otherPath}`);
  }
}

function pathMatches(filter: string | RegExp | undefined, path: string): boolean {
  if (filter === undefined) return true;
  if (typeof filter === "string") return filter === path;
  filter.lastIndex = 0;
  return filter.test(path);
}

function faultError(fault: Fault, op: FaultOp, path: string): Error {
  return fault.spec.error ?? new IoError(op, path, { cause: new Error("injected fault") });
}

type CheckFault = (op: FaultOp, path: string) => Fault | undefined;

class FaultFileHandle implements FileHandle {
  readonly path: string;
  #inner: FileHandle;
  #check: CheckFault;

  constructor(inner: FileHandle, check: CheckFault) {
    this.path = inner.path;
    this.#inner = inner;
    this.#check = check;
  }

  size(): number {
    return this.#inner.size();
  }

  read(position: number, length: number): Uint8Array {
    this.#maybeFail("read");
    return this.#inner.read(position, length);
  }

  /** Counted and failed as a `read`. */
  readInto(position: number, buffer: Uint8Array, length?: number): number {
    this.#maybeFail("read");
    return this.#inner.readInto(position, buffer, length);
  }

  write(position: number, data: Uint8Array): void {
    const fault = this.#check("write", this.path);
    if (fault) {
      if (fault.spec.torn !== undefined) this.#inner.write(position, data.subarray(0, fault.spec.torn));
      throw faultError(fault, "write", this.path);
    }
    this.#inner.write(position, data);
  }

  append(data: Uint8Array): void {
    const fault = this.#check("append", this.path);
    if (fault) {
      if (fault.spec.torn !== undefined) this.#inner.append(data.subarray(0, fault.spec.torn));
      throw faultError(fault, "append", this.path);
    }
    this.#inner.append(data);
  }

  truncate(length: number): void {
    this.#maybeFail("truncate");
    this.#inner.truncate(length);
  }

  sync(): Promise<void> {
    try {
      this.#maybeFail("sync");
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#inner.sync();
  }

  close(): void {
    this.#inner.close();
  }

  #maybeFail(op: FaultOp): void {
    const fault = this.#check(op, this.path);
    if (fault) throw faultError(fault, op, this.path);
  }
}
