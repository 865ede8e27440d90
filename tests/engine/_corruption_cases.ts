/**
 * The corruption suite's machinery: a deterministic workload that builds
 * index images on a {@linkcode MemoryFileSystem}, a model of every value
 * ever written, the damage (bit flips, truncations, headers made to look
 * newer), and the runner that reopens a damaged copy, reads everything,
 * runs the consistency check and judges the outcome.
 *
 * An outcome is acceptable when it is either
 * - a typed error naming the damaged file: `CorruptionError`, or
 *   `UnsupportedFormatError` for a header of a newer version, or a
 *   `StateError` whose `cause` is one of them, at open, at a read, or from
 *   the consistency check (whose problems name the file); or
 * - a success where every value read was written for that key: exactly the
 *   final value for every key whose last write the recovered log still
 *   holds, and a value from the key's history (or none) for the others.
 *
 * On top of that each kind of file has its own expectation: a damaged
 * manifest or checkpoint never opens; damaged chunks are always detected; a
 * damaged Bloom filter or sparse index is always rebuilt by the check, after
 * which reads succeed (or maintenance merges the table away); damage in a
 * live log record is cut and reported (or refused with `fail-fast`), never
 * silently accepted. The one loss recovery can't see is the newest log file
 * cut exactly between two records, or down to a header stub: that is a log
 * that simply ended there, so its lost tail needs no report (the per-key
 * rule above still holds).
 *
 * @module
 */
import {
  CorruptionError,
  type FileSystem,
  MemoryFileSystem,
  SegmentIndex,
  type SegmentIndexOptions,
  StateError,
  UnsupportedFormatError,
} from "../../engine/mod.ts";
import { writeFileAtomic } from "../../engine/fs/atomic.ts";
import { decodeManifest } from "../../engine/format/manifest.ts";
import { CURRENT_VERSION, FileKind, writeFileHeader } from "../../engine/format/file_header.ts";
import { decodeCheckpoint, decodeRecord, parseLogFileName } from "../../engine/wal/wal_format.ts";
import { prng } from "../_prng.ts";

export const DIR = "/db";

/** The kinds of file the suite damages. */
export const KINDS = ["log", "checkpoint", "chunks", "sparse", "bloom", "manifest"] as const;
export type Kind = typeof KINDS[number];

// ---- deterministic randomness ----

/** A seed for case `i` of a run, so one case can be replayed alone. */
export function caseSeed(seed: number, i: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i + 1, 0xc2b2ae35)) >>> 0;
}

