/**
 * HestiaStore against the native engines a TypeScript developer would pick
 * instead — lmdb (lmdb-js), classic-level (LevelDB), @nxtedition/rocksdb
 * (RocksDB) and better-sqlite3 (SQLite) — on the workload of
 * ../shared/reference/performance.md: N keys of 16 bytes (`key-` + 12 digits,
 * even numbers present, odd numbers missing) with 100-byte values; puts in
 * ascending key order, gets in a seeded random order, reads after close
 * and reopen (warm page cache).
 *
 *   npm install --prefix bench/peers            # once (the harness does it when node_modules is missing)
 *   node --import tsx bench/peers/harness.ts --quick
 *   node --import tsx bench/peers/harness.ts     # the full set: 1,000,000 keys, 3 runs, medians
 *   node --import tsx bench/peers/harness.ts --big   # 10,000,000 keys: bulk load, random get, memory
 *   deno run -A bench/render.ts                  # the tables of docs/benchmarks.md
 *
 * Other flags: `--keys N`, `--runs R`, `--seconds S` (measured time per
 * process), `--engines a,b`, `--workloads a,b`, `--cpu-prof engine:workload[,…]`
 * (a V8 CPU profile of that Node child into bench/results/), `--out PATH`.
 *
 * The harness runs under Node 20 (tsx). Every engine × workload × run is a
 * fresh child process: this file again with `--child`, under Node, or for
 * HestiaStore also under Deno 2.9.6 (`npx -y deno@2.9.6`, resolved once).
 * Each child prints one `RESULT {json}` line: operations per second, latency
 * percentiles where one call is one operation, peak resident memory (VmHWM)
 * with RssAnon and RssFile apart (sampled; lmdb maps its file, so its pages
 * count as RssFile), and the bytes on disk afterwards.
 *
 * A run is: per engine, bulk load into a fresh folder (kept), the read
 * workloads on it, each in its own process that opens it afresh, the mixed
 * run on it, then the write workloads on fresh folders; then the folder goes.
 * Runs are interleaved (run 1 of every engine, then run 2 …) so that a busy
 * spell of a shared machine does not land on one engine only.
 *
 * Writes JSON (see {@linkcode PeersResult}) to bench/results/peers-<quick|full|10m>.json
 * and one SVG bar chart per workload to docs/images/peers-<workload>.svg.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import process from "node:process";
import { keyOf, median, RUNTIME, Shuffle, writeResult } from "../_common.ts";
import { type BulkLoader, SegmentIndex, STRING } from "../../engine/mod.ts";
import { DEFAULTS } from "../../engine/options.ts";

// ---------------------------------------------------------------------------------------------------------
// Result types (bench/render.ts renders them)

/** What one child process measured. */
export interface RunMeasure {
  /** Operations per second (entries per second for scans). */
  opsPerSecond: number;
  ops: number;
  seconds: number;
  /** Latency of one call, microseconds, where one call is one operation. */
  p50Us?: number;
  p99Us?: number;
  /** Peak resident set (VmHWM), and the peaks of its anonymous and file-backed parts as sampled. */
  vmHwmBytes: number;
  rssAnonPeakBytes: number;
  rssFilePeakBytes: number;
  /** Bytes allocated on disk by the engine's folder after the process (blocks × 512), and their apparent size. */
  diskBytes: number;
  diskApparentBytes: number;
  /** Seconds the child spent on untimed preparation (open, and for HestiaStore's bulk load the compaction). */
  setupSeconds?: number;
  note?: string;
  loadAverage: number;
  error?: string;
}

/** One engine × workload: every run and the per-field medians. */
export interface PeerCell {
  engine: string;
  workload: string;
  runs: RunMeasure[];
  median?: RunMeasure;
}

export interface EngineInfo {
  id: string;
  label: string;
  /** `hestia`, `peer` or `reference`. */
  kind: "hestia" | "peer" | "reference";
  runtime: string;
  /** The options it runs with, as stated in the table. */
  options: string;
}

export interface WorkloadInfo {
  id: string;
  label: string;
  unit: string;
  /** Whether p99 is the latency of one operation. */
  latency: boolean;
  /** The target ratio of HestiaStore to the best peer, and what it is measured against. */
  target?: {
    ratio: number;
    against: "best peer" | "raw" | "best peer durable single put";
  };
  /** What each engine's API is in this workload. */
  apis: Record<string, string>;
}

export interface PeersResult {
  benchmark: "peers";
  mode: "quick" | "full" | "10m";
  date: string;
  keys: number;
  keyBytes: number;
  valueBytes: number;
  runs: number;
  secondsPerWorkload: number;
  durableOps: number;
  command: string;
  machine: {
    cpu: string;
    cores: number;
    memoryBytes: number;
    kernel: string;
    fileSystem: string;
    loadAverageStart: number[];
    loadAverageEnd: number[];
  };
  versions: Record<string, string>;
  engines: EngineInfo[];
  workloads: WorkloadInfo[];
  cells: PeerCell[];
  totalSeconds: number;
}

// ---------------------------------------------------------------------------------------------------------
// Shared

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const HERE = `${ROOT}bench/peers/`;
const VALUE_BYTES = 100;
/**
 * 1,024 seeded random values of 100 ASCII letters and digits; key number i gets value i mod 1,024. A constant
 * value would let the LSM peers' Snappy compression shrink the data to almost nothing (HestiaStore does not
 * compress): these values are as incompressible to it as printable text gets.
 */
const VALUES: string[] = (() => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let s = 0x9e3779b9;
  const out: string[] = [];
  for (let v = 0; v < 1024; v++) {
    let text = "";
    for (let c = 0; c < VALUE_BYTES; c++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      text += alphabet[(s >>> 0) % alphabet.length];
    }
    out.push(text);
  }
  return out;
})();
const VALUE_BUFFERS: Uint8Array[] = VALUES.map((v) => new TextEncoder().encode(v));
const YIELD_EVERY = 1000;

