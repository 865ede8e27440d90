/**
 * The audit trail of the management agent: one hash-chained record per phase
 * of every mutating request, an *intent* before it runs and an *outcome*
 * after. {@linkcode FileAuditSink} keeps the trail in JSON-lines files,
 * {@linkcode MemoryAuditSink} in memory (tests, ephemeral agents), and
 * {@linkcode verifyAuditFiles} checks a trail offline (`agent/audit_verify.ts`).
 *
 * Format, part of the on-disk contract (also in `docs/agent_audit.md`):
 * - UTF-8 JSON lines, one entry per line, each ending in `\n`.
 * - Keys in this order, optional ones left out when absent: `seq`, `time`,
 *   `phase`, `requestId`, `tokenId`, `actor`, `remote`, `method`, `endpoint`,
 *   `bodySha256`, `outcome`?, `status`?, `code`?, `prevHash`, `hash`. The
 *   line is exactly `JSON.stringify` of the entry built in that order (no
 *   spaces), so any other spelling of the same data is detected.
 * - `seq` starts at 1 and grows by 1 per entry, across files.
 * - `hash` = hex SHA-256 of the UTF-8 bytes of `prevHash` followed by the
 *   canonical JSON of the entry without `hash` (the line up to `,"hash"`,
 *   closed with `}`); `prevHash` is the previous entry's `hash`, 64 zeros for
 *   the first entry ever.
 * - Rotation: before a line would take the active file past `maxFileBytes`,
 *   `audit.jsonl` becomes `audit.jsonl.1` (older ones shift to `.2`, `.3`, …)
 *   and the line starts a new `audit.jsonl`. The chain simply continues: the
 *   new file's first `prevHash` is the old file's last `hash`. Files numbered
 *   `maxFiles` and up are deleted once the new file holds a durable line.
 *
 * Verification walks the files oldest (highest number) to newest and
 * reports the first line that is unterminated, not JSON, not an entry, not
 * canonical, whose `hash` does not match, whose `seq` is not the previous
 * plus one, or whose `prevHash` is not the previous `hash`. A first retained
 * entry with `seq` 1 must carry 64 zeros; a later one (older files deleted by
 * retention) is taken as the anchor as it stands.
 *
 * @module
 */
import {
  ClosedError,
  CorruptionError,
  type FileHandle,
  type FileLock,
  type FileSystem,
} from "../engine/mod.ts";
import { NodeFileSystem } from "../engine/mod.ts";
import { basename, dirname, joinPath } from "../engine/fs/path.ts";

/** What the agent records about one phase of one mutating request. */
export interface AuditEvent {
  phase: "intent" | "outcome";
  /** The action's requestId, or the HTTP request id when the body had none. */
  requestId: string | null;
  /** Public id of the caller's token, never the token itself; null for anonymous callers. */
  tokenId: string | null;
  /** The person a trusted console acts on behalf of. */
  actor: string | null;
  /** Client address. */
  remote: string;
  method: string;
  /** Request path, e.g. `/api/v1/actions/flush`. */
  endpoint: string;
  /**
   * Hex SHA-256 of the raw request body (an empty body hashes too); `""`
   * only when the request was refused before its body was read.
   */
  bodySha256: string;
  /** Outcome records only. */
  outcome?: "SUCCEEDED" | "FAILED" | "REJECTED" | "REPLAYED";
  /** HTTP status; outcome records only. */
  status?: number;
  /** Error code of a failed or rejected request; outcome records only. */
  code?: string;
}

/** An {@linkcode AuditEvent} as stored: numbered, timed and chained. */
export interface AuditEntry extends AuditEvent {
  seq: number;
  /** ISO 8601 time of the append. */
  time: string;
  prevHash: string;
  hash: string;
}

/** The result of checking a trail's chain. */
export interface AuditVerification {
  ok: boolean;
  /** Entries checked and found sound (those before `firstBroken` when broken). */
  entries: number;
  /** The files walked, oldest first. */
  files: string[];
  /** The first line that breaks the chain; `line` is 1-based. */
  firstBroken?: { file: string; line: number; reason: string };
}

/**
 * Where the agent writes its audit trail. Appends are serialized: concurrent
 * calls each get their own `seq` and keep the chain valid.
 */