function int(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

// ---- the workload and its model ----

/** Small limits, so a thousand writes make several segments, main and delta tables, and several log files. */
export const SMALL = {
  segmentWriteCacheKeyLimit: 40,
  segmentWriteCacheKeyLimitDuringMaintenance: 60,
  indexBufferedWriteKeyLimit: 200,
  segmentSplitKeyThreshold: 150,
  deltaFileLimit: 3,
  chunkKeyLimit: 8,
} as const;

/** One write of a key: its record's log sequence number and the value (`undefined`: deleted). */
export interface Write {
  lsn: number;
  value: string | undefined;
}

export interface Variant {
  name: string;
  /** How the writing process ends: a power loss, or a clean `close()`. */
  ending: "crash" | "close";
  durability: "group" | "sync";
  /** Flush (and so checkpoint) before the last writes, which then stay only in the log. */
  flushBeforeTail: boolean;
  walSegmentBytes: number;
}

export const VARIANTS: readonly Variant[] = [
  {
    name: "crash-after-flush",
    ending: "crash",
    durability: "group",
    flushBeforeTail: true,
    walSegmentBytes: 1024,
  },
  {
    name: "crash-lagging-checkpoint",
    ending: "crash",
    durability: "sync",
    flushBeforeTail: false,
    walSegmentBytes: 768,
  },
  {
    name: "clean-close",
    ending: "close",
    durability: "group",
    flushBeforeTail: false,
    walSegmentBytes: 1024,
  },
  {
    name: "crash-small-logs",
    ending: "crash",
    durability: "group",
    flushBeforeTail: false,
    walSegmentBytes: 512,
  },
];

export interface LogFileInfo {
  path: string;
  firstLsn: number;
  /** Offsets where a record starts, and the file's size: where a cut leaves whole records. */
  boundaries: number[];
  /** Every record is at or below the checkpoint and a later file follows: recovery removes it unread. */
  covered: boolean;
  /** The newest log file. */
  newest: boolean;
}

/** A finished index on a memory file system, copied out file by file, with the model of what was written. */
export interface Image {
  variant: Variant;
  seed: number;
  files: Map<string, Uint8Array>;
  /** Key → its writes, oldest first. */
  model: Map<string, Write[]>;
  /** LSN of the last write (every write is one log record). */
  lastLsn: number;
  checkpointLsn: number;
  /** Table file numbers the manifest names. */
  liveTables: Set<number>;
  logs: LogFileInfo[];
  /** What the image holds, for the report. */
  summary: string;
}

function key(i: number): string {
  return `key-${String(i).padStart(4, "0")}`;
}

/** Options of every open in the suite (the per-open ones must match what built the image). */
export function openOptions(
  variant: Variant,
  fs: FileSystem,
  extra: Partial<SegmentIndexOptions<string, string>> = {},
): SegmentIndexOptions<string, string> {
  return { fs, deltaFileLimit: SMALL.deltaFileLimit, walSegmentBytes: variant.walSegmentBytes, ...extra };
}

/**
 * Runs the workload of `variant` and returns the resulting image: random
 * puts, deletes and batches over 360 keys (flushes, compactions and splits
 * happen on their own at the small limits), then a tail of writes that stay
 * only in the log, then a crash or a clean close.
 */
export async function buildImage(variant: Variant, seed: number): Promise<Image> {
  const rand = prng(seed);
  const fs = new MemoryFileSystem();
  const index = await SegmentIndex.create<string, string>(DIR, {
    ...openOptions(variant, fs),
    ...SMALL,
    durability: variant.durability,
  });
  const model = new Map<string, Write[]>();
  let lsn = 0;
  let pending: Promise<void>[] = [];
  const record = (k: string, value: string | undefined) => {
    let writes = model.get(k);
    if (!writes) model.set(k, writes = []);
    writes.push({ lsn, value });
  };
  const write = (keys: number) => {
    const r = rand();
    lsn++;
    if (r < 0.06) {
      const ops = Array.from({ length: 2 + int(rand, 3) }, () => {
        const k = key(int(rand, keys));
        return rand() < 0.2
          ? { type: "delete" as const, key: k }
          : { type: "put" as const, key: k, value: `${k}@${lsn}` };
      });
      pending.push(index.batch(ops));
      for (const op of ops) record(op.key, op.type === "put" ? op.value : undefined);
    } else if (r < 0.14) {
      const k = key(int(rand, keys));
      pending.push(index.delete(k));
      record(k, undefined);
    } else {
      const k = key(int(rand, keys));
      const value = `${k}@${lsn}` + "x".repeat(int(rand, 12));
      pending.push(index.put(k, value));
      record(k, value);
    }
  };
  const settle = async () => {
    await Promise.all(pending);
    pending = [];
    // Let background maintenance (flushes, compactions, splits) run to the end.
    for (let i = 0; i < 100; i++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      const m = index.metrics().maintenance;
      if (m.queued + m.inFlight === 0) break;
    }
  };
  for (let i = 0; i < 1000; i++) {
    write(360);
    if (i % 25 === 24) await settle();
  }
  await settle();
  await index.flush();
  // Background flushes of some segments take these writes past the checkpoint, which stays below
  // the oldest write still buffered in another segment.
  for (let i = 0; i < 150; i++) {
    write(360);
    if (i % 30 === 29) await settle();
  }
  await settle();
  if (variant.flushBeforeTail) await index.flush();
  // The tail: acknowledged, spread thin enough over the segments to stay in their write caches.
  for (let i = 0; i < 60; i++) write(360);
  await settle();
  const m = index.metrics();
  if (m.wal.appliedLsn !== lsn) {
    throw new Error(`expected ${lsn} log records, the log has ${m.wal.appliedLsn}`);
  }
  const summary = `${m.segments.count} segments, ${m.segments.totalKeys} keys in tables ` +
    `(${m.segments.deltaFiles} delta tables), ${m.segments.bufferedKeys} keys only in the log; ` +
    `${m.maintenance.flushes} flushes, ${m.maintenance.compactions} compactions, ${m.split.completed} splits`;
  if (variant.ending === "crash") fs.crash();
  else await index.close();

  const files = new Map<string, Uint8Array>();
  const walk = (dir: string) => {
    for (const name of fs.list(dir)) {
      const path = `${dir}/${name}`;
      const info = fs.stat(path);
      if (info?.kind === "directory") walk(path);
      else if (name !== "LOCK") files.set(path, fs.readFile(path));
    }
  };
  walk(DIR);

  const manifest = decodeManifest(files.get(`${DIR}/MANIFEST`)!, "MANIFEST") as {
    segments: { main: { fileNo: number } | null; deltas: { fileNo: number }[] }[];
  };
  const liveTables = new Set<number>();
  for (const s of manifest.segments) {
    if (s.main) liveTables.add(s.main.fileNo);
    for (const d of s.deltas) liveTables.add(d.fileNo);
  }
  const checkpointBytes = files.get(`${DIR}/wal/CHECKPOINT`);
  if (!checkpointBytes) throw new Error(`variant ${variant.name} left no checkpoint`);
  const checkpointLsn = decodeCheckpoint(checkpointBytes, "CHECKPOINT");
  const logs: LogFileInfo[] = [];
  for (const [path, bytes] of files) {
    const firstLsn = parseLogFileName(path.slice(path.lastIndexOf("/") + 1));
    if (firstLsn === undefined) continue;
    const boundaries: number[] = [];
    let offset = 16;
    while (offset < bytes.length) {
      const r = decodeRecord(bytes, offset);
      if (!r.ok) throw new Error(`${path} holds an invalid record at ${offset} before any damage`);
      boundaries.push(offset);
      offset += r.size;
    }
    boundaries.push(bytes.length);
    logs.push({ path, firstLsn, boundaries, covered: false, newest: false });
  }
  logs.sort((a, b) => a.firstLsn - b.firstLsn);
  logs.forEach((log, i) => {
    log.covered = i + 1 < logs.length && logs[i + 1].firstLsn <= checkpointLsn + 1;
    log.newest = i === logs.length - 1;
  });
  const tables = [...files.keys()].filter((p) => p.endsWith(".chunks")).length;
  return {
    variant,
    seed,
    files,
    model,
    lastLsn: lsn,
    checkpointLsn,
    liveTables,
    logs,
    summary:
      `${variant.name}: ${summary}; ${files.size} files, ${tables} tables, ${logs.length} log files, ` +
      `checkpoint at LSN ${checkpointLsn} of ${lsn}`,
  };
}

/** A fresh memory file system holding the image's files (made durable). */
export async function restore(image: Image): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  const dirs = new Set<string>();
  for (const [path, bytes] of image.files) {
    const dir = path.slice(0, path.lastIndexOf("/"));
    if (!dirs.has(dir)) {
      fs.mkdir(dir);
      dirs.add(dir);
    }
    const handle = fs.open(path, "create");
    handle.append(bytes);
    await handle.sync();
    handle.close();
  }
  for (const dir of ["/", ...dirs]) await fs.syncDir(dir);
  return fs;
}

