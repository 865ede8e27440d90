/**
 * {@linkcode WriteAheadLog}: the write-ahead log of one index. Every write is
 * appended here as one record before the index applies it; after a crash the
 * records the index had not yet made durable in its tables are handed back,
 * in order, by {@linkcode WriteAheadLog.open}.
 *
 * Files in `<indexDir>/wal/` (byte layouts in `wal_format.ts` and docs/wal.md):
 * - `NNNNNNNNNNNNNNNNNNNN.log` — log files, each named after the LSN of its
 *   first record. Records go to the newest (active) file; once it would pass
 *   `segmentBytes`, a new file is started.
 * - `CHECKPOINT` — the LSN up to which the index's tables hold every record,
 *   replaced atomically. Log files wholly at or below it are removed.
 *
 * LSNs start at 1 and increase by exactly 1 per record, across files, so
 * recovery can tell a complete log from one with a hole.
 *
 * An append encodes its record into a buffer of pending bytes instead of
 * writing it: one write system call then carries every record appended
 * since the last one. The pending bytes are written to the active file
 * - at the start of every sync round, before its syncs;
 * - at the end of the event-loop turn of the append (a queued microtask),
 *   with durability `none`;
 * - at once, when the next record would take them past 256 KiB, so a long
 *   synchronous burst of appends holds little memory;
 * - before a rotation, and by `checkpoint()` and `close()`.
 * File sizes (rotation, `retainedBytes`) count pending bytes.
 *
 * Durability, chosen at open:
 * - `sync`: every append gets a sync round of its own, started after its
 *   append; its promise resolves when that round completes.
 * - `group`: appends made while no round is waiting to start share the next
 *   round; one round runs at a time, so appends made during a round wait
 *   for the following one. Each promise still resolves only after a round
 *   that started after its append, which wrote the record and then synced it.
 * - `none`: nothing is synced on the write path; the promise is already
 *   resolved, and the record reaches the OS by the end of the event-loop
 *   turn (before any code that awaits the promise resumes). A process that
 *   dies within that turn loses the records pending in it, as with lmdb's
 *   and LevelDB's buffered writes. The log is synced by `checkpoint()` (and
 *   at open).
 *
 * A sync round writes the pending bytes, then flushes every file with
 * unsynced bytes, oldest first, then the log directory if a file was created
 * since the last round. Rounds run one at a time. The first failed write
 * (whenever the pending bytes are written) or sync fails the log for good:
 * every `durable` promise not yet resolved rejects and later appends throw.
 * No retry, since after a failed fsync the kernel may have dropped the dirty
 * pages and a later "successful" fsync proves nothing (the PostgreSQL
 * "fsyncgate" lesson).
 *
 * @module
 */

import { ClosedError, CorruptionError, StateError } from "../errors.ts";
import { writeFileAtomic } from "../fs/atomic.ts";
import type { FileHandle, FileSystem } from "../fs/file_system.ts";
import { joinPath } from "../fs/path.ts";
import { FILE_HEADER_SIZE, FileKind, readFileHeader } from "../format/file_header.ts";
import {
  CHECKPOINT_FILE,
  decodeCheckpoint,
  decodeRecord,
  encodeCheckpoint,
  logFileHeader,
  logFileName,
  parseLogFileName,
  recordSize,
  type WalOp,
  writeRecord,
} from "./wal_format.ts";

export type { WalOp } from "./wal_format.ts";

/** When an append's `durable` promise resolves; see the module doc. */
export type Durability = "sync" | "group" | "none";

/** What {@linkcode WriteAheadLog.open} does with a log whose tail is torn or damaged. */
export type CorruptionPolicy = "truncate-invalid-tail" | "fail-fast";

/** Name of the log directory inside the index directory. */
export const WAL_DIR = "wal";
/** Default size at which the active log file is rotated: 64 MiB. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Default retained log size above which {@linkcode WriteAheadLog.overLimit} is true: 256 MiB. */
export const DEFAULT_MAX_RETAINED_BYTES = 256 * 1024 * 1024;

/**
 * Pending bytes an append writes out at once rather than exceed: a bound on
 * the buffer (unless one record is larger), and large enough that the write
 * system call is a small share of the records' cost.
 */
export const PENDING_LIMIT_BYTES = 256 * 1024;
/** First size of the pending buffer, which doubles up to the limit as needed. */
const PENDING_INITIAL_BYTES = 4096;

const DURABILITIES: readonly Durability[] = ["sync", "group", "none"];
const POLICIES: readonly CorruptionPolicy[] = ["truncate-invalid-tail", "fail-fast"];

/** Settings of a {@linkcode WriteAheadLog}, validated once by {@linkcode WriteAheadLog.open}. */
export interface WalOptions {
  /**
   * When an append counts as durable.
   * @default {"group"}
   */
  durability?: Durability;
  /**
   * Size in bytes at which the active log file is rotated: a record that
   * would take the file past it goes to a new file. A record larger than
   * this gets a file of its own. At least 17 (a header and one byte).
   * @default {67108864}
   */
  segmentBytes?: number;
  /**
   * What recovery does with a torn or damaged record: cut the log there
   * (reporting what was dropped), or refuse to open.
   * @default {"truncate-invalid-tail"}
   */
  corruptionPolicy?: CorruptionPolicy;
  /**
   * Retained log bytes above which {@linkcode WriteAheadLog.overLimit} is
   * true, telling the index to hold writers back until a flush and a
   * checkpoint have trimmed the log.
   * @default {268435456}
   */
  maxRetainedBytes?: number;
  /**
   * High-resolution clock in milliseconds, for the sync timings.
   * @default {() => performance.now()}
   */
  clock?: () => number;
}