export interface AuditSink {
  /** Records `event`; resolves once the entry is durable, rejects (recording nothing) if it cannot be. */
  append(event: AuditEvent): Promise<AuditEntry>;
  /** Up to `limit` entries from the `offset`-th (0-based), oldest first over the retained trail. */
  page(offset: number, limit: number): Promise<{ entries: AuditEntry[]; total: number }>;
  /** Checks the chain of the retained trail. */
  verify(): Promise<AuditVerification>;
  /** Waits for pending appends, then releases the trail; later calls reject with `ClosedError`. */
  close(): Promise<void>;
}

/** Options of {@linkcode FileAuditSink.open}. */
export interface FileAuditOptions {
  /** Where the files live. @default {NodeFileSystem} */
  fs?: FileSystem;
  /** Size in bytes past which the active file is rotated (a single longer line still fits alone). @default {16 MiB} */
  maxFileBytes?: number;
  /** Files kept, the active one included; the oldest beyond are deleted. @default {8} */
  maxFiles?: number;
  /** Epoch milliseconds, for `time`. @default {Date.now} */
  clock?: () => number;
}

/** `prevHash` of the first entry ever. */
const GENESIS_HASH = "0".repeat(64);
const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_FILES = 8;
/** How far back one read looks for the start of the last line. */
const TAIL_CHUNK = 64 * 1024;
const NEWLINE = 0x0a;
const HEX64 = /^[0-9a-f]{64}$/;
const PHASES: readonly string[] = ["intent", "outcome"];
const OUTCOMES: readonly string[] = ["SUCCEEDED", "FAILED", "REJECTED", "REPLAYED"];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Hex SHA-256 of `data` (a string as UTF-8), through WebCrypto so it runs on Deno and Node. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** The canonical JSON of `entry`: fixed key order, optional keys only when present, `hash` only if asked. */
function canonicalJson(entry: Omit<AuditEntry, "hash"> & { hash?: string }, withHash: boolean): string {
  const ordered: Record<string, unknown> = {
    seq: entry.seq,
    time: entry.time,
    phase: entry.phase,
    requestId: entry.requestId,
    tokenId: entry.tokenId,
    actor: entry.actor,
    remote: entry.remote,
    method: entry.method,
    endpoint: entry.endpoint,
    bodySha256: entry.bodySha256,
  };
  if (entry.outcome !== undefined) ordered.outcome = entry.outcome;
  if (entry.status !== undefined) ordered.status = entry.status;
  if (entry.code !== undefined) ordered.code = entry.code;
  ordered.prevHash = entry.prevHash;
  if (withHash) ordered.hash = entry.hash;
  return JSON.stringify(ordered);
}

function entryHash(entry: Omit<AuditEntry, "hash">): Promise<string> {
  return sha256Hex(entry.prevHash + canonicalJson(entry, false));
}

/** Rejects an event the agent should never produce, before anything is written. */
function checkEvent(event: AuditEvent): void {
  const problem = eventProblem(event);
  if (problem) throw new TypeError(`Cannot append audit event: ${problem}`);
  const isOutcome = event.phase === "outcome";
  if (isOutcome && (event.outcome === undefined || event.status === undefined)) {
    throw new TypeError("Cannot append audit event: an outcome record needs 'outcome' and 'status'");
  }
  if (!isOutcome && (event.outcome !== undefined || event.status !== undefined || event.code !== undefined)) {
    throw new TypeError(
      "Cannot append audit event: 'outcome', 'status' and 'code' belong to outcome records",
    );
  }
}

/** The first field of `value` that an audit event cannot hold, described, or undefined. */
function eventProblem(value: Record<string, unknown> | AuditEvent): string | undefined {
  const v = value as Record<string, unknown>;
  if (typeof v.phase !== "string" || !PHASES.includes(v.phase)) return "'phase' must be intent or outcome";
  for (const key of ["requestId", "tokenId", "actor"]) {
    if (v[key] !== null && typeof v[key] !== "string") return `'${key}' must be a string or null`;
  }
  for (const key of ["remote", "method", "endpoint"]) {
    if (typeof v[key] !== "string") return `'${key}' must be a string`;
  }
  if (typeof v.bodySha256 !== "string" || !(v.bodySha256 === "" || HEX64.test(v.bodySha256))) {
    return "'bodySha256' must be 64 lowercase hex digits, or empty for a body never read";
  }
  if (v.outcome !== undefined && (typeof v.outcome !== "string" || !OUTCOMES.includes(v.outcome))) {
    return `'outcome' must be one of ${OUTCOMES.join(", ")}`;
  }
  if (v.status !== undefined && !(Number.isInteger(v.status) && (v.status as number) >= 100)) {
    return "'status' must be an HTTP status";
  }
  if (v.code !== undefined && typeof v.code !== "string") return "'code' must be a string";
  return undefined;
}

