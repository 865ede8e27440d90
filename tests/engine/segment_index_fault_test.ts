/**
 * Fault injection and crashes through every step of flush, compaction and
 * split: a {@linkcode FaultFileSystem} over a {@linkcode MemoryFileSystem}
 * fails the Nth append / write / sync / syncDir / rename / remove / open of
 * an operation, for every N a clean run of that operation performs, with and
 * without a power loss afterwards. The index must either complete the
 * operation or move to ERROR, close and release its lock either way, and
 * after reopening hold exactly the data of the last completed operation —
 * the state before the operation (D1) or after it (D2), never a mix and
 * never a half-written file read back.
 *
 * @module
 */
import {
  assert,
  assertEquals,
  assertGreater,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import {
  type FileHandle,
  type FileInfo,
  type FileLock,
  type FileSystem,
  HestiaStoreError,
  IoError,
  MemoryFileSystem,
  type OpenMode,
  SegmentIndex,
  StateError,
} from "../../engine/mod.ts";
import { FaultFileSystem, type FaultOp } from "../../engine/fs/fault_fs.ts";
import { counters, key, SMALL } from "./_index_model.ts";

const DIR = "/db";

type Entries = [string, string][];

/** Applies writes to the index and to a `Map` model alike. */
class Writer {
  readonly model = new Map<string, string>();
  /** The writes' promises: with the write-ahead log each resolves once its write is durable. */
  pending: Promise<void>[] = [];
  constructor(readonly index: SegmentIndex<string, string>) {}
  put(i: number, value: string): void {
    this.pending.push(this.index.put(key(i), value));
    this.model.set(key(i), value);
  }
  delete(i: number): void {
    this.pending.push(this.index.delete(key(i)));
    this.model.delete(key(i));
  }
  /** Resolves once every write so far was acknowledged. */
  async acknowledged(): Promise<void> {
    await Promise.all(this.pending.splice(0));
  }
  /** The model's entries in key order (keys are ASCII, so `<` is byte order). */
  entries(): Entries {
    return [...this.model.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

/** One operation under test, with the data before it (D1, durable) and the writes it must make durable (D2). */
interface Workload {
  name: string;
  /** D1; `compact()` then makes it durable and leaves the index idle. */
  d1(w: Writer): void;
  /** D2: applied synchronously right before the operation, so no background work commits a part of it. */
  d2(w: Writer): void;
  /** `bulkLoad`: a bulk load of `loaded` (which `d2` puts into the model only), then its commit. */
  op: "flush" | "compact" | "bulkLoad";
  loaded?: Entries;
  /** Maintenance a clean run of the operation (with the background work it starts) must include. */
  expect: { compactions: number; splits: number };
}

const WORKLOADS: Workload[] = [
  {
    name: "flush() of the write caches of two segments",
    d1: (w) => {
      for (let i = 0; i < 150; i++) w.put(i, `a${i}`);
    },
    d2: (w) => {
      for (let i = 0; i < 6; i++) w.put(i, `b${i}`);
      for (let i = 10; i < 14; i++) w.delete(i);
      for (let i = 100; i < 106; i++) w.put(i, `b${i}`);
      for (let i = 110; i < 114; i++) w.delete(i);
      for (let i = 150; i < 154; i++) w.put(i, ""); // empty values
    },
    op: "flush",
    expect: { compactions: 0, splits: 0 },
  },
  {
    name: "flush() whose third delta table starts a background compaction and split",
    d1: (w) => {
      for (let i = 0; i < 90; i++) w.put(i, `a${i}`);
    },
    d2: (w) => {
      for (let i = 90; i < 160; i++) w.put(i, `b${i}`.repeat(i % 5));
      for (let i = 0; i < 5; i++) w.delete(i);
    },
    op: "flush",
    expect: { compactions: 1, splits: 1 },
  },
  {
    name: "compact() merging delta tables into a main table that splits",
    d1: (w) => {
      for (let i = 0; i < 90; i++) w.put(i, `a${i}`);
    },
    d2: (w) => {
      for (let i = 90; i < 130; i++) w.put(i, `b${i}`);
      for (let i = 0; i < 10; i++) w.put(i, `b${i}`);
      for (let i = 20; i < 30; i++) w.delete(i);
    },
    op: "compact",
    expect: { compactions: 1, splits: 1 },
  },
  {
    // Splits repeat until every half is under the threshold, so D1 leaves four segments of about 75 keys.
    name: "compact() of several segments that compact, one of them splitting",
    d1: (w) => {
      for (let i = 0; i < 300; i++) w.put(i, `a${i}`);
    },
    d2: (w) => {
      for (let i = 0; i < 300; i += 3) w.put(i, `b${i}`);
      for (let i = 0; i < 300; i += 7) w.delete(i);
      for (let i = 300; i < 340; i++) w.put(i, `b${i}`);
    },
    op: "compact",
    expect: { compactions: 2, splits: 1 },
  },
  bulkLoadWorkload(
    "bulkLoad() of six segments above the data of two",
    150,
    Array.from({ length: 260 }, (_, i): [string, string] => [key(200 + i), `l${i}`.repeat(i % 4)]),
  ),
  bulkLoadWorkload(
    "bulkLoad() of three segments into an empty index",
    0,
    Array.from({ length: 120 }, (_, i): [string, string] => [key(i), `l${i}`]),
  ),
];

/** D1: `existing` keys put and compacted; then a bulk load of `loaded`, tables of half the split threshold. */
function bulkLoadWorkload(name: string, existing: number, loaded: Entries): Workload {
  return {
    name,
    d1: (w) => {
      for (let i = 0; i < existing; i++) w.put(i, `a${i}`);
    },
    d2: (w) => {
      for (const [k, v] of loaded) w.model.set(k, v);
    },
    op: "bulkLoad",
    loaded,
    expect: { compactions: 0, splits: 0 },
  };
}

async function bulkLoad(index: SegmentIndex<string, string>, entries: Entries): Promise<void> {
  const loader = index.bulkLoad();
  for (const [k, v] of entries) loader.add(k, v);
  await loader.commit();
}

/** The file operations faults are injected into, one kind at a time. */
const FAULT_KINDS: FaultOp[] = ["append", "write", "sync", "syncDir", "rename", "remove", "open"];

/** How a promise settled, observed from the start so that a rejection is never unhandled. */
function outcome(promise: Promise<unknown>): Promise<string> {
  return promise.then(() => "resolved", (e) => `rejected: ${e}`);
}

function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Waits, a macrotask at a time, until `done()`; fails instead of hanging if it never is. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (done()) return;
    await tick();
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Lets every promise chain that is ready run (a commit between two syncs is one). */
async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 100; i++) await null;
}

/** Waits until background maintenance has stopped changing the index. */
async function settle(index: SegmentIndex<string, string>): Promise<void> {
  let last = "", quiet = 0;
  for (let i = 0; i < 500 && quiet < 3; i++) {
    await tick();
    const s = counters(index);
    const signature = `${index.state} ${s.busy} ${s.flushes} ${s.compactions} ${s.splits} ${s.commits}`;
    // Settled: no task queued or running (none runs after ERROR), and nothing changed for a few turns.
    const idle = s.busy === 0 || index.state !== "READY";
    quiet = idle && signature === last ? quiet + 1 : 0;
    last = signature;
  }
}

function tableFiles(fs: FaultFileSystem): string[] {
  return fs.inner.list(DIR).filter((n) => /^\d{6,}\.(chunks|sparse|bloom)$/.test(n));
}

interface Outcome {
  resolved: boolean;
  error?: unknown;
  /** Which state the reopened index holds. */
  holds: "D1" | "D2";
  /** File operations of the operation and the background work it started. */
  counts: Record<FaultOp, number>;
  /** Maintenance during the operation. */
  compactions: number;
  splits: number;
}

/** What to do to the file system around the operation. */
interface Plan {
  /** Arms faults right before the operation. */
  arm?: (fs: FaultFileSystem) => void;
  /** Power loss after the index closed. */
  crash: boolean;
  /**
   * The faults stand for a dead process: they stay armed through close(),
   * and the live index is not read after the operation. Otherwise faults
   * are cleared once the operation and the background work it started are
   * over, so the checks and the close run cleanly.
   */
  dead?: boolean;
  /**
   * With the write-ahead log, and D2's writes acknowledged before the
   * operation: whatever fails, the reopened index must hold D2.
   */
  wal?: boolean;
}

/**
 * Builds D1 (durable), applies D2, runs the operation under `plan`, closes,
 * optionally crashes, reopens without faults, and checks everything the
 * contract promises. Returns what happened.
 */
async function scenario(workload: Workload, plan: Plan): Promise<Outcome> {
  const fs = new FaultFileSystem(new MemoryFileSystem());
  // Without the write-ahead log D2 is durable only once the operation commits it; with it, once acknowledged.
  const index = await SegmentIndex.create<string, string>(DIR, { fs, ...SMALL, wal: plan.wal ?? false });
  const w = new Writer(index);
  workload.d1(w);
  await w.acknowledged();
  await index.compact();
  const d1 = w.entries();
  assertEquals([...index.range()], d1, "D1 before the operation");
  workload.d2(w);
  if (plan.wal) await w.acknowledged();
  const d2 = w.entries();
  const before = counters(index);

  fs.resetCounts();
  plan.arm?.(fs);
  let resolved = false, error: unknown;
  try {
    if (workload.op === "flush") await index.flush();
    else if (workload.op === "compact") await index.compact();
    else await bulkLoad(index, workload.loaded!);
    resolved = true;
  } catch (e) {
    error = e;
  }
  // Background work a flush started runs (or fails) under the same faults; compact() waits for it itself.
  if (workload.op === "flush") await settle(index);
  const after = counters(index);
  const counts = fs.counts();
  if (!plan.dead) fs.clearFaults();

  if (resolved) {
    if (index.state !== "READY") {
      assertEquals(index.state, "ERROR", "only background maintenance may fail after flush() resolved");
    } else if (!plan.dead) {
      assertEquals([...index.range()], d2, "contents after the operation resolved");
    }
  } else if (workload.op === "bulkLoad" && index.state === "READY") {
    // A load that failed before installing its segments leaves the index as it was, and usable.
    assertInstanceOf(error, HestiaStoreError, `the load failed with ${error}`);
    if (!plan.dead) assertEquals([...index.range()], d1, "contents after a failed load");
  } else {
    assertInstanceOf(error, HestiaStoreError, `the operation failed with ${error}`);
    assertEquals(index.state, "ERROR", `a failed ${workload.op}() must leave the index in ERROR (${error})`);
  }
  if (index.state === "ERROR") {
    assertThrows(() => index.get(key(1)), StateError);
    assertThrows(() => index.put(key(1), "x"), StateError);
    assertThrows(() => index.delete(key(1)), StateError);
    assertThrows(() => index.range(), StateError);
    assertThrows(() => index.applyConfig({ chunkCacheLimit: 10 }), StateError);
    await assertRejects(() => index.flush(), StateError);
    await assertRejects(() => index.compact(), StateError);
  }

  await index.close().catch((e) => {
    // Only a close that still had work to commit may fail, and only with an I/O error.
    assertInstanceOf(e, HestiaStoreError);
  });
  assertEquals(index.state, "CLOSED");
  if (plan.crash) fs.crash();
  fs.clearFaults();

  // The lock was released (else LockedError), and the durable manifest names only complete tables.
  const reopened = await SegmentIndex.open<string, string>(DIR, { fs, deltaFileLimit: SMALL.deltaFileLimit });
  const contents = [...reopened.range()];
  let holds: "D1" | "D2";
  if (isDeepEqual(contents, d2)) holds = "D2";
  else if (isDeepEqual(contents, d1)) holds = "D1";
  else throw new Error(`reopened index holds neither D1 nor D2: ${summarize(contents, d1, d2)}`);
  if (resolved) assertEquals(holds, "D2", `${workload.op}() resolved, so D2 is durable`);
  // A load is not in the log: with it as without it, all of the load or none.
  if (plan.wal && workload.op !== "bulkLoad") {
    assertEquals(holds, "D2", "the write-ahead log lost acknowledged writes");
  }
  const held = new Map(holds === "D2" ? d2 : d1);
  for (const [k] of [...d1, ...d2]) assertEquals(reopened.get(k), held.get(k), `get(${k})`);
  const report = await reopened.checkAndRepairConsistency();
  assertEquals(report.problems, [], "consistency problems after reopen");
  assertEquals(fs.inner.list(DIR).filter((n) => n.endsWith(".tmp")), [], "temporary files left");
  // Still writable: new tables must not collide with leftovers of the failed attempt.
  reopened.put(key(999_999), "after");
  await reopened.compact();
  assertEquals(reopened.get(key(999_999)), "after");
  assertEquals([...reopened.range()].length, contents.length + 1);
  await reopened.close();
  const tables = tableFiles(fs);
  const again = await SegmentIndex.open<string, string>(DIR, { fs });
  assertEquals(tableFiles(fs), tables, "a clean close left orphan tables");
  assertEquals([...again.range()].length, contents.length + 1);
  await again.close();

  return {
    resolved,
    error,
    holds,
    counts,
    compactions: after.compactions - before.compactions,
    splits: after.splits - before.splits,
  };
}

function isDeepEqual(a: Entries, b: Entries): boolean {
  return a.length === b.length && a.every(([k, v], i) => k === b[i][0] && v === b[i][1]);
}

function summarize(got: Entries, d1: Entries, d2: Entries): string {
  const show = (e: Entries) =>
    `${e.length} entries, first ${JSON.stringify(e[0])}, last ${JSON.stringify(e.at(-1))}`;
  return `got ${show(got)}; D1 ${show(d1)}; D2 ${show(d2)}`;
}

/** Counts of outcomes over a sweep, printed for the record. */
class Tally {
  resolved = 0;
  rejected = 0;
  d1 = 0;
  d2 = 0;
  add(o: Outcome): void {
    if (o.resolved) this.resolved++;
    else this.rejected++;
    if (o.holds === "D1") this.d1++;
    else this.d2++;
  }
  toString(): string {
    return `${this.resolved + this.rejected} runs: ${this.resolved} resolved, ${this.rejected} failed; ` +
      `reopened with D1 ${this.d1}×, D2 ${this.d2}×`;
  }
}

for (const workload of WORKLOADS) {
  describe(`SegmentIndex faults: ${workload.name}`, () => {
    let clean: Outcome | undefined;
    async function cleanRun(): Promise<Outcome> {
      clean ??= await scenario(workload, { crash: false });
      return clean;
    }

    it("completes cleanly, with the expected maintenance, and survives a crash after it", async () => {
      const outcome = await cleanRun();
      assert(outcome.resolved);
      assertEquals(outcome.holds, "D2");
      if (workload.expect.compactions > 0) {
        assert(outcome.compactions >= workload.expect.compactions, `compactions: ${outcome.compactions}`);
      }
      if (workload.expect.splits > 0) {
        assert(outcome.splits >= workload.expect.splits, `splits: ${outcome.splits}`);
      }
      const crashed = await scenario(workload, { crash: true });
      assertEquals(crashed.holds, "D2", "a resolved operation is durable");
      console.log(`${workload.name}: file operations of a clean run: ${JSON.stringify(outcome.counts)}`);
    });

    for (const op of FAULT_KINDS) {
      it(`fails the Nth ${op} for every N, with and without a crash after it`, async () => {
        const total = (await cleanRun()).counts[op];
        const tally = new Tally();
        for (let nth = 1; nth <= total; nth++) {
          for (const crash of [false, true]) {
            const outcome = await scenario(workload, { arm: (fs) => fs.failOn({ op, nth }), crash }).catch(
              (e) => {
                throw new Error(`${op} #${nth} of ${total}${crash ? " + crash" : ""}: ${e.message}`, {
                  cause: e,
                });
              },
            );
            tally.add(outcome);
          }
        }
        console.log(`${workload.name} / failed ${op} (${total} in a clean run): ${tally}`);
        if (total > 0) assertGreater(tally.rejected, 0, `no failed ${op} made the operation fail`);
      });
    }

    it("tears the Nth append for every N (a prefix reaches the file), with and without a crash", async () => {
      const total = (await cleanRun()).counts.append;
      const tally = new Tally();
      for (let nth = 1; nth <= total; nth++) {
        for (const crash of [false, true]) {
          const torn = 1 + (nth * 7) % 13;
          const outcome = await scenario(workload, {
            arm: (fs) => fs.failOn({ op: "append", nth, torn }),
            crash,
          }).catch((e) => {
            throw new Error(`torn append #${nth} (${torn} bytes)${crash ? " + crash" : ""}: ${e.message}`, {
              cause: e,
            });
          });
          tally.add(outcome);
        }
      }
      console.log(`${workload.name} / torn append: ${tally}`);
      assertGreater(tally.rejected, 0);
    });

    it("loses power after every single file operation of the operation", async () => {
      const counts = (await cleanRun()).counts;
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const tally = new Tally();
      // From the Nth operation on nothing reaches the disk (every operation fails), then the power goes.
      for (let nth = 1; nth <= total + 1; nth++) {
        const outcome = await scenario(workload, {
          arm: (fs) => fs.failOn({ nth, times: Infinity }),
          crash: true,
          dead: true,
        })
          .catch((e) => {
            throw new Error(`crash at operation #${nth} of ${total}: ${e.message}`, { cause: e });
          });
        tally.add(outcome);
      }
      console.log(`${workload.name} / crash after each of ${total} file operations: ${tally}`);
      assertGreater(tally.d1, 0);
      assertGreater(tally.d2, 0);
    });

    it("with the write-ahead log: fails or loses power at every file operation, keeping every acknowledged write", async () => {
      const counts = (await scenario(workload, { crash: false, wal: true })).counts;
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const tally = new Tally();
      for (let nth = 1; nth <= total + 1; nth++) {
        // Odd positions: that one operation fails. Even positions: the process dies there and the power goes.
        const dead = nth % 2 === 0;
        const arm = (fs: FaultFileSystem) => dead ? fs.failOn({ nth, times: Infinity }) : fs.failOn({ nth });
        const outcome = await scenario(workload, { arm, crash: dead, dead, wal: true }).catch((e) => {
          throw new Error(`${dead ? "crash at" : "failed"} operation #${nth} of ${total}: ${e.message}`, {
            cause: e,
          });
        });
        tally.add(outcome);
      }
      console.log(
        `${workload.name} / with the log, each of ${total} file operations failed or crashed: ${tally}`,
      );
      assertGreater(tally.rejected, 0);
    });
  });
}

/**
 * Forwards to a crashable file system; between {@linkcode SlowSyncFileSystem.hold}
 * and {@linkcode SlowSyncFileSystem.release} every `sync()` and `syncDir()`
 * waits, so a commit stays in flight while the test acts.
 */
class SlowSyncFileSystem implements FileSystem {
  readonly #inner: MemoryFileSystem;
  #waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #released = true;

  constructor(inner: MemoryFileSystem) {
    this.#inner = inner;
  }

  /** Syncs waiting to complete. */
  get pending(): number {
    return this.#waiting.length;
  }

  /** Makes syncs wait from now on. */
  hold(): void {
    this.#released = false;
  }

  /** Completes the waiting syncs, and every later one at once. */
  release(): void {
    this.#released = true;
    for (const { resolve } of this.#waiting.splice(0)) resolve();
  }

  /** Completes the oldest waiting sync, or the newest: a disk may complete them in any order. */
  step(newest = false): void {
    (newest ? this.#waiting.pop() : this.#waiting.shift())?.resolve();
  }

  /** `syncDir()` calls completed. */
  dirSyncs = 0;

  #hold(done: Promise<void>): Promise<void> {
    if (this.#released) return done;
    return new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject })).then(() => done);
  }

  /** Fails the waiting syncs, as a disk reporting an I/O error would. */
  failWaiting(): void {
    for (const { reject } of this.#waiting.splice(0)) {
      reject(new IoError("sync", DIR, { cause: new Error("injected fault") }));
    }
  }

  /** Power loss: a sync still waiting never completes; it fails instead. */
  crash(): void {
    this.#inner.crash();
    this.#released = true;
    for (const { reject } of this.#waiting.splice(0)) reject(new Error("the power went out during the sync"));
  }

  open(path: string, mode: OpenMode): FileHandle {
    const handle = this.#inner.open(path, mode);
    return {
      path: handle.path,
      size: () => handle.size(),
      read: (position, length) => handle.read(position, length),
      readInto: (position, buffer, length) => handle.readInto(position, buffer, length),
      write: (position, data) => handle.write(position, data),
      append: (data) => handle.append(data),
      truncate: (length) => handle.truncate(length),
      // The bytes are durable only when the sync completes, as on a real disk.
      sync: () => this.#hold(Promise.resolve()).then(() => handle.sync()),
      close: () => handle.close(),
    };
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
    this.#inner.remove(path);
  }
  removeTree(dir: string): void {
    this.#inner.removeTree(dir);
  }
  rename(from: string, to: string): void {
    this.#inner.rename(from, to);
  }
  syncDir(dir: string): Promise<void> {
    return this.#hold(Promise.resolve()).then(() => this.#inner.syncDir(dir)).then(() =>
      void this.dirSyncs++
    );
  }
  lock(path: string): FileLock {
    return this.#inner.lock(path);
  }
}

describe("SegmentIndex crashes without faults", () => {
  /** Simulates the process dying: the old index can touch nothing any more, then the power goes. */
  async function kill(fs: FaultFileSystem, index: SegmentIndex<string, string>): Promise<void> {
    fs.failOn({});
    fs.crash();
    await index.close().catch(() => {});
    fs.clearFaults();
  }

  it("without the log, keeps exactly what the last flush() made durable; later writes are lost", async () => {
    const fs = new FaultFileSystem(new MemoryFileSystem());
    const index = await SegmentIndex.create<string, string>(DIR, { fs, ...SMALL, wal: false });
    const w = new Writer(index);
    for (let i = 0; i < 120; i++) w.put(i, `a${i}`);
    await index.flush();
    await settle(index);
    const durable = w.entries();
    for (let i = 0; i < 120; i += 2) w.put(i, `b${i}`); // 60 writes: inline flushes write (unsynced) tables
    for (let i = 1; i < 120; i += 4) w.delete(i);
    assertGreater(counters(index).inlineFlushes, 0);
    await kill(fs, index);
    const reopened = await SegmentIndex.open<string, string>(DIR, { fs });
    assertEquals([...reopened.range()], durable);
    assertEquals((await reopened.checkAndRepairConsistency()).problems, []);
    await reopened.close();
  });

  it("with the log, keeps every acknowledged write; later ones may survive, in order", async () => {
    const fs = new FaultFileSystem(new MemoryFileSystem());
    const index = await SegmentIndex.create<string, string>(DIR, { fs, ...SMALL });
    const w = new Writer(index);
    for (let i = 0; i < 120; i++) w.put(i, `a${i}`);
    await index.flush();
    for (let i = 0; i < 120; i += 2) w.put(i, `b${i}`); // inline flushes write (unsynced) tables
    for (let i = 1; i < 120; i += 4) w.delete(i);
    await w.acknowledged();
    const acknowledged = w.entries();
    assertGreater(counters(index).inlineFlushes, 0);
    for (let i = 200; i < 230; i++) w.put(i, `c${i}`); // not acknowledged: none, some or all may survive
    const all = w.entries();
    await kill(fs, index);
    const reopened = await SegmentIndex.open<string, string>(DIR, { fs });
    const got = [...reopened.range()];
    const extra = got.filter(([k]) => k >= key(200));
    assertEquals(got.filter(([k]) => k < key(200)), acknowledged);
    assertEquals(
      extra,
      all.filter(([k]) => k >= key(200)).slice(0, extra.length),
      "a prefix of the later writes",
    );
    assertEquals((await reopened.checkAndRepairConsistency()).problems, []);
    await reopened.close();
  });

  for (const wal of [false, true]) {
    it(`keeps everything after flush(), compact() and close() resolve, across repeated crashes (wal: ${wal})`, async () => {
      await repeatedCrashes(wal);
    });
  }

  async function repeatedCrashes(wal: boolean): Promise<void> {
    const fs = new FaultFileSystem(new MemoryFileSystem());
    let index = await SegmentIndex.create<string, string>(DIR, { fs, ...SMALL, wal });
    const model = new Map<string, string>();
    for (let round = 0; round < 6; round++) {
      const w = new Writer(index);
      for (const [k, v] of model) w.model.set(k, v);
      for (let i = 0; i < 90; i++) w.put((i * 37 + round * 11) % 400, `r${round}-${i}`);
      for (let i = 0; i < 20; i++) w.delete((i * 53 + round) % 400);
      if (round % 3 === 0) await index.flush();
      else if (round % 3 === 1) await index.compact();
      else await index.close();
      await w.acknowledged();
      for (const [k, v] of w.model) model.set(k, v);
      for (const k of [...model.keys()]) if (!w.model.has(k)) model.delete(k);
      if (round % 3 !== 2) await kill(fs, index);
      else fs.crash();
      index = await SegmentIndex.open<string, string>(DIR, { fs, deltaFileLimit: SMALL.deltaFileLimit });
      assertEquals(
        [...index.range()],
        [...model.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
        `round ${round}`,
      );
      assertEquals((await index.checkAndRepairConsistency()).problems, []);
    }
    assertGreater(counters(index).segments, 1);
    await index.close();
  }

  it("an iterator closing while a commit is in flight keeps the tables the durable manifest names", async () => {
    const slow = new SlowSyncFileSystem(new MemoryFileSystem());
    const fs = new FaultFileSystem(slow);
    const index = await SegmentIndex.create<string, string>(DIR, { fs, ...SMALL, wal: false });
    const w = new Writer(index);
    for (let i = 0; i < 50; i++) w.put(i, `a${i}`);
    await index.flush();
    const durable = w.entries();
    const manifest = fs.inner.readFile(`${DIR}/MANIFEST`);
    const it = index.range(); // pins the tables of D1
    assertEquals(it.next().value, durable[0]);
    for (let i = 0; i < 50; i += 2) w.put(i, `b${i}`);
    slow.hold();
    const compacting = outcome(index.compact());
    // Wait until the compaction is done and its commit is waiting for a sync.
    await until(() => counters(index).compactions > 0, "the compaction");
    assertEquals(slow.pending > 0, true, "the commit should be waiting for a sync");
    it.close(); // the old tables are obsolete, but the durable manifest still names them
    // The commit goes on until the new tables' directory entries are durable, but not the new manifest.
    const dirSyncs = slow.dirSyncs;
    await until(
      () => slow.dirSyncs > dirSyncs || (slow.step(), false),
      "the directory sync of the new tables",
    );
    assertEquals(fs.inner.readFile(`${DIR}/MANIFEST`), manifest, "the new manifest must not be written yet");
    fs.failOn({}); // the process dies here: nothing it does from now on reaches the disk
    fs.crash();
    slow.release(); // the held syncs now fail: their handles died with the crash
    await compacting; // fails: its process died
    await index.close().catch(() => {});
    fs.clearFaults();
    const reopened = await SegmentIndex.open<string, string>(DIR, { fs });
    assertEquals([...reopened.range()], durable);
    assertEquals((await reopened.checkAndRepairConsistency()).problems, []);
    await reopened.close();
  });

  it("close() while a flush() is committing waits for that commit instead of racing it", async () => {
    const slow = new SlowSyncFileSystem(new MemoryFileSystem());
    const fs = new FaultFileSystem(slow);
    const index = await SegmentIndex.create<string, string>(DIR, { fs, wal: false });
    index.put("a", "1");
    await index.flush();
    index.put("b", "2");
    slow.hold();
    const flushing = outcome(index.flush());
    await until(() => slow.pending > 0, "a sync of the flush"); // the flush's commit waits for its first sync
    index.put("c", "3");
    const closing = outcome(index.close());
    slow.release();
    assertEquals(await flushing, "resolved");
    assertEquals(await closing, "resolved", "close() failed, though nothing went wrong on the disk");
    fs.crash();
    const reopened = await SegmentIndex.open<string, string>(DIR, { fs });
    assertEquals([...reopened.range()], [["a", "1"], ["b", "2"], ["c", "3"]]);
    await reopened.close();
  });

  it("close() fails when background maintenance fails while close() waits for it", async () => {
    const slow = new SlowSyncFileSystem(new MemoryFileSystem());
    const fs = new FaultFileSystem(slow);
    const index = await SegmentIndex.create<string, string>(DIR, { fs, ...SMALL, wal: false });
    const w = new Writer(index);
    for (let i = 0; i < 90; i++) w.put(i, `a${i}`);
    await index.compact();
    const durable = w.entries();
    slow.hold();
    for (let i = 90; i < 180; i++) w.put(i, `b${i}`); // three inline flushes: a background compaction
    await until(() => slow.pending > 0, "a sync of the worker"); // the worker compacted and now commits
    index.put(key(999), "late");
    const closing = index.close(); // waits for the worker before its own flush and commit
    slow.failWaiting(); // the worker's commit fails: the index moves to ERROR
    // close() cannot flush "late" any more, so it must not report success.
    await assertRejects(() => closing, HestiaStoreError);
    assertEquals(index.state, "CLOSED");
    slow.release();
    const reopened = await SegmentIndex.open<string, string>(DIR, { fs });
    assertEquals([...reopened.range()], durable);
    await reopened.close();
  });

  it("close() racing a flush(): syncs completing in any order, then a crash at any point", async () => {
    const outcomes = new Map<string, number>();
    for (let order = 0; order < 32; order++) {
      for (let steps = 0; steps < 14; steps++) {
        const slow = new SlowSyncFileSystem(new MemoryFileSystem());
        const fs = new FaultFileSystem(slow);
        const index = await SegmentIndex.create<string, string>(DIR, { fs, wal: false });
        index.put("a", "1");
        await index.flush();
        index.put("b", "2");
        slow.hold();
        const flushing = index.flush().then(() => true, () => false);
        await until(() => slow.pending > 0, "a sync of the flush");
        index.put("c", "3");
        const closing = index.close().then(() => true, () => false);
        await drainMicrotasks();
        // Bit i of `order` says whether the i-th sync to complete is the newest or the oldest waiting one.
        for (let i = 0; i < steps; i++) {
          slow.step(((order >> (i % 5)) & 1) === 1);
          await drainMicrotasks();
        }
        fs.failOn({});
        fs.crash();
        const flushed = await flushing, closed = await closing;
        fs.clearFaults();
        const label =
          `sync order ${order}, crash after ${steps} syncs (flush ${flushed ? "resolved" : "failed"}, ` +
          `close ${closed ? "resolved" : "failed"})`;
        const reopened = await SegmentIndex.open<string, string>(DIR, { fs }).catch((e) => {
          throw new Error(`${label}: the index cannot be opened: ${e}`, { cause: e });
        });
        const keys = [...reopened.range()].map(([k]) => k).join("");
        await reopened.close();
        assert(["a", "ab", "abc"].includes(keys), `${label}: holds ${keys}`);
        if (flushed) assert(keys.length >= 2, `${label}: flush() resolved but b was lost`);
        if (closed) assertEquals(keys, "abc", `${label}: close() resolved but c was lost`);
        const outcome = `flush ${flushed} close ${closed} -> ${keys}`;
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
    }
    console.log(`close() racing flush(): ${JSON.stringify(Object.fromEntries(outcomes))}`);
  });

  it("checkAndRepairConsistency() leaves the MANIFEST.tmp of a commit in flight alone", async () => {
    const slow = new SlowSyncFileSystem(new MemoryFileSystem());
    const fs = new FaultFileSystem(slow);
    const index = await SegmentIndex.create<string, string>(DIR, { fs, wal: false });
    index.put("a", "1");
    await index.flush();
    index.put("b", "2");
    slow.hold();
    const flushing = outcome(index.flush());
    await until(
      () => fs.inner.stat(`${DIR}/MANIFEST.tmp`) !== undefined || (slow.step(), false),
      "MANIFEST.tmp",
    );
    const checking = index.checkAndRepairConsistency(); // may wait for the commit, or run beside it
    await tick();
    slow.release();
    const report = await checking;
    // Fails with NotFoundError if the check removed the commit's temporary file.
    assertEquals(await flushing, "resolved");
    assertEquals(report.problems, []);
    assertEquals(index.state, "READY");
    assertEquals([...index.range()], [["a", "1"], ["b", "2"]]);
    await index.close();
  });

  it("create() makes the directories it creates durable, so a flushed index survives a crash", async () => {
    for (const wal of [false, true]) {
      const fs = new MemoryFileSystem();
      const index = await SegmentIndex.create<string, string>("/data/indexes/db", { fs, wal });
      await index.put("a", "1");
      await index.flush();
      fs.crash();
      const reopened = await SegmentIndex.open<string, string>("/data/indexes/db", { fs });
      assertEquals([...reopened.range()], [["a", "1"]], `wal: ${wal}`);
      await reopened.close();
    }
  });

  it("a failed flush() moves to ERROR, close() still releases the lock, and reopening needs no crash", async () => {
    const fs = new FaultFileSystem(new MemoryFileSystem());
    const index = await SegmentIndex.create<string, string>(DIR, { fs, ...SMALL, wal: false });
    index.put("a", "1");
    await index.flush();
    index.put("b", "2");
    fs.failOn({ op: "sync", nth: 1 });
    await assertRejects(() => index.flush(), HestiaStoreError);
    assertEquals(index.state, "ERROR");
    const error = assertThrows(() => index.get("a"), StateError);
    assertEquals(error.state, "ERROR");
    // close() of a failed index may report the failure again, but it closes and frees the lock.
    await index.close().catch((e) => assertInstanceOf(e, StateError));
    assertEquals(index.state, "CLOSED");
    fs.clearFaults();
    const reopened = await SegmentIndex.open<string, string>(DIR, { fs });
    assertEquals([...reopened.range()], [["a", "1"]]);
    await reopened.close();
  });
});