// ---- damage ----

export type Damage =
  | { type: "flip"; bits: number[] }
  | { type: "truncate"; length: number }
  | { type: "newer-version" };

/** The file a case damages, what it is, and what the damage does. */
export interface Target {
  kind: Kind;
  path: string;
  size: number;
  damage: Damage;
  /** For a table file: its number, and whether the manifest names it. */
  fileNo?: number;
  live: boolean;
  log?: LogFileInfo;
}

export function describeDamage(t: Target): string {
  const d = t.damage;
  const what = d.type === "flip"
    ? `flip ${d.bits.length} bit(s) at byte ${d.bits.map((b) => `${b >>> 3}.${b & 7}`).join(", ")}`
    : d.type === "truncate"
    ? `truncate to ${d.length} bytes`
    : "header made to look like a newer format version";
  return `${t.path} (${t.size} bytes${t.live ? "" : ", not live"}): ${what}`;
}

const KIND_OF: Record<Kind, FileKind> = {
  log: FileKind.WAL,
  checkpoint: FileKind.CHECKPOINT,
  chunks: FileKind.CHUNK_FILE,
  sparse: FileKind.SPARSE_INDEX,
  bloom: FileKind.BLOOM_FILTER,
  manifest: FileKind.MANIFEST,
};

function filesOfKind(image: Image, kind: Kind): string[] {
  const all = [...image.files.keys()];
  switch (kind) {
    case "log":
      return image.logs.map((l) => l.path);
    case "checkpoint":
      return all.filter((p) => p.endsWith("/wal/CHECKPOINT"));
    case "manifest":
      return all.filter((p) => p === `${DIR}/MANIFEST`);
    default:
      return all.filter((p) => p.endsWith(`.${kind}`));
  }
}