/** The first field of a parsed line that an entry cannot hold, described, or undefined. */
function entryProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not an object";
  const v = value as Record<string, unknown>;
  if (!Number.isSafeInteger(v.seq) || (v.seq as number) < 1) return "'seq' must be a positive integer";
  if (typeof v.time !== "string") return "'time' must be a string";
  if (typeof v.prevHash !== "string" || !HEX64.test(v.prevHash)) return "'prevHash' must be 64 hex digits";
  if (typeof v.hash !== "string" || !HEX64.test(v.hash)) return "'hash' must be 64 hex digits";
  return eventProblem(v);
}

/** Builds the next entry of a chain whose last entry has `seq` and `prevHash`. */
async function chainEntry(
  event: AuditEvent,
  seq: number,
  prevHash: string,
  now: number,
): Promise<AuditEntry> {
  const unhashed: Omit<AuditEntry, "hash"> = {
    seq,
    time: new Date(now).toISOString(),
    phase: event.phase,
    requestId: event.requestId,
    tokenId: event.tokenId,
    actor: event.actor,
    remote: event.remote,
    method: event.method,
    endpoint: event.endpoint,
    bodySha256: event.bodySha256,
    ...(event.outcome !== undefined && { outcome: event.outcome }),
    ...(event.status !== undefined && { status: event.status }),
    ...(event.code !== undefined && { code: event.code }),
    prevHash,
  };
  return { ...unhashed, hash: await entryHash(unhashed) };
}

/** A line parsed for verification: the entry and the hash it must carry (being computed), or why it is none. */
type ParsedLine = { entry: AuditEntry; expectedHash: Promise<string> } | { reason: string };

/**
 * Lines parsed ahead of the chain check, so that their digests run side by
 * side: awaited one at a time, a WebCrypto digest of a line took 38 µs on
 * Deno here, in batches 24 µs.
 */
const VERIFY_BATCH = 256;

function parseLine(line: string): ParsedLine {
  if (line.length === 0) return { reason: "empty line" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { reason: "bad JSON" };
  }
  const problem = entryProblem(parsed);
  if (problem) return { reason: `not an audit entry: ${problem}` };
  const entry = parsed as AuditEntry;
  if (canonicalJson(entry, true) !== line) {
    return { reason: "not canonical JSON (keys added, reordered or respelled)" };
  }
  return { entry, expectedHash: entryHash(entry) };
}

/**
 * Checks parsed lines one by one against the chain so far. The first line
 * sets the anchor: seq 1 must carry the genesis hash, a later seq is taken
 * as is because the entries before it were deleted by retention.
 */
class ChainChecker {
  #last: { seq: number; hash: string } | undefined;

  /** Why the line breaks the chain, or undefined when it extends it. */
  async check(line: ParsedLine): Promise<string | undefined> {
    if ("reason" in line) return line.reason;
    const { entry } = line;
    if (await line.expectedHash !== entry.hash) return "hash mismatch";
    if (this.#last === undefined) {
      if (entry.seq === 1 && entry.prevHash !== GENESIS_HASH) {
        return "prevHash mismatch: the first entry must carry 64 zeros";
      }
    } else if (entry.seq !== this.#last.seq + 1) {
      return `seq gap: expected ${this.#last.seq + 1}, found ${entry.seq}`;
    } else if (entry.prevHash !== this.#last.hash) {
      return "prevHash mismatch: not the hash of the previous entry";
    }
    this.#last = { seq: entry.seq, hash: entry.hash };
    return undefined;
  }
}

