/**
 * {@linkcode PhaseFileSystem}: a test-only {@linkcode FileSystem} over
 * {@linkcode NodeFileSystem} that tells when the engine enters one of the
 * crash test's phases, from the file operations alone (no engine hook):
 *
 * | operation                                         | phase                              |
 * | ------------------------------------------------- | ---------------------------------- |
 * | `append` to a `.log` file                         | `log-append`                       |
 * | `sync` of a `.log` file                           | `fsync`                            |
 * | `open(…, "create")` of a `.chunks` file            | `flush`, `compaction` or `split`   |
 * | `open(…, "create")` of `wal/CHECKPOINT.tmp`        | `checkpoint`                       |
 * | `remove` of a `.log` file                         | `log-trim`                         |
 * | `lock` (the first step of opening the index)       | `recovery` (soak mode only)        |
 *
 * A new table is told apart by what the index's public metrics say at that
 * moment: a split in flight (`split.inFlight`) makes it `split`; a
 * maintenance task running with no background flush writing
 * (`segments.maintenance > 0`, `writePath.flushingKeys === 0`) makes it
 * `compaction`; anything else — a background flush, or a synchronous spill
 * by `flush()`, a write over a cache limit or the log's backpressure — is
 * `flush`. (A spill that happens while a compaction or a split runs is
 * reported as that compaction or split: the kill still lands while it runs.)
 *
 * Each phase is reported once per entry: every log append and every log
 * sync is an entry of its own; a flush, a compaction or a split is one entry
 * however many tables it writes (told by the metrics counters that move
 * when it ends); a log trim is one entry per checkpoint, however many files
 * it removes.
 *
 * @module
 */
import type { FileHandle, FileInfo, FileLock, FileSystem, OpenMode } from "../../../engine/mod.ts";
import { NodeFileSystem } from "../../../engine/mod.ts";
import type { Phase } from "./_crash_shared.ts";

/** The part of `SegmentIndex.metrics()` the wrapper reads. */
export interface MaintenanceView {
  segments: { maintenance: number };
  writePath: { flushingKeys: number };
  maintenance: { flushes: number; compactions: number };
  split: { inFlight: number; completed: number };
}

/** Reports phase entries of the file operations that go through it; see the module doc. */
export class PhaseFileSystem implements FileSystem {
  readonly #inner: FileSystem;
  readonly #report: (phase: Phase) => void;
  #metrics: (() => MaintenanceView) | undefined;
  #checkpoints = 0;
  #trimmedAtCheckpoint = -1;
  /** The flush, compaction or split last reported, as "<phase>:<counter at its start>". */
  #lastTableEpisode = "";

  /**
   * @param report Called synchronously when an operation enters a phase, before the operation runs.
   * @param inner The file system to forward to. @default a NodeFileSystem
   */
  constructor(report: (phase: Phase) => void, inner: FileSystem = new NodeFileSystem()) {
    this.#report = report;
    this.#inner = inner;
  }

  /**
   * Gives the wrapper the index's metrics, to tell flushes, compactions and
   * splits apart. Until then new tables are not reported.
   */
  attach(metrics: () => MaintenanceView): void {
    this.#metrics = metrics;
  }

  open(path: string, mode: OpenMode): FileHandle {
    if (mode === "create") {
      if (path.endsWith(".chunks")) this.#tableCreated();
      else if (path.endsWith("/CHECKPOINT.tmp")) {
        this.#checkpoints++;
        this.#report("checkpoint");
      }
    }
    const handle = this.#inner.open(path, mode);
    return path.endsWith(".log") ? new LogHandle(handle, this.#report) : handle;
  }

  readFile(path: string): Uint8Array {
    return this.#inner.readFile(path);
  }

  stat(path: string): FileInfo | undefined {
    return this.#inner.stat(path);
  }

  list(dir: string): string[] {
    return this.#inner.list(dir);
  }

  mkdir(dir: string): void {
    this.#inner.mkdir(dir);
  }

  remove(path: string): void {
    if (path.endsWith(".log") && this.#trimmedAtCheckpoint !== this.#checkpoints) {
      this.#trimmedAtCheckpoint = this.#checkpoints;
      this.#report("log-trim");
    }
    this.#inner.remove(path);
  }

  removeTree(dir: string): void {
    this.#inner.removeTree(dir);
  }

  rename(from: string, to: string): void {
    this.#inner.rename(from, to);
  }

  syncDir(dir: string): Promise<void> {
    return this.#inner.syncDir(dir);
  }

  lock(path: string): FileLock {
    this.#report("recovery");
    return this.#inner.lock(path);
  }

  #tableCreated(): void {
    if (!this.#metrics) return;
    const m = this.#metrics();
    let phase: Phase;
    let episode: number;
    if (m.split.inFlight > 0) {
      phase = "split";
      episode = m.split.completed;
    } else if (m.segments.maintenance > 0 && m.writePath.flushingKeys === 0) {
      phase = "compaction";
      episode = m.maintenance.compactions;
    } else {
      phase = "flush";
      episode = m.maintenance.flushes;
    }
    const key = `${phase}:${episode}`;
    if (key === this.#lastTableEpisode) return;
    this.#lastTableEpisode = key;
    this.#report(phase);
  }
}

/** A log file's handle: every append and every sync enters a phase. */
class LogHandle implements FileHandle {
  readonly #inner: FileHandle;
  readonly #report: (phase: Phase) => void;

  constructor(inner: FileHandle, report: (phase: Phase) => void) {
    this.#inner = inner;
    this.#report = report;
  }

  get path(): string {
    return this.#inner.path;
  }

  size(): number {
    return this.#inner.size();
  }

  read(position: number, length: number): Uint8Array {
    return this.#inner.read(position, length);
  }

  readInto(position: number, buffer: Uint8Array, length?: number): number {
    return this.#inner.readInto(position, buffer, length);
  }

  write(position: number, data: Uint8Array): void {
    this.#inner.write(position, data);
  }

  append(data: Uint8Array): void {
    this.#report("log-append");
    this.#inner.append(data);
  }

  truncate(length: number): void {
    this.#inner.truncate(length);
  }

  sync(): Promise<void> {
    this.#report("fsync");
    return this.#inner.sync();
  }

  close(): void {
    this.#inner.close();
  }
}