/** Picks a file of `kind` and the damage to do to it. */
export function pickTarget(image: Image, kind: Kind, rand: () => number): Target {
  const candidates = filesOfKind(image, kind);
  if (candidates.length === 0) throw new Error(`image ${image.variant.name} has no ${kind} file`);
  const path = candidates[int(rand, candidates.length)];
  const size = image.files.get(path)!.length;
  const log = kind === "log" ? image.logs.find((l) => l.path === path) : undefined;
  const tableNo = /\/(\d{6,})\.(chunks|sparse|bloom)$/.exec(path);
  const fileNo = tableNo ? Number(tableNo[1]) : undefined;
  const live = fileNo === undefined ? !(log?.covered ?? false) : image.liveTables.has(fileNo);
  const r = rand();
  let damage: Damage;
  if (r < 0.07) {
    damage = { type: "newer-version" };
  } else if (r < 0.52) {
    const count = 1 + int(rand, 8);
    const bits = new Set<number>();
    while (bits.size < count) bits.add(int(rand, size * 8));
    damage = { type: "flip", bits: [...bits].sort((a, b) => a - b) };
  } else {
    const t = rand();
    let length: number;
    if (t < 0.12) length = 0;
    else if (t < 0.3) length = 1 + int(rand, 15);
    else if (log && t < 0.5 && log.boundaries.some((b) => b < size)) {
      // A cut between two records: invisible in the newest file, an LSN gap in an older one.
      const cuts = log.boundaries.filter((b) => b < size);
      length = cuts[int(rand, cuts.length)];
    } else length = 16 + int(rand, Math.max(1, size - 16));
    damage = { type: "truncate", length: Math.min(length, size - 1) };
  }
  return { kind, path, size, damage, fileNo, live, log };
}

/** Applies the damage to the copy of the image in `fs`. */
export async function applyDamage(fs: MemoryFileSystem, t: Target): Promise<void> {
  const d = t.damage;
  if (d.type === "truncate") {
    const handle = fs.open(t.path, "write");
    handle.truncate(d.length);
    await handle.sync();
    handle.close();
    return;
  }
  const bytes = fs.readFile(t.path);
  if (d.type === "flip") {
    for (const bit of d.bits) bytes[bit >>> 3] ^= 1 << (bit & 7);
  } else {
    const kind = KIND_OF[t.kind];
    bytes.set(writeFileHeader(kind, CURRENT_VERSION[kind] + 1), 0);
  }
  await writeFileAtomic(fs, t.path, bytes);
}