function argv(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** The last promise of each of the most recent `limit` blocks of writes: waits for the oldest beyond that. */
class InFlight {
  readonly #blocks: (Promise<unknown> | void)[] = [];
  constructor(readonly limit: number) {}
  async add(last: Promise<unknown> | void): Promise<void> {
    this.#blocks.push(last);
    if (this.#blocks.length > this.limit) await this.#blocks.shift();
  }
  async drain(): Promise<void> {
    for (const p of this.#blocks.splice(0)) await p;
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Peaks of the process's memory from /proc/self/status. */
class Memory {
  anon = 0;
  file = 0;
  hwm = 0;
  #calls = 0;
  sample(): void {
    let text: string;
    try {
      text = readFileSync("/proc/self/status", "utf8");
    } catch {
      return;
    }
    const kb = (name: string) => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
      return m ? Number(m[1]) * 1024 : 0;
    };
    this.anon = Math.max(this.anon, kb("RssAnon"));
    this.file = Math.max(this.file, kb("RssFile"));
    this.hwm = Math.max(this.hwm, kb("VmHWM"));
  }
  /** Samples every 64th call (callers call it every 1,000 operations). */
  maybe(): void {
    if ((++this.#calls & 63) === 0) this.sample();
  }
}

/** The entries of a synchronous scan, counted as it iterates. */
function count(entries: Iterable<unknown>): number {
  let n = 0;
  for (const _ of entries) n++;
  return n;
}

function diskUsage(path: string): { allocated: number; apparent: number } {
  let allocated = 0, apparent = 0;
  if (!existsSync(path)) return { allocated, apparent };
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) walk(`${p}/${name}`);
    } else {
      allocated += Number(st.blocks) * 512;
      apparent += st.size;
    }
  };
  walk(path);
  return { allocated, apparent };
}

/** Latencies of sampled calls, in milliseconds. */
class Latencies {
  readonly #samples: Float64Array;
  #n = 0;
  constructor(capacity: number) {
    this.#samples = new Float64Array(capacity);
  }
  add(ms: number): void {
    if (this.#n < this.#samples.length) this.#samples[this.#n++] = ms;
  }
  percentiles(): { p50Us: number; p99Us: number } | undefined {
    if (this.#n === 0) return undefined;
    const s = this.#samples.subarray(0, this.#n).sort();
    const at = (q: number) => s[Math.min(this.#n - 1, Math.floor(q * this.#n))] * 1000;
    return { p50Us: at(0.5), p99Us: at(0.99) };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Engines and workloads

/** What a workload opens an engine for: it picks durability settings. */
type Mode = "load" | "read" | "put" | "durable" | "group";

/** One engine opened for one workload: every call the workloads make. */
interface Db {
  /** Writes keys from..to-1 (numbers; key of i is keyOf(2i)) with the engine's recommended batch API. */
  loadBatch(from: number, to: number, last: boolean): Promise<unknown> | void;
  /** Makes everything loaded durable (inside the timed bulk load). */
  finishLoad(): Promise<unknown> | void;
  /** The batch call only queues its puts (lmdb): the load keeps at most 100,000 of them in flight. */
  loadQueues?: boolean;
  /** Untimed preparation after the load (HestiaStore: compact). */
  afterLoad?(): Promise<void>;
  /** A single put without waiting for the disk; a returned promise resolves once the put applied. */
  put(key: string, i: number): Promise<unknown> | void;
  /** Whether `put` does its work inside the call (so that the call's latency is the operation's). */
  putIsSync: boolean;
  /** A single put that resolves once it is on disk (fsync). */
  durablePut(key: string, i: number): Promise<unknown> | void;
  /** A synchronous get, or undefined when the engine has none. */
  get?(key: string): unknown;
  /** Batched gets (engines without a synchronous get). */
  getMany?(keys: string[]): Promise<unknown[]>;
  /** Entries of a full ordered scan. */
  scanAll(): Promise<number> | number;
  /** Entries of a scan of `limit` keys from `start`. */
  range(start: string, limit: number): Promise<number> | number;
  close(): Promise<void> | void;
}

interface EngineDef extends EngineInfo {
  /** The child runs under Deno. */
  deno?: boolean;
  /** Opens (creating when `fresh`) the engine in `dir`. */
  open?(dir: string, mode: Mode, fresh: boolean, keys: number): Promise<Db>;
}

// deno-lint-ignore no-explicit-any
type Any = any;
const peerRequire = createRequire(`${HERE}package.json`);
function peer(name: string): Any {
  return peerRequire(name);
}
function peerVersion(name: string): string {
  try {
    return JSON.parse(
      readFileSync(`${HERE}node_modules/${name}/package.json`, "utf8"),
    ).version;
  } catch {
    return "not installed";
  }
}

/** HestiaStore's options with its caches limited to 25% of the data set (N × 116 bytes). */
function limitedCaches(
  keys: number,
): { chunkCacheLimit: number; indexBufferedWriteKeyLimit: number } {
  const dataBytes = keys * (16 + 100);
  return {
    chunkCacheLimit: Math.max(
      16,
      Math.floor(0.25 * dataBytes / DEFAULTS.chunkByteTarget),
    ),
    indexBufferedWriteKeyLimit: Math.min(
      DEFAULTS.indexBufferedWriteKeyLimit,
      Math.max(
        Math.ceil(DEFAULTS.segmentWriteCacheKeyLimit * 1.4),
        Math.floor(0.25 * keys),
      ),
    ),
  };
}

function hestia(limited: boolean) {
  return async (
    dir: string,
    mode: Mode,
    fresh: boolean,
    keys: number,
  ): Promise<Db> => {
    const caches = limited ? limitedCaches(keys) : {};
    const index = fresh
      ? await SegmentIndex.create<string, string>(dir, {
        keyType: STRING,
        valueType: STRING,
        durability: mode === "durable" ? "sync" : "group",
        ...caches,
      })
      : await SegmentIndex.open<string, string>(dir, caches);
    let loader: BulkLoader<string, string> | undefined;
    return {
      loadBatch(from, to) {
        loader ??= index.bulkLoad();
        for (let i = from; i < to; i++) {
          loader.add(keyOf(2 * i), VALUES[i & 1023]);
        }
        return Promise.resolve();
      },
      finishLoad: () => loader!.commit(),
      afterLoad: () => index.compact(),
      put(key, i) {
        index.put(key, VALUES[i & 1023]);
      },
      putIsSync: true,
      durablePut: (key, i) => index.put(key, VALUES[i & 1023]),
      get: (key) => index.get(key),
      scanAll: () => count(index.range()),
      range: (start, limit) => count(index.range({ gte: start, limit })),
      close: () => index.close(),
    };
  };
}

function lmdbOpen(dir: string, fresh: boolean): Promise<Db> {
  if (fresh) mkdirSync(dir, { recursive: true });
  const db = peer("lmdb").open({ path: `${dir}/data.mdb`, encoding: "binary" });
  let last: Promise<unknown> | undefined;
  return Promise.resolve({
    loadBatch(from, to) {
      // Auto-batched asynchronous puts (one transaction per event turn); at most 100,000 in flight.
      for (let i = from; i < to; i++) {
        last = db.put(keyOf(2 * i), VALUE_BUFFERS[i & 1023]);
      }
      return last;
    },
    loadQueues: true,
    finishLoad: () => db.flushed,
    put(key, i) {
      return db.put(key, VALUE_BUFFERS[i & 1023]);
    },
    putIsSync: false,
    async durablePut(key, i) {
      await db.put(key, VALUE_BUFFERS[i & 1023]);
      await db.flushed;
    },
    get: (key) => db.getBinaryFast(key),
    scanAll: () => count(db.getRange()),
    range: (start, limit) => count(db.getRange({ start, limit })),
    async close() {
      await db.close();
    },
  });
}

async function levelOpen(
  ctor: Any,
  dir: string,
  hasGetSync: boolean,
): Promise<Db> {
  const db = new ctor(dir, { keyEncoding: "utf8", valueEncoding: "utf8" });
  await db.open();
  const rangeOf = async (options: Record<string, unknown>) => {
    const it = db.iterator(options);
    let n = 0;
    for (;;) {
      const rows = await it.nextv(1000);
      if (rows.length === 0) break;
      n += rows.length;
    }
    await it.close();
    return n;
  };
  return {
    async loadBatch(from, to, last) {
      // A chained batch of 10,000 (db.batch(array) is up to 5× slower on classic-level); the last one synced.
      const batch = db.batch();
      for (let i = from; i < to; i++) batch.put(keyOf(2 * i), VALUES[i & 1023]);
      await batch.write(last ? { sync: true } : {});
    },
    finishLoad() {},
    put: (key, i) => db.put(key, VALUES[i & 1023]),
    putIsSync: false,
    // @nxtedition/rocksdb ignores `sync` on put(); a one-op batch honours it (and classic-level alike).
    durablePut: (key, i) => db.batch([{ type: "put", key, value: VALUES[i & 1023] }], { sync: true }),
    get: hasGetSync ? (key) => db.getSync(key) : undefined,
    getMany: (keys) => db.getMany(keys),
    scanAll: () => rangeOf({}),
    range: (start, limit) => rangeOf({ gte: start, limit }),
    close: () => db.close(),
  };
}

function sqliteOpen(dir: string, mode: Mode, fresh: boolean): Promise<Db> {
  if (fresh) mkdirSync(dir, { recursive: true });
  const Database = peer("better-sqlite3");
  const db = new Database(`${dir}/kv.sqlite`);
  db.pragma("journal_mode = WAL");
  db.pragma(
    `synchronous = ${mode === "durable" || mode === "group" ? "FULL" : "NORMAL"}`,
  );
  db.exec(
    "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID",
  );
  const insert = db.prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)");
  const select = db.prepare("SELECT v FROM kv WHERE k = ?").pluck();
  const all = db.prepare("SELECT k, v FROM kv ORDER BY k").raw();
  const from = db.prepare("SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT ?")
    .raw();
  const load = db.transaction((a: number, b: number) => {
    for (let i = a; i < b; i++) insert.run(keyOf(2 * i), VALUES[i & 1023]);
  });
  return Promise.resolve({
    loadBatch(a, b) {
      load(a, b); // one transaction per 10,000
    },
    finishLoad() {
      db.pragma("wal_checkpoint(TRUNCATE)");
    },
    put(key, i) {
      insert.run(key, VALUES[i & 1023]);
    },
    putIsSync: true,
    durablePut(key, i) {
      insert.run(key, VALUES[i & 1023]);
    },
    get: (key) => select.get(key),
    scanAll: () => count(all.iterate()),
    range: (start, limit) => from.all(start, limit).length,
    close() {
      db.close();
    },
  });
}

function engines(keys: number): EngineDef[] {
  const limited = limitedCaches(keys);
  const hestiaDefault =
    `default caches (chunkCacheLimit ${DEFAULTS.chunkCacheLimit} ≈ ${
      Math.round(DEFAULTS.chunkCacheLimit * DEFAULTS.chunkByteTarget / 2 ** 20)
    } MiB, indexBufferedWriteKeyLimit ${DEFAULTS.indexBufferedWriteKeyLimit}, segmentCacheLimit ${DEFAULTS.segmentCacheLimit}); ` +
    `log on, durability group (sync for the durable single put), metrics on`;
  const hestiaLimited =
    `caches at 25% of the data set (chunkCacheLimit ${limited.chunkCacheLimit} ≈ ${
      (limited.chunkCacheLimit * DEFAULTS.chunkByteTarget / 2 ** 20).toFixed(1)
    } MiB, indexBufferedWriteKeyLimit ${limited.indexBufferedWriteKeyLimit}, other options default); ` +
    `log on, durability group (sync for the durable single put), metrics on`;
  return [
    {
      id: "hestia-node",
      label: "HestiaStore (Node)",
      kind: "hestia",
      runtime: "node",
      options: hestiaDefault,
      open: hestia(false),
    },
    {
      id: "hestia-deno",
      label: "HestiaStore (Deno)",
      kind: "hestia",
      runtime: "deno",
      deno: true,
      options: hestiaDefault,
      open: hestia(false),
    },
    {
      id: "hestia-node-25",
      label: "HestiaStore 25% caches (Node)",
      kind: "hestia",
      runtime: "node",
      options: hestiaLimited,
      open: hestia(true),
    },
    {
      id: "hestia-deno-25",
      label: "HestiaStore 25% caches (Deno)",
      kind: "hestia",
      runtime: "deno",
      deno: true,
      options: hestiaLimited,
      open: hestia(true),
    },
    {
      id: "lmdb",
      label: "lmdb",
      kind: "peer",
      runtime: "node",
      options: "defaults (overlappingSync on, no compression, no cache); values as binary",
      open: (dir, _mode, fresh) => lmdbOpen(dir, fresh),
    },
    {
      id: "classic-level",
      label: "classic-level",
      kind: "peer",
      runtime: "node",
      options: "defaults (8 MiB block cache, 4 MiB write buffer, Snappy); utf8 keys and values",
      open: (dir) => levelOpen(peer("classic-level").ClassicLevel, dir, true),
    },
    {
      id: "rocksdb",
      label: "rocksdb",
      kind: "peer",
      runtime: "node",
      options: "@nxtedition/rocksdb defaults; utf8 keys and values; no synchronous get: getMany of 1,000",
      open: (dir) => levelOpen(peer("@nxtedition/rocksdb").RocksLevel, dir, false),
    },
    {
      id: "better-sqlite3",
      label: "better-sqlite3",
      kind: "peer",
      runtime: "node",
      options:
        "WAL mode, synchronous NORMAL (FULL for durable puts); table (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID",
      open: (dir, mode, fresh) => sqliteOpen(dir, mode, fresh),
    },
    {
      id: "raw",
      label: "raw write + fdatasync",
      kind: "reference",
      runtime: "node",
      options: "writeSync of a 134-byte record + fdatasyncSync, the physical floor of an fsync per write",
    },
  ];
}

const HESTIA_API = "HestiaStore";
/** The calls of the concurrent durable writers (group8, group64). */
const GROUP_APIS: Record<string, string> = {
  [HESTIA_API]: "await put(), durability group",
  lmdb: "await put(); await db.flushed",
  "classic-level": "await batch([put], {sync: true})",
  rocksdb: "await batch([put], {sync: true})",
  "better-sqlite3": "autocommit INSERT, synchronous FULL (synchronous API: the writers take turns)",
};
/** The calls of the random gets, of existing and of missing keys. */
const GET_APIS: Record<string, string> = {
  [HESTIA_API]: "get()",
  lmdb: "getBinaryFast()",
  "classic-level": "getSync()",
  rocksdb: "await getMany() of 1,000 (no synchronous get)",
  "better-sqlite3": "prepared SELECT, pluck().get()",
};

function workloads(): WorkloadInfo[] {
  return [
    {
      id: "bulk",
      label: "bulk load, recommended batch API, durable at end",
      unit: "puts/s",
      latency: false,
      target: { ratio: 1.0, against: "best peer" },
      apis: {
        [HESTIA_API]: "bulkLoad(): add() in key order, commit() at end (then an untimed compact())",
        lmdb: "auto-batched async put(), await db.flushed at end",
        "classic-level": "chained batch of 10,000, last write({sync: true})",
        rocksdb: "chained batch of 10,000, last write({sync: true})",
        "better-sqlite3": "transaction per 10,000, wal_checkpoint(TRUNCATE) at end",
      },
    },
    {
      id: "put",
      label: "single put, no fsync wait",
      unit: "puts/s",
      latency: true,
      target: { ratio: 3.0, against: "best peer" },
      apis: {
        [HESTIA_API]: "put() (applies at once; its group-commit promise is not awaited)",
        lmdb: "put() not awaited (auto-batched); timed until all committed",
        "classic-level": "put() not awaited; timed until all resolved",
        rocksdb: "put() not awaited; timed until all resolved",
        "better-sqlite3": "autocommit INSERT, synchronous NORMAL",
      },
    },
    {
      id: "durable",
      label: "durable single put (fsync per write)",
      unit: "puts/s",
      latency: true,
      target: { ratio: 0.8, against: "raw" },
      apis: {
        [HESTIA_API]: "await put(), durability sync",
        lmdb: "await put(); await db.flushed",
        "classic-level": "await batch([put], {sync: true})",
        rocksdb: "await batch([put], {sync: true})",
        "better-sqlite3": "autocommit INSERT, synchronous FULL",
        raw: "writeSync + fdatasyncSync",
      },
    },
    {
      id: "group8",
      label: "durable puts, 8 concurrent writers",
      unit: "puts/s",
      latency: true,
      target: { ratio: 1.0, against: "best peer" },
      apis: GROUP_APIS,
    },
    {
      id: "group64",
      label: "durable puts, 64 concurrent writers",
      unit: "puts/s",
      latency: true,
      target: { ratio: 10.0, against: "best peer durable single put" },
      apis: GROUP_APIS,
    },
    {
      id: "get",
      label: "random get, existing key",
      unit: "gets/s",
      latency: true,
      target: { ratio: 1.0, against: "best peer" },
      apis: GET_APIS,
    },
    {
      id: "miss",
      label: "random get, missing key",
      unit: "gets/s",
      latency: true,
      target: { ratio: 1.5, against: "best peer" },
      apis: GET_APIS,
    },
    {
      id: "scan",
      label: "full ordered scan",
      unit: "entries/s",
      latency: false,
      target: { ratio: 2.0, against: "best peer" },
      apis: {
        [HESTIA_API]: "for…of range()",
        lmdb: "for…of getRange()",
        "classic-level": "iterator().nextv(1000)",
        rocksdb: "iterator().nextv(1000)",
        "better-sqlite3": "SELECT … ORDER BY k, raw().iterate()",
      },
    },
    {
      id: "range",
      label: "range scan of 1,000 keys from a random start",
      unit: "entries/s",
      latency: true,
      target: { ratio: 1.0, against: "best peer" },
      apis: {
        [HESTIA_API]: "for…of range({gte, limit: 1000})",
        lmdb: "for…of getRange({start, limit: 1000})",
        "classic-level": "iterator({gte, limit: 1000}).nextv(1000)",
        rocksdb: "iterator({gte, limit: 1000}).nextv(1000)",
        "better-sqlite3": "SELECT … WHERE k >= ? ORDER BY k LIMIT 1000, raw().all()",
      },
    },
    {
      id: "mixed",
      label: "mixed 90% get / 10% put (no fsync wait)",
      unit: "ops/s",
      latency: false,
      target: { ratio: 1.0, against: "best peer" },
      apis: {
        [HESTIA_API]: "get() and put() as above",
        lmdb: "getBinaryFast() and put() not awaited",
        "classic-level": "getSync() and put() not awaited",
        rocksdb: "getMany() of each 100 operations' gets, put() not awaited",
        "better-sqlite3": "SELECT and autocommit INSERT",
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------
// The child: one engine × one workload

interface ChildArgs {
  engine: string;
  workload: string;
  dir: string;
  keys: number;
  seconds: number;
  durableOps: number;
}

async function child(a: ChildArgs): Promise<RunMeasure> {
  const mem = new Memory();
  mem.sample();
  const def = engines(a.keys).find((e) => e.id === a.engine);
  if (!def) throw new Error(`unknown engine ${a.engine}`);
  const N = a.keys;
  const deadline = () => performance.now() + a.seconds * 1000;
  let ops = 0,
    seconds = 0,
    setupSeconds: number | undefined,
    note: string | undefined;
  let lat: Latencies | undefined;

  if (a.engine === "raw") {
    if (a.workload !== "durable") {
      throw new Error("the raw reference runs the durable workload only");
    }
    mkdirSync(a.dir, { recursive: true });
    const fd = openSync(`${a.dir}/raw.log`, "w");
    const record = new Uint8Array(8 + 8 + 1 + 1 + 1 + 16 + 1 + 100);
    lat = new Latencies(a.durableOps);
    const started = performance.now();
    for (; ops < a.durableOps; ops++) {
      const t0 = performance.now();
      writeSync(fd, record);
      fdatasyncSync(fd);
      lat.add(performance.now() - t0);
    }
    seconds = (performance.now() - started) / 1000;
    closeSync(fd);
  } else {
    const open = def.open!;
    const w = a.workload;
    const mode: Mode = w === "bulk"
      ? "load"
      : w === "durable"
      ? "durable"
      : w === "group8" || w === "group64"
      ? "group"
      : w === "put"
      ? "put"
      : "read";
    const fresh = w === "bulk" || w === "put" || w === "durable" ||
      w === "group8" || w === "group64";
    const t0 = performance.now();
    const db = await open(a.dir, mode, fresh, N);
    const order = new Shuffle(N, 42);
    setupSeconds = (performance.now() - t0) / 1000;
    mem.sample();

    if (w === "bulk") {
      const BATCH = 10_000;
      const started = performance.now();
      const inFlight = new InFlight(10);
      for (let i = 0; i < N; i += BATCH) {
        const p = db.loadBatch(i, Math.min(N, i + BATCH), i + BATCH >= N);
        // An engine whose batch call only queues (lmdb) keeps at most 100,000 puts in flight; the others are awaited.
        if (db.loadQueues) await inFlight.add(p);
        else await p;
        if ((i / BATCH) % 8 === 0) mem.sample();
      }
      await inFlight.drain();
      await db.finishLoad();
      seconds = (performance.now() - started) / 1000;
      ops = N;
      if (db.afterLoad) {
        const c0 = performance.now();
        await db.afterLoad();
        setupSeconds += (performance.now() - c0) / 1000;
        note = `compact() after the load took ${((performance.now() - c0) / 1000).toFixed(1)} s (untimed)`;
      }
    } else if (w === "put") {
      // Fresh store, ascending keys, no wait for the disk; yield to the event loop every 1,000 puts.
      lat = db.putIsSync ? new Latencies(N) : undefined;
      const end = deadline();
      const started = performance.now();
      const inFlight = new InFlight(10);
      let last: Promise<unknown> | void = undefined;
      while (ops < N) {
        const stop = Math.min(N, ops + YIELD_EVERY);
        for (; ops < stop; ops++) {
          if (lat && (ops & 7) === 0) {
            const t = performance.now();
            last = db.put(keyOf(2 * ops), ops);
            lat.add(performance.now() - t);
          } else last = db.put(keyOf(2 * ops), ops);
        }
        // At most 10,000 puts of an asynchronous engine in flight.
        await inFlight.add(last);
        mem.maybe();
        await tick();
        if (performance.now() >= end) break;
      }
      await inFlight.drain();
      seconds = (performance.now() - started) / 1000;
    } else if (w === "durable" || w === "group8" || w === "group64") {
      const writers = w === "durable" ? 1 : w === "group8" ? 8 : 64;
      lat = new Latencies(1_000_000);
      const end = deadline();
      let next = 0;
      const writer = async () => {
        while (
          w === "durable" ? next < a.durableOps : performance.now() < end
        ) {
          const i = next++;
          const t = performance.now();
          await db.durablePut(keyOf(2 * i), i);
          lat!.add(performance.now() - t);
          ops++;
          if ((ops & 1023) === 0) mem.sample();
        }
      };
      const started = performance.now();
      await Promise.all(Array.from({ length: writers }, writer));
      seconds = (performance.now() - started) / 1000;
    } else if (w === "get" || w === "miss") {
      const miss = w === "miss" ? 1 : 0;
      const end = deadline();
      const started = performance.now();
      if (db.get) {
        const get = db.get;
        lat = new Latencies(N);
        let wrong = 0;
        while (ops < N) {
          const stop = Math.min(N, ops + YIELD_EVERY);
          for (; ops < stop; ops++) {
            const key = keyOf(2 * order.at(ops) + miss);
            let v;
            if ((ops & 7) === 0) {
              const t = performance.now();
              v = get(key);
              lat.add(performance.now() - t);
            } else v = get(key);
            if ((v === undefined) !== (miss === 1)) wrong++;
          }
          mem.maybe();
          await tick();
          if (performance.now() >= end) break;
        }
        if (wrong > 0) {
          throw new Error(`${wrong} gets returned the wrong presence`);
        }
      } else {
        note = "getMany() of 1,000 keys per call; no per-get latency";
        while (ops < N) {
          const keys = [];
          const stop = Math.min(N, ops + 1000);
          for (let i = ops; i < stop; i++) {
            keys.push(keyOf(2 * order.at(i) + miss));
          }
          const values = await db.getMany!(keys);
          for (const v of values) {
            if ((v === undefined) !== (miss === 1)) {
              throw new Error("wrong presence");
            }
          }
          ops = stop;
          mem.maybe();
          if (performance.now() >= end) break;
        }
      }
      seconds = (performance.now() - started) / 1000;
    } else if (w === "scan") {
      const started = performance.now();
      ops = await db.scanAll();
      seconds = (performance.now() - started) / 1000;
      if (ops !== N) {
        throw new Error(`the scan returned ${ops} of ${N} entries`);
      }
    } else if (w === "range") {
      lat = new Latencies(1_000_000);
      const end = deadline();
      const started = performance.now();
      const span = Math.max(1, N - 1000);
      for (let i = 0; performance.now() < end && i < N; i++) {
        const t = performance.now();
        const n = await db.range(keyOf(2 * (order.at(i) % span)), 1000);
        lat.add(performance.now() - t);
        if (n !== Math.min(1000, N)) {
          throw new Error(`a range scan returned ${n} entries`);
        }
        ops += n;
        if ((i & 63) === 0) mem.sample();
      }
      seconds = (performance.now() - started) / 1000;
    } else if (w === "mixed") {
      // 90% gets of existing keys, 10% overwriting puts without waiting for the disk, in a seeded order.
      let s = 7;
      const end = deadline();
      const started = performance.now();
      const inFlight = new InFlight(10);
      let last: Promise<unknown> | void = undefined;
      while (ops < N) {
        const stop = Math.min(N, ops + YIELD_EVERY);
        if (db.get) {
          const get = db.get;
          for (; ops < stop; ops++) {
            s ^= s << 13;
            s ^= s >>> 17;
            s ^= s << 5;
            const key = keyOf(2 * order.at(ops));
            if ((s >>> 0) % 10 === 0) last = db.put(key, order.at(ops) + 1);
            else if (get(key) === undefined) throw new Error("missing key");
          }
        } else {
          for (; ops < stop; ops += 100) {
            const keys = [];
            for (let i = ops; i < Math.min(stop, ops + 100); i++) {
              s ^= s << 13;
              s ^= s >>> 17;
              s ^= s << 5;
              const key = keyOf(2 * order.at(i));
              if ((s >>> 0) % 10 === 0) last = db.put(key, order.at(i) + 1);
              else keys.push(key);
            }
            for (const v of await db.getMany!(keys)) {
              if (v === undefined) throw new Error("missing key");
            }
          }
          ops = stop;
          note = "gets as getMany() of each 100 operations' gets";
        }
        await inFlight.add(last);
        last = undefined;
        mem.maybe();
        await tick();
        if (performance.now() >= end) break;
      }
      await inFlight.drain();
      seconds = (performance.now() - started) / 1000;
    } else {
      throw new Error(`unknown workload ${w}`);
    }
    mem.sample();
    await db.close();
  }
  mem.sample();
  const disk = diskUsage(a.dir);
  return {
    opsPerSecond: ops / seconds,
    ops,
    seconds,
    ...(lat?.percentiles() ?? {}),
    vmHwmBytes: mem.hwm,
    rssAnonPeakBytes: mem.anon,
    rssFilePeakBytes: mem.file,
    diskBytes: disk.allocated,
    diskApparentBytes: disk.apparent,
    setupSeconds,
    note,
    loadAverage: Number(loadavg()[0].toFixed(2)),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The parent

function medianOf(runs: RunMeasure[]): RunMeasure | undefined {
  const ok = runs.filter((r) => !r.error);
  if (ok.length === 0) return undefined;
  const pick = (f: (r: RunMeasure) => number | undefined) => {
    const v = ok.map(f).filter((x): x is number => x !== undefined);
    return v.length ? median(v) : undefined;
  };
  return {
    opsPerSecond: pick((r) => r.opsPerSecond)!,
    ops: pick((r) => r.ops)!,
    seconds: pick((r) => r.seconds)!,
    p50Us: pick((r) => r.p50Us),
    p99Us: pick((r) => r.p99Us),
    vmHwmBytes: pick((r) => r.vmHwmBytes)!,
    rssAnonPeakBytes: pick((r) => r.rssAnonPeakBytes)!,
    rssFilePeakBytes: pick((r) => r.rssFilePeakBytes)!,
    diskBytes: pick((r) => r.diskBytes)!,
    diskApparentBytes: pick((r) => r.diskApparentBytes)!,
    setupSeconds: pick((r) => r.setupSeconds),
    note: ok.find((r) => r.note)?.note,
    loadAverage: pick((r) => r.loadAverage)!,
  };
}

function sh(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: "utf8", timeout: 120_000 });
  return (r.stdout ?? "").trim();
}

function parent(): void {
  const quick = flag("quick"), big = flag("big");
  const mode: PeersResult["mode"] = big ? "10m" : quick ? "quick" : "full";
  const keys = Number(
    argv("keys") ?? (big ? 10_000_000 : quick ? 200_000 : 1_000_000),
  );
  const runs = Number(argv("runs") ?? (quick || big ? 1 : 3));
  const seconds = Number(argv("seconds") ?? (quick ? 3 : 6));
  const durableOps = Number(argv("durable-ops") ?? (quick ? 2_000 : 10_000));
  const out = argv("out") ?? `${ROOT}bench/results/peers-${mode}.json`;
  const profile = argv("cpu-prof");
  const allEngines = engines(keys);
  const allWorkloads = workloads();
  const engineIds = argv("engines")?.split(",") ??
    (big
      ? [
        "hestia-node",
        "hestia-node-25",
        "lmdb",
        "classic-level",
        "rocksdb",
        "better-sqlite3",
      ]
      : allEngines.map((e) => e.id));
  const workloadIds = argv("workloads")?.split(",") ??
    (big ? ["bulk", "get"] : allWorkloads.map((w) => w.id));
  // Read workloads need a loaded store: bulk always runs first.
  const needsLoad = workloadIds.some((w) => ["get", "miss", "scan", "range", "mixed"].includes(w));
  if (needsLoad && !workloadIds.includes("bulk")) workloadIds.unshift("bulk");
  const order = [
    "bulk",
    "get",
    "miss",
    "scan",
    "range",
    "mixed",
    "put",
    "durable",
    "group8",
    "group64",
  ];
  workloadIds.sort((x, y) => order.indexOf(x) - order.indexOf(y));

  if (!existsSync(`${HERE}node_modules/lmdb`)) {
    // The peers are native addons: installed on demand here, never by the root install or CI.
    console.log("Installing the peers: npm install --prefix bench/peers");
    // better-sqlite3 compiles when no prebuilt binary can be fetched (GitHub may be out of reach); node-gyp
    // then wants Node's headers, which it downloads unless pointed at the ones installed with this Node.
    const prefix = dirname(dirname(process.execPath));
    const env = { ...process.env };
    if (
      !env.npm_config_nodedir && existsSync(`${prefix}/include/node/node_api.h`)
    ) env.npm_config_nodedir = prefix;
    const npm = spawnSync("npm", [
      "install",
      "--prefix",
      HERE,
      "--no-audit",
      "--no-fund",
    ], {
      stdio: "inherit",
      env,
    });
    if (npm.status !== 0) {
      throw new Error("npm install --prefix bench/peers failed");
    }
  }
  let deno = "";
  if (engineIds.some((id) => allEngines.find((e) => e.id === id)?.deno)) {
    deno = sh("npx", [
      "-y",
      "deno@2.9.6",
      "eval",
      "console.log(Deno.execPath())",
    ]);
    if (!deno) throw new Error("could not resolve Deno 2.9.6 through npx");
  }
  const versions: Record<string, string> = {
    node: process.versions.node,
    deno: deno
      ? sh(deno, ["--version"]).split("\n")[0].replace(/^deno /, "").split(
        " ",
      )[0]
      : "not run",
    lmdb: peerVersion("lmdb"),
    "classic-level": `${peerVersion("classic-level")} (LevelDB 1.20)`,
    "@nxtedition/rocksdb": `${peerVersion("@nxtedition/rocksdb")} (RocksDB ${rocksdbVersion()})`,
    "better-sqlite3": `${peerVersion("better-sqlite3")} (SQLite ${sqliteVersion()})`,
  };
  const cpu = cpus();
  const machine: PeersResult["machine"] = {
    cpu: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    memoryBytes: totalmem(),
    kernel: release(),
    fileSystem: sh("stat", ["-f", "-c", "%T", tmpdir()]) || "unknown",
    loadAverageStart: loadavg().map((x) => Number(x.toFixed(2))),
    loadAverageEnd: [],
  };
  const root = mkdtempSync(`${tmpdir()}/hestia-peers-`);
  const cells = new Map<string, PeerCell>();
  const started = performance.now();
  const childTimeout = (big ? 1800 : 300) * 1000;
  console.log(
    `peers: ${mode}, ${keys.toLocaleString("en-US")} keys, ${runs} run(s), ≤${seconds} s per workload, ` +
      `engines ${engineIds.join(", ")}; workloads ${workloadIds.join(", ")}; folder ${root}`,
  );
  try {
    for (let run = 1; run <= runs; run++) {
      for (const engineId of engineIds) {
        const def = allEngines.find((e) => e.id === engineId);
        if (!def) throw new Error(`unknown engine ${engineId}`);
        const loaded = `${root}/${engineId}-loaded`;
        for (const workload of workloadIds) {
          if (engineId === "raw" && workload !== "durable") continue;
          const fresh = !["get", "miss", "scan", "range", "mixed"].includes(
            workload,
          );
          const dir = workload === "bulk" ? loaded : fresh ? `${root}/${engineId}-${workload}` : loaded;
          if (workload === "bulk") {
            rmSync(loaded, { recursive: true, force: true });
          }
          const args = [
            "--child",
            "--engine",
            engineId,
            "--workload",
            workload,
            "--dir",
            dir,
            "--keys",
            String(keys),
            "--seconds",
            String(seconds),
            "--durable-ops",
            String(durableOps),
          ];
          const script = `${HERE}harness.ts`;
          // Node writes one profile per thread (tsx adds a loader thread): keep the main thread's.
          const profDir = `${root}/profile-${engineId}-${workload}`;
          const prof = profile?.split(",").includes(`${engineId}:${workload}`) && !def.deno
            ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`]
            : [];
          const [cmd, cmdArgs] = def.deno
            ? [deno, ["run", "-A", script, ...args]]
            : [process.execPath, [...prof, "--import", "tsx", script, ...args]];
          const t0 = performance.now();
          const r = spawnSync(cmd, cmdArgs, {
            cwd: ROOT,
            encoding: "utf8",
            timeout: childTimeout,
            maxBuffer: 64 * 2 ** 20,
          });
          if (prof.length > 0 && existsSync(profDir)) {
            const main = readdirSync(profDir).map((f) => `${profDir}/${f}`)
              .find((f) => readFileSync(f, "utf8").includes("bench/peers/harness.ts"));
            if (main) {
              const target = `${ROOT}bench/results/peers-${engineId}-${workload}.cpuprofile`;
              writeFileSync(target, readFileSync(main));
              console.log(`CPU profile: ${target}`);
            }
          }
          const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith("RESULT "));
          let m: RunMeasure;
          if (r.status === 0 && line) m = JSON.parse(line.slice(7));
          else {
            const why = r.error
              ? String(r.error)
              : `exit ${r.status ?? r.signal}: ${(r.stderr ?? "").trim().split("\n").slice(-3).join(" ")}`;
            m = {
              opsPerSecond: 0,
              ops: 0,
              seconds: 0,
              vmHwmBytes: 0,
              rssAnonPeakBytes: 0,
              rssFilePeakBytes: 0,
              diskBytes: 0,
              diskApparentBytes: 0,
              loadAverage: loadavg()[0],
              error: why.slice(0, 500),
            };
          }
          if (fresh && workload !== "bulk") {
            rmSync(dir, { recursive: true, force: true });
          }
          const key = `${engineId} ${workload}`;
          const cell = cells.get(key) ??
            { engine: engineId, workload, runs: [] };
          cell.runs.push(m);
          cells.set(key, cell);
          console.log(
            `run ${run} ${engineId.padEnd(15)} ${workload.padEnd(8)} ${
              m.error ? `FAILED ${m.error}` : `${
                Math.round(m.opsPerSecond).toLocaleString("en-US").padStart(
                  11,
                )
              } /s` +
                (m.p99Us === undefined ? "" : `  p99 ${m.p99Us.toFixed(1)} µs`) +
                `  HWM ${(m.vmHwmBytes / 2 ** 20).toFixed(0)} MiB  disk ${
                  (m.diskBytes / 2 ** 20).toFixed(0)
                } MiB`
            }  (${((performance.now() - t0) / 1000).toFixed(1)} s, load ${m.loadAverage})`,
          );
        }
        rmSync(loaded, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  for (const c of cells.values()) c.median = medianOf(c.runs);
  machine.loadAverageEnd = loadavg().map((x) => Number(x.toFixed(2)));
  const usedEngines = allEngines.filter((e) => engineIds.includes(e.id))
    .map(({ id, label, kind, runtime, options }) => ({
      id,
      label,
      kind,
      runtime,
      options,
    }));
  const result: PeersResult = {
    benchmark: "peers",
    mode,
    date: new Date().toISOString(),
    keys,
    keyBytes: 16,
    valueBytes: VALUE_BYTES,
    runs,
    secondsPerWorkload: seconds,
    durableOps,
    command: reproduce(mode),
    machine,
    versions,
    engines: usedEngines,
    workloads: allWorkloads.filter((w) => workloadIds.includes(w.id)),
    cells: [...cells.values()],
    totalSeconds: Math.round((performance.now() - started) / 1000),
  };
  writeResult(out, result);
  // Charts go with the results of record only (the default output path), not with ad-hoc runs.
  if (argv("out") === undefined) writeCharts(result, `${ROOT}docs/images`);
  console.log(
    `Took ${result.totalSeconds} s. Render the tables: deno run -A bench/render.ts`,
  );
}

function reproduce(mode: PeersResult["mode"]): string {
  const flags = mode === "quick" ? " --quick" : mode === "10m" ? " --big" : "";
  return `npm install --prefix bench/peers && node --import tsx bench/peers/harness.ts${flags} && ` +
    `npx -y deno@2.9.6 run -A bench/render.ts`;
}

function rocksdbVersion(): string {
  try {
    const h = readFileSync(
      `${HERE}node_modules/@nxtedition/rocksdb/deps/rocksdb/rocksdb/include/rocksdb/version.h`,
      "utf8",
    );
    const v = (n: string) => new RegExp(`#define ROCKSDB_${n} (\\d+)`).exec(h)?.[1] ?? "?";
    return `${v("MAJOR")}.${v("MINOR")}.${v("PATCH")}`;
  } catch {
    return "?";
  }
}

function sqliteVersion(): string {
  try {
    const Database = peer("better-sqlite3");
    const db = new Database(":memory:");
    const v = db.prepare("select sqlite_version()").pluck().get();
    db.close();
    return v;
  } catch {
    return "?";
  }
}

// ---------------------------------------------------------------------------------------------------------
// Charts: one hand-written SVG bar chart per workload

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The SVG of one workload's medians: a horizontal bar per engine. */
export function chartSvg(result: PeersResult, workload: WorkloadInfo): string {
  const rows = result.engines.map((e) => ({
    e,
    m: result.cells.find((c) => c.engine === e.id && c.workload === workload.id)
      ?.median,
  })).filter((r) => r.m !== undefined) as { e: EngineInfo; m: RunMeasure }[];
  const labelWidth = 230,
    barWidth = 420,
    valueWidth = 110,
    rowHeight = 26,
    top = 46,
    bottom = 34;
  const width = labelWidth + barWidth + valueWidth;
  const height = top + rows.length * rowHeight + bottom;
  const max = Math.max(1, ...rows.map((r) => r.m.opsPerSecond));
  const color = (kind: EngineInfo["kind"]) =>
    kind === "hestia" ? "#d9480f" : kind === "reference" ? "#868e96" : "#1c7ed6";
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="600">${escapeXml(workload.label)}</text>`,
    `<text x="10" y="37" fill="#495057">${escapeXml(workload.unit)}, median of ${result.runs} run${
      result.runs > 1 ? "s" : ""
    }, ${result.keys.toLocaleString("en-US")} keys (${result.mode})</text>`,
  ];
  rows.forEach(({ e, m }, i) => {
    const y = top + i * rowHeight;
    const w = Math.max(1, Math.round(barWidth * m.opsPerSecond / max));
    out.push(
      `<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${escapeXml(e.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${w}" height="${rowHeight - 8}" fill="${color(e.kind)}"/>`,
      `<text x="${labelWidth + w + 6}" y="${y + 17}">${
        Math.round(m.opsPerSecond).toLocaleString("en-US")
      }</text>`,
    );
  });
  out.push(
    `<text x="10" y="${height - 12}" fill="#495057" font-size="11">${
      escapeXml(
        `${result.machine.cores} cores, ${result.machine.cpu}; Node ${result.versions.node}, Deno ${result.versions.deno}; ${
          result.date.slice(0, 10)
        }. Orange: HestiaStore, blue: peers, grey: physical reference.`,
      )
    }</text>`,
    `</svg>`,
  );
  return out.join("\n") + "\n";
}

/** Writes docs/images/peers-<workload>.svg for every workload of `result`. */
export function writeCharts(result: PeersResult, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const suffix = result.mode === "10m" ? "-10m" : "";
  for (const w of result.workloads) {
    const path = `${dir}/peers-${w.id}${suffix}.svg`;
    writeFileSync(path, chartSvg(result, w));
  }
  console.log(`Wrote ${result.workloads.length} charts into ${dir}/`);
}

// ---------------------------------------------------------------------------------------------------------

const isMain = (process.argv[1] ?? "").endsWith("harness.ts") ||
  process.argv.includes("--child");
if (isMain && flag("child")) {
  const m = await child({
    engine: argv("engine")!,
    workload: argv("workload")!,
    dir: argv("dir")!,
    keys: Number(argv("keys")),
    seconds: Number(argv("seconds")),
    durableOps: Number(argv("durable-ops")),
  });
  console.log("RESULT " + JSON.stringify(m));
  // Native addons and the engine's timers should not keep the process: the measurement is done.
  process.exit(0);
} else if (isMain && RUNTIME.name === "deno") {
  console.error(
    "Run the harness under Node 20: node --import tsx bench/peers/harness.ts [--quick]",
  );
  process.exit(2);
} else if (isMain) {
  parent();
}