/** What recovery found and did, returned by {@linkcode WriteAheadLog.open}. */
export interface RecoveryReport {
  /** The checkpoint LSN after recovery (clamped if it was past the log's end). */
  checkpointLsn: number;
  /** LSN of the last valid record (or the checkpoint LSN, when the log holds nothing after it). */
  lastLsn: number;
  /** Records handed to `replay`. */
  replayedRecords: number;
  /** Log bytes removed by recovery: the cut-off tail of a file plus every later file. */
  droppedBytes: number;
  /** The file where the invalid data starts, if the log was cut. */
  truncatedFile?: string;
  /**
   * Offset in `truncatedFile` of the first invalid byte. Below 16 (in the
   * header, or 0 for a file that does not continue the LSN sequence) the
   * whole file was removed; otherwise it was truncated to this length.
   */
  truncatedAt?: number;
  /** Why the log was cut there, e.g. "record checksum mismatch". */
  truncationReason?: string;
  /** True if the stored checkpoint was past the last valid record and was lowered to it. */
  clampedCheckpoint: boolean;
}

/**
 * Counters and gauges of a {@linkcode WriteAheadLog} for the metrics
 * snapshot. Counters are cumulative since open; the rest are current values.
 */
export interface WalStats {
  /** Records appended (counter). */
  appends: number;
  /** Bytes of records appended (counter). */
  appendedBytes: number;
  /** Sync rounds completed (counter); a round flushes every file with unsynced bytes. */
  syncs: number;
  /** Sync rounds that failed (counter; at most 1, as a failure is sticky). */
  syncFailures: number;
  /** Damaged records found by recovery, torn writes excluded (counter). */
  corruptions: number;
  /** Times recovery cut the log, for a torn or a damaged record (counter). */
  truncations: number;
  /** Bytes of log files not yet trimmed (gauge). */
  retainedBytes: number;
  /** Log files not yet trimmed, the active one included (gauge). */
  fileCount: number;
  /** Highest LSN known to be on stable storage (gauge). */
  durableLsn: number;
  /** LSN of the last checkpoint (gauge). */
  checkpointLsn: number;
  /** LSN of the last record appended — the applied LSN (gauge). */
  lastLsn: number;
  /** Bytes of records appended but not yet covered by a completed sync round (gauge). */
  pendingSyncBytes: number;
  /** Time spent in sync rounds, in milliseconds (counter). */
  syncTimeTotalMs: number;
  /** Longest sync round, in milliseconds. */
  syncTimeMaxMs: number;
  /** Record bytes made durable by sync rounds, summed over rounds (counter). */
  batchBytesTotal: number;
  /** Most record bytes one sync round made durable. */
  batchBytesMax: number;
}

/** A log file that has not been trimmed. */
interface LogFile {
  readonly path: string;
  readonly firstLsn: number;
  size: number;
  /** True while a handle is open on it: it is active, or rotated out and waiting for its last sync. */
  open: boolean;
}

/** A log file with its handle. */
interface OpenLogFile {
  readonly file: LogFile;
  readonly handle: FileHandle;
}

/** A log file found by recovery. */
interface FoundFile {
  readonly path: string;
  readonly firstLsn: number;
  readonly size: number;
}

/** Where recovery found the first invalid data. */
interface Cut {
  offset: number;
  reason: string;
  torn: boolean;
  /** The error fail-fast throws, when a better one than the generic CorruptionError exists. */
  error?: CorruptionError;
}

/** The outcome of reading the whole log at open. */
interface LogScan {
  checkpointLsn: number;
  /** Files whose records are all at or below the checkpoint. */
  covered: FoundFile[];
  /** Trailing files shorter than a header, holding a prefix of one: rotations cut short by a crash. */
  stubs: FoundFile[];
  /** Files of the valid prefix, the cut one excluded. */
  valid: FoundFile[];
  cut?: Cut & { file: FoundFile };
  /** Files after the cut one. */
  dropped: FoundFile[];
  /** LSN the next record must carry. */
  nextLsn: number;
  replayed: number;
}

type Counters = Omit<
  WalStats,
  "retainedBytes" | "fileCount" | "durableLsn" | "checkpointLsn" | "lastLsn" | "pendingSyncBytes"
>;

const RESOLVED: Promise<void> = Promise.resolve();

function ignore(): void {}