/**
 * True when the damage leaves the newest log file ending cleanly between
 * two records (or as a header stub): indistinguishable from a log that
 * simply ended there, so the records behind the cut are lost without a
 * report. Recovery can't know about them; the check then only requires
 * every key to hold a value from its history.
 */
export function undetectableLogCut(t: Target): boolean {
  if (t.kind !== "log" || t.damage.type !== "truncate" || !t.log?.newest) return false;
  return t.damage.length < 16 || t.log.boundaries.includes(t.damage.length);
}

// ---- judging ----

/** Outcome names, in the order the table prints them. */
export const OUTCOMES = [
  "intact",
  "log cut reported",
  "log cut unreported (record boundary)",
  "CorruptionError at open",
  "UnsupportedFormatError at open",
  "error at read",
  "reported by check",
  "error in background maintenance",
  "repaired by check",
  "error at read, repaired after reopen",
  "table compacted away",
  "timeout",
  "violation",
] as const;
export type Outcome = typeof OUTCOMES[number];

/** What a case found: broken promises, and what happened step by step. */
export class Verdict {
  readonly violations: string[] = [];
  readonly trace: string[] = [];
  violation(message: string): void {
    if (this.violations.length < 8) this.violations.push(message);
  }
}

export interface CaseResult {
  outcome: Outcome;
  verdict: Verdict;
  target: Target;
  policy: string;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** The engine error behind `e`: itself, or the cause of a `StateError`. */
function rootError(e: unknown): unknown {
  return e instanceof StateError ? e.cause : e;
}

function describeError(e: unknown): string {
  if (!(e instanceof Error)) return `non-error ${String(e)}`;
  const cause = e instanceof StateError && e.cause instanceof Error
    ? ` (cause ${e.cause.name}: ${e.cause.message})`
    : "";
  return `${e.name}: ${e.message}${cause}`;
}

const TABLE_KINDS: readonly Kind[] = ["chunks", "sparse", "bloom"];

/**
 * Why `e` is not an acceptable error for the damage, or undefined if it is:
 * a `CorruptionError` (an `UnsupportedFormatError` when the header was made
 * newer), directly or as a `StateError`'s cause, that names the file.
 */
export function errorProblem(e: unknown, t: Target): string | undefined {
  const root = rootError(e);
  const newer = t.damage.type === "newer-version";
  const expected = newer ? UnsupportedFormatError : CorruptionError;
  // The consistency check reports what it can't repair through one CorruptionError of the index,
  // whose message quotes the UnsupportedFormatError of a newer table file.
  const typed = root instanceof expected ||
    (newer && TABLE_KINDS.includes(t.kind) && root instanceof CorruptionError &&
      root.message.includes("Unsupported format in"));
  if (!typed) return `expected ${expected.name} naming ${t.path}, got ${describeError(e)}`;
  const err = root as CorruptionError | UnsupportedFormatError;
  const name = basename(t.path);
  if (!err.file.endsWith(name) && !err.message.includes(name)) {
    return `${err.name} does not name ${name}: ${err.message} (file ${err.file})`;
  }
  return undefined;
}

/** Per-key verdicts on what an index returns, against the model. */
class Judge {
  constructor(readonly image: Image, readonly exactLsn: number) {}