/** Verifies the content of files already read, oldest first. */
async function verifyContents(files: { path: string; bytes: Uint8Array }[]): Promise<AuditVerification> {
  const checker = new ChainChecker();
  let entries = 0;
  const paths = files.map((file) => file.path);
  const broken = (file: string, line: number, reason: string): AuditVerification => ({
    ok: false,
    entries,
    files: paths,
    firstBroken: { file, line, reason },
  });
  for (const [index, file] of files.entries()) {
    const lines = decoder.decode(file.bytes).split("\n");
    // A well-formed file ends with "\n", which leaves one empty piece after it.
    const tail = lines.pop();
    for (let from = 0; from < lines.length; from += VERIFY_BATCH) {
      const batch = lines.slice(from, from + VERIFY_BATCH).map(parseLine);
      for (const [i, line] of batch.entries()) {
        const reason = await checker.check(line);
        if (reason) return broken(file.path, from + i + 1, reason);
        entries++;
      }
    }
    if (tail) {
      const reason = index === files.length - 1
        ? "unterminated last line (a write cut short by a crash; the sink drops it when it reopens)"
        : "unterminated last line";
      return broken(file.path, lines.length + 1, reason);
    }
  }
  return { ok: true, entries, files: paths };
}

/** The number after the last dot of `name` when it is all digits, else undefined. */
function rotationNumber(name: string): number | undefined {
  const match = /\.([1-9][0-9]*)$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/**
 * Verifies the chain across `paths`, walked oldest first: numbered files
 * (`audit.jsonl.3`, `.2`, `.1`) by falling number, then unnumbered ones (the
 * active file), each group in the order given. So a shell glob such as
 * `audit.jsonl*` may be passed as it expands.
 *
 * @param paths the files of one trail
 * @param fs where they live; {@linkcode NodeFileSystem} by default
 * @throws {NotFoundError} a file is missing
 */
export async function verifyAuditFiles(
  paths: string[],
  fs: FileSystem = new NodeFileSystem(),
): Promise<AuditVerification> {
  const ordered = paths
    .map((path, given) => ({ path, given, n: rotationNumber(basename(path)) ?? 0 }))
    .sort((a, b) => b.n - a.n || a.given - b.given);
  return await verifyContents(ordered.map(({ path }) => ({ path, bytes: fs.readFile(path) })));
}

/**
 * Runs async operations one at a time, in call order; a failed one does not
 * stop those queued behind it.
 */
class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(operation);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

function checkPageArguments(offset: number, limit: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`Cannot page the audit trail: offset must be an integer >= 0, got ${offset}`);
  }
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError(`Cannot page the audit trail: limit must be an integer >= 0, got ${limit}`);
  }
}

/** Offset of the last "\n" in `handle` before `end`, or -1. */
function lastNewline(handle: FileHandle, end: number): number {
  while (end > 0) {
    const start = Math.max(0, end - TAIL_CHUNK);
    const chunk = handle.read(start, end - start);
    const i = chunk.lastIndexOf(NEWLINE);
    if (i >= 0) return start + i;
    end = start;
  }
  return -1;
}

/**
 * The last complete line of a file, where it starts, and the length of the
 * complete lines (bytes past it are a torn line).
 */
function lastLine(handle: FileHandle): { line: string | undefined; start: number; completeBytes: number } {
  const end = lastNewline(handle, handle.size());
  if (end < 0) return { line: undefined, start: 0, completeBytes: 0 };
  const start = lastNewline(handle, end) + 1;
  return { line: decoder.decode(handle.read(start, end - start)), start, completeBytes: end + 1 };
}

function countLines(bytes: Uint8Array): number {
  let count = 0;
  for (let i = bytes.indexOf(NEWLINE); i >= 0; i = bytes.indexOf(NEWLINE, i + 1)) count++;
  return count;
}

/**
 * The audit trail in JSON-lines files, rotated by size, with the format of
 * the module doc. One sink per trail: it holds the lock file
 * `.<name>.lock` beside the active file while open.
 *
 * Each append writes one line and `sync()`s it before resolving. A failed
 * append (write, flush or rotation) is cut back off the file and leaves the
 * chain as it was, so the next successful append continues it; if even the
 * cut fails, the next append makes it first.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { MemoryFileSystem } from "../engine/mod.ts";
 * import { FileAuditSink, sha256Hex } from "./audit_sink.ts";
 *
 * const sink = await FileAuditSink.open("/audit/audit.jsonl", { fs: new MemoryFileSystem() });
 * const event = {
 *   requestId: "req-1", tokenId: "ops", actor: null, remote: "127.0.0.1",
 *   method: "POST", endpoint: "/api/v1/actions/flush", bodySha256: await sha256Hex("{}"),
 * };
 * await sink.append({ ...event, phase: "intent" });
 * await sink.append({ ...event, phase: "outcome", outcome: "SUCCEEDED", status: 200 });
 * assertEquals((await sink.verify()).ok, true);
 * assertEquals((await sink.page(0, 10)).total, 2);
 * await sink.close();
 * ```
 */