/**
 * The write-ahead log of one index; see the module doc for files, durability
 * and failure handling.
 *
 * Not safe to share across threads; safe to use from any number of async
 * tasks of one event loop. `append` is synchronous, so records get LSNs in
 * call order.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { MemoryFileSystem } from "../fs/mem_fs.ts";
 * import { WriteAheadLog } from "./write_ahead_log.ts";
 *
 * const fs = new MemoryFileSystem();
 * fs.mkdir("/db"); // the index directory, made durable by the index
 * await fs.syncDir("/");
 * const key = new TextEncoder().encode("apple");
 * const first = await WriteAheadLog.open(fs, "/db", {}, () => {});
 * await first.wal.append([{ type: "put", key, value: new Uint8Array([3]) }]).durable;
 * fs.crash();
 *
 * const replayed: number[] = [];
 * const { report } = await WriteAheadLog.open(fs, "/db", {}, (lsn) => replayed.push(lsn));
 * assertEquals(replayed, [1]);
 * assertEquals(report.lastLsn, 1);
 * ```
 */
export class WriteAheadLog {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #durability: Durability;
  readonly #segmentBytes: number;
  readonly #maxRetainedBytes: number;
  readonly #clock: () => number;
  /** Every untrimmed log file, oldest first; the last one is the active file. */
  readonly #files: LogFile[];
  readonly #counters: Counters;
  #active: OpenLogFile;
  /** Files rotated out whose handle is still open; the next sync round syncs and closes them. */
  #rotated: OpenLogFile[] = [];
  #activeUnsynced = false;
  #dirUnsynced = false;
  #lastLsn: number;
  #durableLsn: number;
  #checkpointLsn: number;
  /** `appendedBytes` as it was when the last successful sync round started. */
  #syncedBytes = 0;
  #failure: Error | undefined;
  #closing: Promise<void> | undefined;
  /** Tail of the chain of sync rounds, which run one at a time in order; never rejects. */
  #rounds: Promise<void> = RESOLVED;
  /** Group mode: the round queued behind the running one and not started yet, which new appends join. */
  #queuedRound: Promise<void> | undefined;
  /** Tail of the chain of checkpoints, which run one at a time; never rejects. */
  #checkpoints: Promise<void> = RESOLVED;
  /** Encoded records not written yet, all for the active file: `#pending[0, #pendingLength)`. */
  #pending = new Uint8Array(PENDING_INITIAL_BYTES);
  #pendingLength = 0;
  /** `none` mode: the end-of-turn write is queued. */
  #writeQueued = false;
  /** `none` mode: the end-of-turn write, bound once so queuing it allocates nothing. */
  readonly #writeAtTurnEnd = (): void => {
    this.#writeQueued = false;
    if (this.#failure) return;
    try {
      this.#writePending();
    } catch {
      // Recorded in `failed`; the next append, sync round or close reports it.
    }
  };

  private constructor(
    fs: FileSystem,
    dir: string,
    options: Required<WalOptions>,
    files: LogFile[],
    active: OpenLogFile,
    lastLsn: number,
    checkpointLsn: number,
    counters: Counters,
  ) {
    this.#fs = fs;
    this.#dir = dir;
    this.#durability = options.durability;
    this.#segmentBytes = options.segmentBytes;
    this.#maxRetainedBytes = options.maxRetainedBytes;
    this.#clock = options.clock;
    this.#files = files;
    this.#active = active;
    this.#lastLsn = lastLsn;
    this.#durableLsn = lastLsn;
    this.#checkpointLsn = checkpointLsn;
    this.#counters = counters;
  }