  /** Why `got` can't be the value of `k`, or undefined if it can. */
  value(k: string, got: string | undefined): string | undefined {
    const writes = this.image.model.get(k);
    if (!writes) return `key ${k} was never written, yet reads ${JSON.stringify(got)}`;
    const last = writes[writes.length - 1];
    if (last.lsn <= this.exactLsn) {
      return got === last.value
        ? undefined
        : `key ${k} reads ${JSON.stringify(got)}, expected its final value ${JSON.stringify(last.value)} ` +
          `(LSN ${last.lsn}, recovered log ends at ${this.exactLsn})`;
    }
    if (got === undefined || writes.some((w) => w.value === got)) return undefined;
    return `key ${k} reads ${JSON.stringify(got)}, a value never written for it`;
  }
}

/**
 * Reads every key of the model with `get`, then the whole `range()`,
 * checking each value and that the two agree. Engine errors propagate;
 * wrong values are violations.
 */
function readAll(index: SegmentIndex<string, string>, judge: Judge, v: Verdict): void {
  const got = new Map<string, string | undefined>();
  for (const k of judge.image.model.keys()) {
    const value = index.get(k);
    got.set(k, value);
    const problem = judge.value(k, value);
    if (problem) v.violation(`get: ${problem}`);
  }
  let previous: string | undefined;
  let seen = 0;
  for (const [k, value] of index.range()) {
    if (previous !== undefined && k <= previous) v.violation(`range: ${k} after ${previous}`);
    previous = k;
    seen++;
    const problem = judge.value(k, value);
    if (problem) v.violation(`range: ${problem}`);
    if (got.get(k) !== value) {
      v.violation(`range gives ${k} = ${JSON.stringify(value)}, get gave ${JSON.stringify(got.get(k))}`);
    }
  }
  const present = [...got.values()].filter((value) => value !== undefined).length;
  if (seen !== present) v.violation(`range returned ${seen} entries, get found ${present} keys`);
}

/** Resolves with the promise, or rejects with a {@linkcode TimeoutError} once `ms` have passed. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class TimeoutError extends Error {}

type Phase = "read-first" | "check-first";

/** One open of the damaged copy: what happened. */
interface OpenResult {
  /** Where the first engine error surfaced, if any. */
  errorAt?: "open" | "read" | "check" | "background";
  error?: unknown;
  /** The consistency check rebuilt the damaged file. */
  repaired: boolean;
  /** The log was cut, as the recovery report says. */
  logCut: boolean;
  /** The recovered log ends before the last write. */
  lostTail: boolean;
}

/**
 * Opens the damaged copy and exercises it: reads and the consistency check
 * in the order `phase` says, reads again after a repair, then closes.
 */
async function exercise(
  fs: MemoryFileSystem,
  image: Image,
  t: Target,
  policy: "truncate-invalid-tail" | "fail-fast",
  phase: Phase,
  v: Verdict,
): Promise<OpenResult> {
  const result: OpenResult = { repaired: false, logCut: false, lostTail: false };
  let index: SegmentIndex<string, string>;
  try {
    index = await SegmentIndex.open<string, string>(
      DIR,
      openOptions(image.variant, fs, { walCorruptionPolicy: policy }),
    );
  } catch (e) {
    v.trace.push(`open (${policy}) failed: ${describeError(e)}`);
    const problem = errorProblem(e, t);
    if (problem) v.violation(`open: ${problem}`);
    return { ...result, errorAt: "open", error: e };
  }
  const rec = index.recovery!;
  result.logCut = rec.droppedBytes > 0 || rec.truncatedFile !== undefined;
  result.lostTail = rec.lastLsn < image.lastLsn;
  v.trace.push(
    `open (${policy}) ok: replayed ${rec.replayedRecords}, log ends at LSN ${rec.lastLsn}, dropped ` +
      `${rec.droppedBytes} bytes${
        rec.truncatedFile ? ` of ${rec.truncatedFile} at ${rec.truncatedAt}` : ""
      }` +
      `${rec.truncationReason ? ` (${rec.truncationReason})` : ""}` +
      `${rec.clampedCheckpoint ? ", checkpoint clamped" : ""}`,
  );
  if (rec.truncatedFile && !rec.truncationReason) {
    v.violation("the recovery report gives no reason for its cut");
  }
  const judge = new Judge(image, rec.lastLsn);

  const fail = (at: NonNullable<OpenResult["errorAt"]>, e: unknown) => {
    result.errorAt = at;
    result.error = e;
    v.trace.push(`${at}: ${describeError(e)}`);
    const problem = errorProblem(e, t);
    if (problem) v.violation(`${at}: ${problem}`);
  };

  const check = async (): Promise<boolean> => {
    let report;
    try {
      report = await index.checkAndRepairConsistency();
    } catch (e) {
      // The check waits for maintenance first: an error here is the background's.
      fail("background", e);
      return false;
    }
    v.trace.push(
      `check: ${report.tablesChecked} tables, ${report.keysChecked} keys, problems ` +
        `${JSON.stringify(report.problems)}, rebuilt ${JSON.stringify(report.rebuilt)}`,
    );
    const name = basename(t.path);
    for (const p of report.problems) {
      if (!p.problem.includes(name)) v.violation(`check reports a problem elsewhere: ${p.problem}`);
    }
    for (const r of report.rebuilt) {
      if (r.fileNo !== t.fileNo || r.file !== t.kind) {
        v.violation(`check rebuilt the ${r.file} of table ${r.fileNo}, not the damaged file`);
      }
    }
    if (report.removedFiles.length > 0) v.violation(`check removed ${report.removedFiles.join(", ")}`);
    if (report.rebuilt.length > 0) result.repaired = true;
    const unrepaired = report.problems.filter((p) => !p.action.startsWith("rebuilt"));
    if (unrepaired.length > 0) {
      result.errorAt = "check";
      if (index.state !== "ERROR") {
        v.violation(`check found unrepairable damage, yet the index is ${index.state}`);
      }
      return false;
    }
    return true;
  };

  const read = (): boolean => {
    try {
      readAll(index, judge, v);
      return true;
    } catch (e) {
      fail("read", e);
      return false;
    }
  };

  if (phase === "read-first") {
    if (read() && await check() && result.repaired) read();
  } else if (await check()) {
    read();
  }
  if (result.errorAt && index.state !== "ERROR") {
    v.violation(`an engine error surfaced (${result.errorAt}), yet the index is ${index.state}`);
  }
  // In ERROR every operation but close refuses with a StateError carrying the cause.
  if (index.state === "ERROR") {
    try {
      index.get("key-0000");
      v.violation("get succeeded on an index in ERROR");
    } catch (e) {
      if (!(e instanceof StateError) || e.cause === undefined) {
        v.violation(`get in ERROR threw ${describeError(e)}`);
      }
    }
  }
  const wasError = index.state === "ERROR";
  try {
    await index.close();
    if (wasError) v.violation("close of an index in ERROR resolved");
  } catch (e) {
    if (!wasError) fail("background", e);
    else if (!(e instanceof StateError)) v.violation(`close in ERROR threw ${describeError(e)}`);
  }
  return result;
}

/** After a repair: the rebuilt file holds across a reopen, and every value reads back without a new check. */
async function verifyRepairHolds(fs: MemoryFileSystem, image: Image, v: Verdict): Promise<void> {
  try {
    const index = await SegmentIndex.open<string, string>(DIR, openOptions(image.variant, fs));
    readAll(index, new Judge(image, index.recovery!.lastLsn), v);
    await index.close();
    v.trace.push("reopened after the repair: every value reads back");
  } catch (e) {
    v.violation(`reopening after the repair failed: ${describeError(e)}`);
  }
}

export interface CaseSpec {
  image: Image;
  kind: Kind;
  seed: number;
}

/** Runs one case: restore the image, damage one file, reopen, read, check, judge. */
export async function runCase(spec: CaseSpec): Promise<CaseResult> {
  const rand = prng(spec.seed);
  const { image } = spec;
  const t = pickTarget(image, spec.kind, rand);
  const policy = rand() < 0.3 ? "fail-fast" : "truncate-invalid-tail";
  const phase: Phase = rand() < 0.5 ? "read-first" : "check-first";
  const v = new Verdict();
  v.trace.push(`${describeDamage(t)}; ${policy}, ${phase}`);
  const fs = await restore(image);
  await applyDamage(fs, t);
  const first = await exercise(fs, image, t, policy, phase, v);
  let outcome = await judgeCase(fs, image, t, policy, first, v);
  if (v.violations.length > 0) outcome = "violation";
  return { outcome, verdict: v, target: t, policy };
}

/** Checks what the damaged file's kind promises, and names the outcome. */
async function judgeCase(
  fs: MemoryFileSystem,
  image: Image,
  t: Target,
  policy: string,
  first: OpenResult,
  v: Verdict,
): Promise<Outcome> {
  const newer = t.damage.type === "newer-version";
  const silentCut = undetectableLogCut(t);
  if (first.errorAt === undefined && first.lostTail && !first.logCut && !silentCut) {
    v.violation(`writes up to LSN ${image.lastLsn} were acknowledged; the log lost some without a report`);
  }
  switch (t.kind) {
    case "manifest":
    case "checkpoint":
      if (first.errorAt !== "open") v.violation(`a damaged ${t.kind} opened`);
      break;
    case "log":
      if (!t.live || silentCut) break;
      if (newer || policy === "fail-fast") {
        if (first.errorAt !== "open") v.violation(`${newer ? "a newer log file" : "fail-fast"} opened`);
      } else if (first.errorAt === "open") {
        v.violation("truncate-invalid-tail refused to open instead of cutting the log");
      } else if (!first.logCut) {
        v.violation("damage in a live log file was neither cut nor reported");
      }
      break;
    case "chunks":
      if (t.live && first.errorAt === undefined) v.violation("damaged chunks went unnoticed");
      break;
    case "sparse":
    case "bloom": {
      if (!t.live) break;
      if (newer) {
        // A newer engine's file is reported (by a read or the check) and left exactly as it is, never rewritten.
        if (first.repaired) v.violation(`the check rewrote a ${t.kind} of a newer format version`);
        if (fs.stat(t.path) === undefined) return "table compacted away";
        if (first.errorAt === undefined) v.violation(`a ${t.kind} of a newer format version went unnoticed`);
        const now = fs.readFile(t.path);
        // Bytes 6–7 of the header hold the format version; a rewrite would have put this engine's (1) back.
        if (now.length !== t.size || (now[6] | (now[7] << 8)) === 1) {
          v.violation(`the newer ${t.kind} was rewritten`);
        }
        break;
      }
      if (first.repaired) {
        await verifyRepairHolds(fs, image, v);
        break;
      }
      if (first.errorAt === undefined) {
        // Acceptable only if maintenance merged the table away, so the damaged file is gone.
        if (fs.stat(t.path) === undefined) return "table compacted away";
        v.violation(`a damaged ${t.kind} went unnoticed`);
        break;
      }
      // The damage surfaced first and moved the index to ERROR: reopen, and the check must rebuild the file.
      const again = await exercise(fs, image, t, "truncate-invalid-tail", "check-first", v);
      if (again.errorAt === undefined && fs.stat(t.path) === undefined) return "table compacted away";
      if (again.repaired) {
        await verifyRepairHolds(fs, image, v);
        return "error at read, repaired after reopen";
      }
      v.violation(`the check did not rebuild the damaged ${t.kind} after a reopen`);
      break;
    }
  }
  if (first.errorAt === "open") {
    return rootError(first.error) instanceof UnsupportedFormatError
      ? "UnsupportedFormatError at open"
      : "CorruptionError at open";
  }
  if (first.repaired) return "repaired by check";
  if (first.errorAt === "read") return "error at read";
  if (first.errorAt === "check") return "reported by check";
  if (first.errorAt === "background") return "error in background maintenance";
  if (first.logCut) return "log cut reported";
  if (first.lostTail) return "log cut unreported (record boundary)";
  return "intact";
}

/** Outcome counts per kind of file, as a printable table. */
export function formatTally(tally: Map<Kind, Map<Outcome, number>>): string {
  const used = OUTCOMES.filter((o) => KINDS.some((k) => (tally.get(k)?.get(o) ?? 0) > 0));
  const header = ["kind", "cases", ...used];
  const rows = KINDS.map((k) => {
    const counts = tally.get(k) ?? new Map<Outcome, number>();
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    return [k, String(total), ...used.map((o) => String(counts.get(o) ?? 0))];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]));
  return [line(header), ...rows.map(line)].map((cells) => cells.join(" | ")).join("\n");
}