export class FileAuditSink implements AuditSink {
  #fs: FileSystem;
  #path: string;
  #dir: string;
  #name: string;
  #maxFileBytes: number;
  #maxFiles: number;
  #clock: () => number;
  #lock: FileLock;
  #queue = new SerialQueue();
  #closed = false;
  /** The active file, or undefined after a rotation failed midway. */
  #handle: FileHandle | undefined;
  /** The active file was created and its directory entry is not yet durable. */
  #dirSyncDue = false;
  /** Length to cut the active file back to before the next write, after a failed append could not. */
  #cutTo: number | undefined;
  /** Files numbered maxFiles and up may exist; removed after the next durable line. */
  #cleanupDue = true;
  #seq = 0;
  #lastHash = GENESIS_HASH;
  /** Complete lines per retained file, keyed by name and valid while its size is unchanged. */
  #lineCounts = new Map<string, { size: number; lines: number }>();

  private constructor(
    fs: FileSystem,
    path: string,
    options: Required<Omit<FileAuditOptions, "fs">>,
    lock: FileLock,
  ) {
    this.#fs = fs;
    this.#path = path;
    this.#dir = dirname(path);
    this.#name = basename(path);
    this.#maxFileBytes = options.maxFileBytes;
    this.#maxFiles = options.maxFiles;
    this.#clock = options.clock;
    this.#lock = lock;
  }