  /**
   * Opens the log in `<dir>/wal/`, creating it (durably) if missing, and
   * recovers it:
   * 1. reads the checkpoint (LSN 0 if there is none) and skips the log files
   *    wholly at or below it, which are then removed, as are trailing files
   *    shorter than a header that hold the start of one (a rotation cut short
   *    by a crash: no record was ever durable in them);
   * 2. reads the remaining files in order, checking each file header, each
   *    record's length, checksum and body, and that LSNs continue without a
   *    gap from one record (and file) to the next;
   * 3. hands every valid record with an LSN above the checkpoint to `replay`,
   *    in LSN order, as it goes;
   * 4. at the first invalid byte, with `truncate-invalid-tail`, truncates
   *    that file there (or removes it, if the damage is in its header or it
   *    does not continue the LSN sequence) and removes every later file;
   *    with `fail-fast`, throws without changing anything;
   * 5. lowers a checkpoint that lies past the last valid record to that
   *    record, durably, so that new records are not mistaken for covered ones;
   * 6. syncs what is left, so that every record replayed is durable before
   *    a new one is acknowledged.
   *
   * Appends then continue in the last file, or in a new one if that file is full.
   *
   * @param fs Where the index lives.
   * @param dir The index directory; the log lives in its `wal/` subdirectory.
   * @param options Durability, rotation size, corruption policy, backpressure threshold, clock.
   * @param replay Called synchronously, once per record to apply, in LSN order. The ops' keys and
   *   values are the callee's to keep. If open then fails, the records already handed over
   *   must be discarded.
   * @returns The open log and what recovery did.
   * @throws {TypeError|RangeError} If an option is invalid.
   * @throws {CorruptionError} With `fail-fast`, at the first invalid byte, naming file and offset.
   *   With either policy, if the checkpoint file is damaged, or if the log starts after the
   *   checkpoint (records in between are missing: not a tail that cutting could repair).
   * @throws {UnsupportedFormatError} If a log or checkpoint file is of a newer format version.
   * @throws {IoError} If the file system fails.
   */
  static async open(
    fs: FileSystem,
    dir: string,
    options: WalOptions,
    replay: (lsn: number, ops: WalOp[]) => void,
  ): Promise<{ wal: WriteAheadLog; report: RecoveryReport }> {
    const config = resolveOptions(options);
    if (typeof replay !== "function") throw new TypeError("replay must be a function");
    const walDir = joinPath(dir, WAL_DIR);
    if (fs.stat(walDir) === undefined) {
      fs.mkdir(walDir);
      await fs.syncDir(dir);
    }
    const scan = scanLog(fs, walDir, replay);
    const { cut } = scan;
    if (cut && config.corruptionPolicy === "fail-fast") {
      throw cut.error ?? new CorruptionError(cut.file.path, cut.offset, cut.reason);
    }

    const kept = [...scan.valid];
    const removals = [...scan.covered, ...scan.stubs];
    let droppedBytes = 0;
    if (cut) {
      if (cut.offset < FILE_HEADER_SIZE) {
        removals.push(cut.file);
        droppedBytes += cut.file.size;
      } else {
        const handle = fs.open(cut.file.path, "write");
        try {
          handle.truncate(cut.offset);
          await handle.sync();
        } finally {
          handle.close();
        }
        droppedBytes += cut.file.size - cut.offset;
        kept.push({ ...cut.file, size: cut.offset });
      }
      for (const file of scan.dropped) {
        removals.push(file);
        droppedBytes += file.size;
      }
    }
    for (const file of removals) fs.remove(file.path);
    // Bytes the previous process wrote but never synced are readable now, yet
    // could still vanish in a power loss; sync them before building on them.
    for (const file of kept) await syncFile(fs, file.path);

    const lastLsn = scan.nextLsn - 1;
    const clampedCheckpoint = scan.checkpointLsn > lastLsn;
    const checkpointLsn = Math.min(scan.checkpointLsn, lastLsn);
    const files: LogFile[] = kept.map((f) => ({
      path: f.path,
      firstLsn: f.firstLsn,
      size: f.size,
      open: false,
    }));
    const active = await openActiveFile(fs, walDir, files, scan.nextLsn, config.segmentBytes);
    try {
      await fs.syncDir(walDir);
      if (clampedCheckpoint) {
        await writeFileAtomic(fs, joinPath(walDir, CHECKPOINT_FILE), encodeCheckpoint(checkpointLsn));
      }
    } catch (error) {
      active.handle.close();
      throw error;
    }

    const counters: Counters = {
      appends: 0,
      appendedBytes: 0,
      syncs: 0,
      syncFailures: 0,
      corruptions: cut && !cut.torn ? 1 : 0,
      truncations: cut ? 1 : 0,
      syncTimeTotalMs: 0,
      syncTimeMaxMs: 0,
      batchBytesTotal: 0,
      batchBytesMax: 0,
    };
    const wal = new WriteAheadLog(fs, walDir, config, files, active, lastLsn, checkpointLsn, counters);
    const report: RecoveryReport = {
      checkpointLsn,
      lastLsn,
      replayedRecords: scan.replayed,
      droppedBytes,
      clampedCheckpoint,
    };
    if (cut) {
      report.truncatedFile = cut.file.path;
      report.truncatedAt = cut.offset;
      report.truncationReason = cut.reason;
    }
    return { wal, report };
  }

  /**
   * Appends one record holding `ops`: one op for a put or a delete, several
   * for an atomic batch (recovery applies all of them or none). The record
   * is encoded into the pending bytes and usually written later: at the start
   * of the next sync round (`sync`, `group`), at the end of the event-loop
   * turn (`none`), or at once if the pending bytes would pass
   * {@linkcode PENDING_LIMIT_BYTES} (see the module doc).
   *
   * @param ops The changes, in the order recovery hands them back.
   * @returns The record's LSN, and a promise that resolves once the record
   *   is durable at the log's durability (already resolved for `none`), or
   *   rejects with the error of the failed write or sync that prevented it.
   *   For `none`, a failed write of the record surfaces in `failed` and in the
   *   next `append`, not in this promise.
   *   Dropping the promise is safe: its rejection is not reported as unhandled,
   *   and the failure stays visible in `failed` and in the next `append`.
   * @throws {TypeError|RangeError} If `ops` is empty or malformed, or the record would exceed
   *   64 MiB; the log is unchanged and stays usable.
   * @throws {IoError} If writing out pending bytes (to make room, or before a rotation) or
   *   creating the next log file fails; the log has then failed for good and this record is not
   *   appended.
   * @throws {StateError} If the log failed earlier.
   * @throws {ClosedError} After `close()`.
   */
  append(ops: readonly WalOp[]): { lsn: number; durable: Promise<void> } {
    if (this.#closing) {
      throw new ClosedError(`Cannot append to the write-ahead log in ${this.#dir}: it is closed`);
    }
    if (this.#failure) throw this.#failedError("append to");
    const lsn = this.#lastLsn + 1;
    const size = recordSize(ops);
    let offset: number;
    try {
      const { file } = this.#active;
      if (file.size > FILE_HEADER_SIZE && file.size + size > this.#segmentBytes) this.#rotate(lsn);
      offset = this.#reserve(size);
    } catch (error) {
      this.#fail(error);
      throw error;
    }
    writeRecord(this.#pending, offset, lsn, ops, size);
    this.#active.file.size += size;
    this.#activeUnsynced = true;
    this.#lastLsn = lsn;
    this.#counters.appends++;
    this.#counters.appendedBytes += size;
    if (this.#durability === "none") {
      if (!this.#writeQueued) {
        this.#writeQueued = true;
        queueMicrotask(this.#writeAtTurnEnd);
      }
      return { lsn, durable: RESOLVED };
    }
    const group = this.#durability === "group";
    return { lsn, durable: this.#requestRound(group, !group) };
  }

  /**
   * Records that every record with an LSN up to `lsn` is durable elsewhere
   * (in the index's tables): syncs the log up to its end, writes the
   * checkpoint atomically, then removes every log file whose records are all
   * at or below `lsn` (never the active file, nor one whose handle is still
   * open). Checkpoints run one at a time; one at or below the current
   * checkpoint does nothing.
   *
   * @param lsn 0 up to {@linkcode WriteAheadLog.lastLsn}.
   * @throws {RangeError} If `lsn` is out of that range.
   * @throws {IoError} If a write or sync fails; the log has then failed for good.
   * @throws {StateError} If the log failed earlier.
   * @throws {ClosedError} After `close()`.
   */
  async checkpoint(lsn: number): Promise<void> {
    if (!Number.isSafeInteger(lsn) || lsn < 0 || lsn > this.#lastLsn) {
      throw new RangeError(
        `Cannot checkpoint LSN ${lsn}: expected an integer in 0..${this.#lastLsn}, the last LSN appended`,
      );
    }
    if (this.#closing) {
      throw new ClosedError(`Cannot checkpoint the write-ahead log in ${this.#dir}: it is closed`);
    }
    const run = this.#checkpoints.then(() => this.#checkpoint(lsn));
    this.#checkpoints = run.then(ignore, ignore);
    await run;
  }

  /**
   * Writes the records not yet handed to the OS and syncs, sharing a round
   * that has not started yet; resolves once every record appended before the
   * call is durable. The index calls it before it commits tables, whatever
   * the durability: a table may hold records the log has not written yet,
   * and after a crash the log must replay every record up to the newest
   * one in a table, or older records it does replay would overwrite newer
   * values the table holds.
   *
   * @throws {IoError} If a write or sync fails; the log has then failed for good.
   * @throws {StateError} If the log failed earlier.
   * @throws {ClosedError} After `close()`.
   */
  sync(): Promise<void> {
    if (this.#closing) {
      return Promise.reject(new ClosedError(`Cannot sync the write-ahead log in ${this.#dir}: it is closed`));
    }
    if (this.#failure) return Promise.reject(this.#failedError("sync"));
    return this.#requestRound(true, false);
  }

  /** Bytes of log files not yet trimmed, headers included. */
  get retainedBytes(): number {
    let total = 0;
    for (const file of this.#files) total += file.size;
    return total;
  }

  /**
   * True while {@linkcode WriteAheadLog.retainedBytes} exceeds
   * `maxRetainedBytes`. The log itself never blocks: the index should make
   * writers wait for a flush and a checkpoint while this is true.
   */
  get overLimit(): boolean {
    return this.retainedBytes > this.#maxRetainedBytes;
  }

  /** LSN of the last record appended (or recovered); 0 for an empty log. */
  get lastLsn(): number {
    return this.#lastLsn;
  }

  /** Highest LSN known to be on stable storage. */
  get durableLsn(): number {
    return this.#durableLsn;
  }

  /** LSN of the last checkpoint. */
  get checkpointLsn(): number {
    return this.#checkpointLsn;
  }

  /** The write or sync failure that failed the log for good, if any. */
  get failed(): Error | undefined {
    return this.#failure;
  }

  /** A frozen snapshot of the counters and gauges; see {@linkcode WalStats}. */
  stats(): WalStats {
    const c = this.#counters;
    return Object.freeze({
      appends: c.appends,
      appendedBytes: c.appendedBytes,
      syncs: c.syncs,
      syncFailures: c.syncFailures,
      corruptions: c.corruptions,
      truncations: c.truncations,
      retainedBytes: this.retainedBytes,
      fileCount: this.#files.length,
      durableLsn: this.#durableLsn,
      checkpointLsn: this.#checkpointLsn,
      lastLsn: this.#lastLsn,
      pendingSyncBytes: c.appendedBytes - this.#syncedBytes,
      syncTimeTotalMs: c.syncTimeTotalMs,
      syncTimeMaxMs: c.syncTimeMaxMs,
      batchBytesTotal: c.batchBytesTotal,
      batchBytesMax: c.batchBytesMax,
    });
  }

  /**
   * Stops taking appends and checkpoints, waits for running checkpoints and
   * sync rounds, runs one more sync round in `sync` and `group` mode (so
   * every pending `durable` promise settles), writes any bytes still pending
   * (`none` mode: written, not synced), and closes the files. Calling
   * it again returns the same promise.
   *
   * @throws {IoError} If the log fails while `close()` waits (a pending or the final sync round
   *   fails); the files are closed anyway. A failure from before the call is not raised again:
   *   it was reported to the writes it hit, and stays in `failed`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#checkpoints;
    let error: unknown;
    if (this.#durability !== "none" && !this.#failure) {
      try {
        await this.#requestRound(false, false);
      } catch (e) {
        error = e;
      }
    }
    await this.#rounds;
    if (!this.#failure) {
      try {
        this.#writePending();
      } catch (e) {
        error ??= e;
      }
    }
    if (error === undefined && !this.#failure && this.#checkpointLsn === this.#lastLsn) {
      try {
        await this.#startEmpty();
      } catch (e) {
        error = e;
      }
    }
    for (const { file, handle } of [...this.#rotated, this.#active]) {
      file.open = false;
      try {
        handle.close();
      } catch (e) {
        error ??= e;
      }
    }
    this.#rotated = [];
    if (error !== undefined) throw error;
  }

  async #checkpoint(lsn: number): Promise<void> {
    if (this.#failure) throw this.#failedError("checkpoint");
    if (lsn <= this.#checkpointLsn) return;
    // The checkpoint must never claim more than the log holds after a crash:
    // sync first, so recovery finds every record up to `lsn` (in `none` mode too).
    await this.#requestRound(false, false);
    try {
      await writeFileAtomic(this.#fs, joinPath(this.#dir, CHECKPOINT_FILE), encodeCheckpoint(lsn));
      this.#checkpointLsn = lsn;
      let removed = false;
      while (this.#files.length > 1) {
        const [oldest, next] = this.#files;
        if (oldest.open || next.firstLsn > lsn + 1) break;
        this.#fs.remove(oldest.path);
        this.#files.shift();
        removed = true;
      }
      if (removed) await this.#fs.syncDir(this.#dir);
    } catch (error) {
      this.#fail(error);
      throw error;
    }
  }

  /**
   * With every record checkpointed, moves to a fresh active file and removes
   * the others, so the next open reads one header instead of records it would
   * only skip. A crash in between leaves old files that recovery skips as
   * checkpointed.
   */
  async #startEmpty(): Promise<void> {
    const empty = this.#active.file.size === FILE_HEADER_SIZE;
    if (empty && this.#files.length === 1) return;
    // An empty active file already is the fresh one (and holds the name a rotation would take).
    if (!empty) this.#rotate(this.#lastLsn + 1);
    await this.#active.handle.sync();
    await this.#fs.syncDir(this.#dir);
    for (const { file, handle } of this.#rotated) {
      file.open = false;
      handle.close();
    }
    this.#rotated = [];
    for (const file of this.#files.splice(0, this.#files.length - 1)) this.#fs.remove(file.path);
    await this.#fs.syncDir(this.#dir);
  }

  /**
   * Makes room for a record of `size` bytes in the pending buffer, writing
   * the pending bytes out first if they would pass the limit; returns where
   * the record goes.
   */
  #reserve(size: number): number {
    let used = this.#pendingLength;
    if (used + size > this.#pending.length) {
      if (used > 0 && used + size > PENDING_LIMIT_BYTES) {
        this.#writePending();
        used = 0;
      }
      if (used + size > this.#pending.length) {
        const grown = new Uint8Array(
          Math.max(used + size, Math.min(PENDING_LIMIT_BYTES, this.#pending.length * 2)),
        );
        grown.set(this.#pending.subarray(0, used));
        this.#pending = grown;
      }
    }
    this.#pendingLength = used + size;
    return used;
  }

  /** Writes the pending bytes to the active file in one call; a failure fails the log. */
  #writePending(): void {
    const length = this.#pendingLength;
    if (length === 0) return;
    this.#pendingLength = 0;
    try {
      this.#active.handle.append(this.#pending.subarray(0, length));
    } catch (error) {
      this.#fail(error);
      throw error;
    }
    // A record larger than the limit grew the buffer past it: do not keep that much.
    if (this.#pending.length > PENDING_LIMIT_BYTES) this.#pending = new Uint8Array(PENDING_INITIAL_BYTES);
  }

  /** Starts a new active file for the record with LSN `firstLsn`, after writing the pending bytes to the old one. */
  #rotate(firstLsn: number): void {
    this.#writePending();
    const path = joinPath(this.#dir, logFileName(firstLsn));
    const handle = this.#fs.open(path, "create");
    const file: LogFile = { path, firstLsn, size: 0, open: true };
    this.#rotated.push(this.#active);
    this.#active = { file, handle };
    this.#files.push(file);
    this.#activeUnsynced = true;
    this.#dirUnsynced = true;
    handle.append(logFileHeader());
    file.size = FILE_HEADER_SIZE;
  }

  /**
   * Queues a sync round behind the others and returns its outcome.
   *
   * @param shared Join the queued round that has not started yet, if any (group commit).
   * @param force Sync the active file even if nothing was written since the last round
   *   (`sync` mode: one fsync per append).
   */
  #requestRound(shared: boolean, force: boolean): Promise<void> {
    if (shared && this.#queuedRound) return this.#queuedRound;
    const round: Promise<void> = this.#rounds.then(() => {
      if (this.#queuedRound === round) this.#queuedRound = undefined;
      return this.#syncRound(force);
    });
    if (shared) this.#queuedRound = round;
    // The chain swallows the outcome, which also marks `round` as handled: a
    // caller that drops its `durable` promise gets no unhandled rejection.
    this.#rounds = round.then(ignore, ignore);
    return round;
  }

  /**
   * Writes the pending bytes, then syncs the files rotated out since the last
   * round (and closes them), the active file, then the directory if a file
   * was created; records appended before the round started are then durable.
   */
  async #syncRound(force: boolean): Promise<void> {
    if (this.#failure) throw this.#failure;
    this.#writePending();
    const rotated = this.#rotated;
    const active = this.#active;
    const syncActive = this.#activeUnsynced || force;
    const syncDir = this.#dirUnsynced;
    if (rotated.length === 0 && !syncActive && !syncDir) return;
    this.#rotated = [];
    this.#activeUnsynced = false;
    this.#dirUnsynced = false;
    const target = this.#lastLsn;
    const written = this.#counters.appendedBytes;
    const started = this.#clock();
    try {
      // Oldest first: a new file's header becomes durable only after every
      // record before it, so a crash never leaves a valid later file behind a
      // hole (a file whose name got there before its header is a stub, which
      // recovery drops). The directory last, so a name acknowledged as
      // durable points at synced bytes.
      for (const { handle } of rotated) await handle.sync();
      if (syncActive) await active.handle.sync();
      if (syncDir) await this.#fs.syncDir(this.#dir);
    } catch (error) {
      this.#counters.syncFailures++;
      this.#fail(error);
      throw error;
    } finally {
      for (const { file, handle } of rotated) {
        file.open = false;
        try {
          handle.close();
        } catch (error) {
          this.#fail(error);
        }
      }
    }
    const c = this.#counters;
    const elapsed = Math.max(0, this.#clock() - started);
    c.syncs++;
    c.syncTimeTotalMs += elapsed;
    c.syncTimeMaxMs = Math.max(c.syncTimeMaxMs, elapsed);
    const batch = written - this.#syncedBytes;
    this.#syncedBytes = written;
    c.batchBytesTotal += batch;
    c.batchBytesMax = Math.max(c.batchBytesMax, batch);
    this.#durableLsn = target;
  }

  /** Fails the log for good; the first failure is the one reported. */
  #fail(error: unknown): void {
    this.#failure ??= error instanceof Error ? error : new Error(String(error));
  }

  #failedError(action: string): StateError {
    return new StateError(
      `Cannot ${action} the write-ahead log in ${this.#dir}: it failed earlier and takes no more writes ` +
        `(${this.#failure?.message})`,
      "ERROR",
      { cause: this.#failure },
    );
  }
}

/** Validates `options` and fills in the defaults. */
function resolveOptions(options: WalOptions): Required<WalOptions> {
  if (options === null || typeof options !== "object") throw new TypeError("WAL options must be an object");
  const durability = options.durability ?? "group";
  if (!DURABILITIES.includes(durability)) {
    throw new TypeError(
      `WAL durability must be one of ${DURABILITIES.join(", ")}, got ${String(durability)}`,
    );
  }
  const corruptionPolicy = options.corruptionPolicy ?? "truncate-invalid-tail";
  if (!POLICIES.includes(corruptionPolicy)) {
    throw new TypeError(
      `WAL corruptionPolicy must be one of ${POLICIES.join(", ")}, got ${String(corruptionPolicy)}`,
    );
  }
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes <= FILE_HEADER_SIZE) {
    throw new RangeError(
      `WAL segmentBytes must be an integer above ${FILE_HEADER_SIZE}, got ${segmentBytes}`,
    );
  }
  const maxRetainedBytes = options.maxRetainedBytes ?? DEFAULT_MAX_RETAINED_BYTES;
  if (!Number.isSafeInteger(maxRetainedBytes) || maxRetainedBytes < 0) {
    throw new RangeError(`WAL maxRetainedBytes must be a non-negative integer, got ${maxRetainedBytes}`);
  }
  const clock = options.clock ?? (() => performance.now());
  if (typeof clock !== "function") throw new TypeError("WAL clock must be a function");
  return { durability, corruptionPolicy, segmentBytes, maxRetainedBytes, clock };
}

/** Reads the checkpoint and every log file, replaying as it goes; changes nothing on disk. */
function scanLog(fs: FileSystem, walDir: string, replay: (lsn: number, ops: WalOp[]) => void): LogScan {
  const checkpointPath = joinPath(walDir, CHECKPOINT_FILE);
  const checkpointLsn = fs.stat(checkpointPath) === undefined
    ? 0
    : decodeCheckpoint(fs.readFile(checkpointPath), checkpointPath);
  const files: FoundFile[] = [];
  // Equal-length digit names: the listing's order is LSN order.
  for (const name of fs.list(walDir)) {
    const firstLsn = parseLogFileName(name);
    if (firstLsn === undefined) continue;
    const path = joinPath(walDir, name);
    const info = fs.stat(path);
    if (info?.kind === "file") files.push({ path, firstLsn, size: info.size });
  }
  // A rotation's new file can reach the directory (through any directory
  // sync, such as the checkpoint's rename) before its header is synced; a
  // crash then leaves a stub that holds no record. Not damage: drop it.
  const stubs: FoundFile[] = [];
  while (files.length > 0 && isStub(fs, files[files.length - 1])) stubs.unshift(files.pop() as FoundFile);
  // A file is wholly covered when the next one starts at or below checkpoint + 1.
  let first = 0;
  while (first + 1 < files.length && files[first + 1].firstLsn <= checkpointLsn + 1) first++;
  const scan: LogScan = {
    checkpointLsn,
    covered: files.slice(0, first),
    stubs,
    valid: [],
    dropped: [],
    nextLsn: checkpointLsn + 1,
    replayed: 0,
  };
  const rest = files.slice(first);
  if (rest.length === 0) return scan;
  if (rest[0].firstLsn > checkpointLsn + 1) {
    throw new CorruptionError(
      rest[0].path,
      0,
      `the log starts at LSN ${rest[0].firstLsn} but the checkpoint is at LSN ${checkpointLsn}: ` +
        "the records in between are missing",
    );
  }
  scan.nextLsn = rest[0].firstLsn;
  for (let i = 0; i < rest.length; i++) {
    if (i > 0 && rest[i].firstLsn !== scan.nextLsn) {
      // The records missing between two files were the tail of the earlier one: that file is the damaged one.
      const previous = scan.valid.pop()!;
      const reason = `the file ends at LSN ${scan.nextLsn - 1}, but the next log file starts at LSN ` +
        `${rest[i].firstLsn}: the records in between are missing`;
      scan.cut = { offset: previous.size, reason, torn: false, file: previous };
      scan.dropped = rest.slice(i);
      break;
    }
    const cut = scanFile(fs, rest[i], scan, replay);
    if (cut) {
      scan.cut = { ...cut, file: rest[i] };
      scan.dropped = rest.slice(i + 1);
      break;
    }
    scan.valid.push(rest[i]);
  }
  return scan;
}

/**
 * Reads one log file, replaying its records above the checkpoint and
 * advancing `scan.nextLsn`; returns where its first invalid data is, if any.
 */
function scanFile(
  fs: FileSystem,
  file: FoundFile,
  scan: LogScan,
  replay: (lsn: number, ops: WalOp[]) => void,
): Cut | undefined {
  if (file.firstLsn !== scan.nextLsn) {
    return {
      offset: 0,
      reason: `LSN gap: the file starts at LSN ${file.firstLsn}, but the log before it ends at LSN ` +
        `${scan.nextLsn - 1}`,
      torn: false,
    };
  }
  const bytes = fs.readFile(file.path);
  try {
    readFileHeader(bytes, file.path, FileKind.WAL);
  } catch (error) {
    if (!(error instanceof CorruptionError)) throw error;
    return { offset: error.offset, reason: error.message, torn: bytes.length < FILE_HEADER_SIZE, error };
  }
  let offset = FILE_HEADER_SIZE;
  while (offset < bytes.length) {
    const record = decodeRecord(bytes, offset);
    if (!record.ok) return { offset, reason: record.reason, torn: record.torn };
    if (record.lsn !== scan.nextLsn) {
      return { offset, reason: `record has LSN ${record.lsn}, expected ${scan.nextLsn}`, torn: false };
    }
    if (record.lsn > scan.checkpointLsn) {
      replay(record.lsn, record.ops.map(copyOp));
      scan.replayed++;
    }
    scan.nextLsn++;
    offset += record.size;
  }
  return undefined;
}

/** True if `file` is shorter than a header and holds the start of one (or nothing). */
function isStub(fs: FileSystem, file: FoundFile): boolean {
  if (file.size >= FILE_HEADER_SIZE) return false;
  const bytes = fs.readFile(file.path);
  const header = logFileHeader();
  return bytes.every((byte, i) => byte === header[i]);
}

/** An op whose key and value no longer share memory with the file's bytes. */
function copyOp(op: WalOp): WalOp {
  return op.value === undefined
    ? { type: op.type, key: op.key.slice() }
    : { type: op.type, key: op.key.slice(), value: op.value.slice() };
}

async function syncFile(fs: FileSystem, path: string): Promise<void> {
  const handle = fs.open(path, "write");
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/**
 * Opens the last kept file for appending, or, if there is none or it is
 * full, creates a new one for LSN `nextLsn` with its header synced (the
 * caller syncs the directory). Pushes a new file onto `files`.
 */
async function openActiveFile(
  fs: FileSystem,
  walDir: string,
  files: LogFile[],
  nextLsn: number,
  segmentBytes: number,
): Promise<OpenLogFile> {
  const last = files.at(-1);
  if (last && last.size < segmentBytes) {
    last.open = true;
    return { file: last, handle: fs.open(last.path, "write") };
  }
  const path = joinPath(walDir, logFileName(nextLsn));
  const handle = fs.open(path, "create");
  try {
    handle.append(logFileHeader());
    await handle.sync();
  } catch (error) {
    handle.close();
    throw error;
  }
  const file: LogFile = { path, firstLsn: nextLsn, size: FILE_HEADER_SIZE, open: true };
  files.push(file);
  return { file, handle };
}