  /**
   * Opens the trail whose active file is `path`, creating it (and its
   * directory) if missing, and resumes the chain after its last entry. A
   * last line cut short by a crash is truncated away; when the active file
   * is empty (a crash during rotation) the chain resumes from the newest
   * rotated file.
   *
   * @param path the active file, e.g. `/var/lib/hestia/audit/audit.jsonl`
   * @throws {RangeError} `maxFileBytes` or `maxFiles` below 1.
   * @throws {LockedError} another sink has the trail open.
   * @throws {CorruptionError} the last complete line is not an entry; run
   *   `audit:verify` and move the damaged file aside.
   */
  static async open(path: string, options: FileAuditOptions = {}): Promise<FileAuditSink> {
    const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    const maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES;
    if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes < 1) {
      throw new RangeError(
        `Cannot open the audit trail: maxFileBytes must be an integer >= 1, got ${maxFileBytes}`,
      );
    }
    if (!Number.isSafeInteger(maxFiles) || maxFiles < 1) {
      throw new RangeError(`Cannot open the audit trail: maxFiles must be an integer >= 1, got ${maxFiles}`);
    }
    const fs = options.fs ?? new NodeFileSystem();
    const dir = dirname(path);
    if (fs.stat(dir) === undefined) {
      fs.mkdir(dir);
      await fs.syncDir(dirname(dir));
    }
    const lock = fs.lock(joinPath(dir, `.${basename(path)}.lock`));
    const sink = new FileAuditSink(
      fs,
      path,
      { maxFileBytes, maxFiles, clock: options.clock ?? Date.now },
      lock,
    );
    try {
      await sink.#resume();
    } catch (error) {
      sink.#handle?.close();
      lock.release();
      throw error;
    }
    return sink;
  }

  append(event: AuditEvent): Promise<AuditEntry> {
    return this.#queue.run(async () => {
      this.#checkOpen("append to");
      checkEvent(event);
      const handle = await this.#activeFile();
      const entry = await chainEntry(event, this.#seq + 1, this.#lastHash, this.#clock());
      const bytes = encoder.encode(canonicalJson(entry, true) + "\n");
      if (handle.size() > 0 && handle.size() + bytes.length > this.#maxFileBytes) {
        await this.#rotate();
        await this.#write(await this.#activeFile(), bytes);
      } else {
        await this.#write(handle, bytes);
      }
      this.#seq = entry.seq;
      this.#lastHash = entry.hash;
      if (this.#cleanupDue) this.#removeExpired();
      return entry;
    });
  }

  page(offset: number, limit: number): Promise<{ entries: AuditEntry[]; total: number }> {
    return this.#queue.run(() => {
      this.#checkOpen("read");
      checkPageArguments(offset, limit);
      this.#cutBack();
      const files = this.#retainedFiles().map((path) => ({ path, lines: this.#countLines(path) }));
      const total = files.reduce((sum, file) => sum + file.lines, 0);
      const entries: AuditEntry[] = [];
      let first = 0;
      for (const file of files) {
        const from = Math.max(offset - first, 0);
        const to = Math.min(offset + limit - first, file.lines);
        if (from < to) entries.push(...this.#readEntries(file.path, from, to));
        first += file.lines;
      }
      return Promise.resolve({ entries, total });
    });
  }

  async verify(): Promise<AuditVerification> {
    // Read under the queue, so no rotation renames files between reads; hash outside it, so appends go on.
    const contents = await this.#queue.run(() => {
      this.#checkOpen("verify");
      this.#cutBack();
      return Promise.resolve(this.#retainedFiles().map((path) => ({ path, bytes: this.#fs.readFile(path) })));
    });
    return await verifyContents(contents);
  }

  close(): Promise<void> {
    return this.#queue.run(() => {
      if (this.#closed) return Promise.resolve();
      this.#closed = true;
      this.#handle?.close();
      this.#handle = undefined;
      this.#lock.release();
      return Promise.resolve();
    });
  }

  #checkOpen(action: string): void {
    if (this.#closed) throw new ClosedError(`Cannot ${action} the audit trail ${this.#path}: sink closed`);
  }

  #rotated(n: number): string {
    return `${this.#path}.${n}`;
  }

  /** Rotated files present, as [number, path], oldest (highest number) first. */
  #rotatedFiles(): [number, string][] {
    const found: [number, string][] = [];
    const prefix = `${this.#name}.`;
    for (const name of this.#fs.list(this.#dir)) {
      if (!name.startsWith(prefix)) continue;
      const n = rotationNumber(name);
      if (n !== undefined && name === `${prefix}${n}`) found.push([n, this.#rotated(n)]);
    }
    return found.sort((a, b) => b[0] - a[0]);
  }

  /** Every file of the trail present, oldest first. */
  #retainedFiles(): string[] {
    const files = this.#rotatedFiles().map(([, path]) => path);
    if (this.#fs.stat(this.#path) !== undefined) files.push(this.#path);
    return files;
  }

  async #resume(): Promise<void> {
    const handle = await this.#activeFile();
    const { line, start, completeBytes } = lastLine(handle);
    if (completeBytes < handle.size()) {
      // A crash cut the last append short: it was never acknowledged, so it is dropped.
      handle.truncate(completeBytes);
      await handle.sync();
    }
    if (line !== undefined) return this.#resumeAfter(line, this.#path, start);
    // An empty active file: a crash struck between a rotation and the first line after it.
    for (const [, path] of this.#rotatedFiles().reverse()) {
      const rotated = this.#fs.open(path, "read");
      try {
        const last = lastLine(rotated);
        if (last.line !== undefined) return this.#resumeAfter(last.line, path, last.start);
      } finally {
        rotated.close();
      }
    }
  }

  #resumeAfter(line: string, file: string, offset: number): void {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      entry = undefined;
    }
    const problem = entryProblem(entry);
    if (problem) {
      throw new CorruptionError(
        file,
        offset,
        `Cannot resume the audit chain: the last line is not an entry (${problem}); ` +
          "run audit:verify and move the damaged file aside",
      );
    }
    this.#seq = (entry as AuditEntry).seq;
    this.#lastHash = (entry as AuditEntry).hash;
  }

  /** The active file, opened or created, with earlier failures repaired, ready for a write. */
  async #activeFile(): Promise<FileHandle> {
    if (this.#handle === undefined) {
      const created = this.#fs.stat(this.#path) === undefined;
      this.#handle = this.#fs.open(this.#path, "append");
      this.#dirSyncDue ||= created;
    }
    if (this.#dirSyncDue) {
      await this.#fs.syncDir(this.#dir);
      this.#dirSyncDue = false;
    }
    this.#cutBack();
    return this.#handle;
  }

  /** Cuts off a failed append that could not be cut at once, before anyone writes or reads past it. */
  #cutBack(): void {
    if (this.#cutTo === undefined) return;
    this.#handle?.truncate(this.#cutTo);
    this.#cutTo = undefined;
  }

  async #write(handle: FileHandle, bytes: Uint8Array): Promise<void> {
    const before = handle.size();
    try {
      handle.append(bytes);
      await handle.sync();
    } catch (error) {
      // The entry was not acknowledged, so it must not stay: a later append reuses its seq.
      this.#cutTo = before;
      try {
        handle.truncate(before);
        this.#cutTo = undefined;
      } catch {
        // #cutBack() retries before the next write or read.
      }
      throw error;
    }
  }

  /**
   * Shifts `name.n` to `name.n+1` (newest last, so nothing is overwritten),
   * renames the active file to `name.1`, and makes that durable. Repeatable:
   * after a failure midway the next append runs it again over what is left.
   */
  async #rotate(): Promise<void> {
    this.#lineCounts.clear();
    this.#handle?.close();
    this.#handle = undefined;
    for (const [n, path] of this.#rotatedFiles()) {
      if (n < this.#maxFiles) this.#fs.rename(path, this.#rotated(n + 1));
    }
    this.#fs.rename(this.#path, this.#rotated(1));
    await this.#fs.syncDir(this.#dir);
    this.#cleanupDue = true;
  }

  /**
   * Deletes rotated files beyond retention. Runs only after a durable line
   * in the active file, because until then a crash resumes the chain from
   * the newest rotated file, which `maxFiles` 1 would otherwise delete.
   * Best effort: a failure leaves extra old files until the next append, and
   * must not fail this append, whose entry is already durable.
   */
  #removeExpired(): void {
    try {
      for (const [n, path] of this.#rotatedFiles()) {
        if (n >= this.#maxFiles) {
          this.#fs.remove(path);
          this.#lineCounts.delete(basename(path));
        }
      }
      this.#cleanupDue = false;
    } catch {
      // Retried after the next append.
    }
  }

  #countLines(path: string): number {
    const key = basename(path);
    const size = this.#fs.stat(path)?.size ?? 0;
    const cached = this.#lineCounts.get(key);
    if (cached?.size === size) return cached.lines;
    const lines = countLines(this.#fs.readFile(path));
    this.#lineCounts.set(key, { size, lines });
    return lines;
  }

  /** Entries `from` (inclusive) to `to` (exclusive) of `path`, by 0-based line. */
  #readEntries(path: string, from: number, to: number): AuditEntry[] {
    const text = decoder.decode(this.#fs.readFile(path));
    const entries: AuditEntry[] = [];
    let start = 0;
    for (let line = 0; line < to; line++) {
      const end = text.indexOf("\n", start);
      if (line >= from) {
        try {
          entries.push(JSON.parse(text.slice(start, end)) as AuditEntry);
        } catch {
          throw new CorruptionError(path, start, `line ${line + 1} of the audit trail is not JSON`);
        }
      }
      start = end + 1;
    }
    return entries;
  }
}

/**
 * The audit trail in memory, unbounded: for tests and for agents without a
 * trail on disk. Same entries, chain and verification as
 * {@linkcode FileAuditSink}; its "file" is named `memory`.
 */
export class MemoryAuditSink implements AuditSink {
  #entries: AuditEntry[] = [];
  #clock: () => number;
  #queue = new SerialQueue();
  #closed = false;

  /** @param clock epoch milliseconds, for `time`; `Date.now` by default */
  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** Every entry so far, oldest first. */
  get entries(): readonly AuditEntry[] {
    return this.#entries;
  }

  append(event: AuditEvent): Promise<AuditEntry> {
    return this.#queue.run(async () => {
      this.#checkOpen("append to");
      checkEvent(event);
      const last = this.#entries.at(-1);
      const entry = await chainEntry(event, (last?.seq ?? 0) + 1, last?.hash ?? GENESIS_HASH, this.#clock());
      this.#entries.push(entry);
      return entry;
    });
  }

  page(offset: number, limit: number): Promise<{ entries: AuditEntry[]; total: number }> {
    try {
      this.#checkOpen("read");
      checkPageArguments(offset, limit);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve({
      entries: this.#entries.slice(offset, offset + limit),
      total: this.#entries.length,
    });
  }

  async verify(): Promise<AuditVerification> {
    this.#checkOpen("verify");
    const text = this.#entries.map((entry) => canonicalJson(entry, true) + "\n").join("");
    return await verifyContents([{ path: "memory", bytes: encoder.encode(text) }]);
  }

  close(): Promise<void> {
    return this.#queue.run(() => {
      this.#closed = true;
      return Promise.resolve();
    });
  }

  #checkOpen(action: string): void {
    if (this.#closed) throw new ClosedError(`Cannot ${action} the audit trail: sink closed`);
  }
}
