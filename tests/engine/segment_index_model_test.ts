/**
 * Model-based test of {@linkcode SegmentIndex}: long random sequences of
 * put / delete / batch / get / range / held iterators / flush / compact /
 * runtime tuning / close + reopen, run against a plain `Map` model on the
 * in-memory file system and on a real directory, with limits so small that
 * flushes, compactions and splits happen all the time.
 *
 * Runs alternate between an index with its write-ahead log (the default)
 * and one without. On the in-memory file system a run also loses power now
 * and then: with the log, every write whose promise resolved must survive;
 * without it, everything up to the last completed flush.
 *
 * Every run of a test uses a fixed, printed fast-check seed, so a failure
 * reproduces; the failure message names the operation that failed and the
 * operations just before it.
 *
 * @module
 */
import { assert, assertEquals, assertGreater, assertGreaterOrEqual, assertThrows, fail } from "@std/assert";
import { afterAll, describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FaultFileSystem } from "../../engine/fs/fault_fs.ts";
import { counters } from "./_index_model.ts";
import {
  BYTES,
  ClosedError,
  ConflictError,
  type FileSystem,
  INT32,
  MemoryFileSystem,
  NodeFileSystem,
  type RangeIterator,
  type RangeOptions,
  SegmentIndex,
  StateError,
  STRING,
  type Tuning,
  type TypeDescriptor,
} from "../../engine/mod.ts";

/** The base seed; test `n` of this file uses `SEED + n`. Change it to explore, keep it fixed in the repository. */
const SEED = 20_240_917;
/** Runs per test, and operations per run: 2 tests × 2 runs × 2,500 = 10,000 operations per file system. */
const RUNS = 2;
const OPS_PER_RUN = 2_500;
/** Keys are drawn from this many distinct keys, so writes keep hitting existing keys. */
const KEY_SPACE = 400;
/** Names of table files in an index directory. */
const TABLE_FILE = /^\d{6,}\.(chunks|sparse|bloom)$/;
/** Iterators held open at once. */
const MAX_HELD = 3;

/** Small fixed options; chunkByteTarget at its minimum so long values close chunks early. */
const FIXED = { chunkKeyLimit: 8, chunkByteTarget: 256 };
const SMALL_TUNING: Tuning = {
  segmentWriteCacheKeyLimit: 20,
  segmentWriteCacheKeyLimitDuringMaintenance: 30,
  indexBufferedWriteKeyLimit: 60,
  segmentSplitKeyThreshold: 100,
  segmentCacheLimit: 4,
  chunkCacheLimit: 32,
};

/**
 * Slow motion: while on, every call of `performance.now()` advances the
 * clock by an extra millisecond, as if each step of the engine took that
 * long. A compaction or split then outlasts its maintenance slice after a
 * few entries and yields to the event loop half way, so the run's writes,
 * flushes, iterators, tuning changes and closes interleave with it.
 */
class SlowMotion {
  readonly #perf = globalThis.performance;
  readonly #realNow = globalThis.performance.now.bind(globalThis.performance);
  /** `now` as an own property of `performance`, if the runtime defines it there. */
  readonly #own = Object.getOwnPropertyDescriptor(globalThis.performance, "now");
  #skew = 0;
  #on = false;

  set(on: boolean): void {
    if (on === this.#on) return;
    this.#on = on;
    if (on) {
      Object.defineProperty(this.#perf, "now", {
        configurable: true,
        writable: true,
        value: () => this.#realNow() + ++this.#skew,
      });
    } else {
      if (this.#own) Object.defineProperty(this.#perf, "now", this.#own);
      else delete (this.#perf as { now?: unknown }).now;
      if (this.#perf.now() > this.#realNow()) throw new Error("performance.now() not restored");
    }
  }
}

const slowMotion = new SlowMotion();

/** Resolves on the event loop's next check phase (setImmediate), or after a zero timeout where there is none. */
function nextImmediate(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => void };
  return new Promise((resolve) => g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0));
}

// ---------------------------------------------------------------------------
// Key and value flavours

/** Key and value types of one model test, with the model's idea of the key order. */
interface Flavor<K, V> {
  name: string;
  keyType: TypeDescriptor<K>;
  valueType: TypeDescriptor<V>;
  /** Key number `i` (0 ≤ i < KEY_SPACE); distinct numbers give distinct keys. */
  key(i: number): K;
  /** A range bound near key number `i`: the key itself (nudge 0), below it (-1) or just above it (+1). */
  bound(i: number, nudge: -1 | 0 | 1): K;
  /** The engine's order, computed independently of the engine. */
  compare(a: K, b: K): number;
  value: fc.Arbitrary<V>;
  /** A key of the wrong type: encoding it throws TypeError. */
  badKey: unknown;
}

/** Compares strings by Unicode code point, which is UTF-8 byte order (JavaScript's `<` compares UTF-16 units). */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!, y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

function stringKey(i: number): string {
  if (i === 0) return "";
  if (i % 40 === 1) return `\u{1F600}${i}`; // sorts after U+FFFD in code point order, before it in UTF-16 order
  if (i % 40 === 2) return `\uFFFD${i}`;
  if (i % 10 === 3) return `é${i}`;
  if (i % 10 === 4) return `${i}\u0000`; // a key with an embedded NUL right after its prefix key
  return String(i); // unpadded: "1" < "10" < "100" < "101" < "11"
}

const STRING_FLAVOR: Flavor<string, string> = {
  name: "string keys, string values",
  keyType: STRING,
  valueType: STRING,
  key: stringKey,
  bound(i, nudge) {
    const k = stringKey(i);
    if (nudge === 0) return k;
    if (nudge === 1) return k + "\u0000"; // the smallest string above k
    return [...k].slice(0, -1).join(""); // a proper prefix sorts below k
  },
  compare: compareCodePoints,
  value: fc.oneof(
    { weight: 2, arbitrary: fc.constant("") },
    { weight: 10, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }) },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 100, maxLength: 700 }) },
  ),
  badKey: 5,
};

const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

function intKey(i: number): number {
  if (i === 0) return INT32_MIN;
  if (i === KEY_SPACE - 1) return INT32_MAX;
  return (i - KEY_SPACE / 2) * 3; // negatives, zero, positives, with gaps for bounds between keys
}

const INT32_FLAVOR: Flavor<number, Uint8Array> = {
  name: "int32 keys, bytes values",
  keyType: INT32,
  valueType: BYTES,
  key: intKey,
  bound: (i, nudge) => Math.min(INT32_MAX, Math.max(INT32_MIN, intKey(i) + nudge)),
  compare: (a, b) => a - b,
  value: fc.oneof(
    { weight: 2, arbitrary: fc.constant(new Uint8Array(0)) },
    { weight: 10, arbitrary: fc.uint8Array({ maxLength: 24 }) },
    { weight: 2, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 600 }) },
  ),
  badKey: "not a number",
};

// ---------------------------------------------------------------------------
// Operations

interface BoundSpec {
  i: number;
  nudge: -1 | 0 | 1;
  exclusive: boolean;
}

interface RangeSpec {
  lower?: BoundSpec;
  upper?: BoundSpec;
  reverse: boolean;
  limit?: number;
}

type BatchItem<V> = { del: true; k: number } | { del: false; k: number; v: V };

type Op<V> =
  | { t: "put"; k: number; v: V }
  | { t: "delete"; k: number }
  | { t: "batch"; items: BatchItem<V>[]; bad?: { at: number; kind: number } }
  | { t: "get"; k: number }
  | { t: "getAll" }
  | { t: "range"; r: RangeSpec; breakAfter?: number }
  | { t: "open"; r: RangeSpec }
  | { t: "step"; which: number; n: number }
  | { t: "closeIt"; which: number }
  | { t: "flush" }
  | { t: "compact" }
  | { t: "unawaited"; what: "flush" | "compact" }
  | { t: "tick"; immediate: boolean[] }
  | { t: "pace"; slow: boolean }
  | { t: "tune"; tuning: Tuning; revision: "none" | "current" | "stale" }
  | { t: "badTune"; kind: number }
  | { t: "reopen"; deltaFileLimit: number }
  | { t: "crash" }
  | { t: "check" };

const keyNo = fc.integer({ min: 0, max: KEY_SPACE - 1 });

const boundSpec: fc.Arbitrary<BoundSpec> = fc.record({
  i: keyNo,
  nudge: fc.constantFrom<(-1 | 0 | 1)[]>(-1, 0, 1),
  exclusive: fc.boolean(),
});

const rangeSpec: fc.Arbitrary<RangeSpec> = fc.record(
  {
    lower: boundSpec,
    upper: boundSpec,
    reverse: fc.boolean(),
    limit: fc.oneof(
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 4, max: 60 }),
      fc.integer({ min: 61, max: 500 }),
    ),
  },
  { requiredKeys: ["reverse"] },
);

/** A valid tuning: every cross-key rule of `validateTuning` holds, with values small enough to matter. */
const tuningArb: fc.Arbitrary<Tuning> = fc
  .record({
    w: fc.integer({ min: 4, max: 40 }),
    dm: fc.integer({ min: 1, max: 25 }),
    ib: fc.integer({ min: 0, max: 80 }),
    split: fc.integer({ min: 0, max: 140 }),
    segmentCacheLimit: fc.integer({ min: 1, max: 8 }),
    chunkCacheLimit: fc.integer({ min: 1, max: 64 }),
  })
  .map(({ w, dm, ib, split, segmentCacheLimit, chunkCacheLimit }) => ({
    segmentWriteCacheKeyLimit: w,
    segmentWriteCacheKeyLimitDuringMaintenance: w + dm,
    indexBufferedWriteKeyLimit: w + dm + ib,
    segmentSplitKeyThreshold: Math.max(w + dm, 24) + split,
    segmentCacheLimit,
    chunkCacheLimit,
  }));

function opArb<V>(value: fc.Arbitrary<V>): fc.Arbitrary<Op<V>> {
  const batchItem: fc.Arbitrary<BatchItem<V>> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ del: fc.constant(false as const), k: keyNo, v: value }) },
    { weight: 1, arbitrary: fc.record({ del: fc.constant(true as const), k: keyNo }) },
  );
  const w = (weight: number, arbitrary: fc.Arbitrary<Op<V>>) => ({ weight, arbitrary });
  return fc.oneof(
    w(280, fc.record({ t: fc.constant("put" as const), k: keyNo, v: value })),
    w(100, fc.record({ t: fc.constant("delete" as const), k: keyNo })),
    w(
      60,
      fc.record(
        {
          t: fc.constant("batch" as const),
          items: fc.array(batchItem, { maxLength: 16 }),
          bad: fc.record({ at: fc.nat(), kind: fc.integer({ min: 0, max: 4 }) }),
        },
        { requiredKeys: ["t", "items"] },
      ).map((op) => (op.bad && op.bad.at % 7 !== 0 ? { t: op.t, items: op.items } : op)), // ~1 in 7 carries a bad op
    ),
    w(120, fc.record({ t: fc.constant("get" as const), k: keyNo })),
    w(8, fc.constant({ t: "getAll" as const })),
    w(
      50,
      fc.record({ t: fc.constant("range" as const), r: rangeSpec, breakAfter: fc.nat({ max: 30 }) }, {
        requiredKeys: ["t", "r"],
      }),
    ),
    w(40, fc.record({ t: fc.constant("open" as const), r: rangeSpec })),
    w(
      140,
      fc.record({ t: fc.constant("step" as const), which: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
    ),
    w(20, fc.record({ t: fc.constant("closeIt" as const), which: fc.nat() })),
    w(25, fc.constant({ t: "flush" as const })),
    w(10, fc.constant({ t: "compact" as const })),
    w(
      12,
      fc.record({
        t: fc.constant("unawaited" as const),
        what: fc.constantFrom<("flush" | "compact")[]>("flush", "flush", "compact"),
      }),
    ),
    w(
      60,
      fc.record({
        t: fc.constant("tick" as const),
        immediate: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
      }),
    ),
    w(8, fc.record({ t: fc.constant("pace" as const), slow: fc.nat({ max: 2 }).map((n) => n === 0) })),
    w(
      12,
      fc.record({
        t: fc.constant("tune" as const),
        tuning: tuningArb,
        revision: fc.constantFrom<("none" | "current" | "stale")[]>("none", "none", "current", "stale"),
      }),
    ),
    w(4, fc.record({ t: fc.constant("badTune" as const), kind: fc.integer({ min: 0, max: 5 }) })),
    w(6, fc.record({ t: fc.constant("reopen" as const), deltaFileLimit: fc.integer({ min: 1, max: 5 }) })),
    w(3, fc.constant({ t: "crash" as const })),
    w(3, fc.constant({ t: "check" as const })),
  );
}

/** The operations of one run; prints as a short label, since the ops are reported by the run itself. */
class OpList<V> {
  constructor(readonly ops: Op<V>[]) {}
  [fc.toStringMethod](): string {
    return `OpList(${this.ops.length} operations)`;
  }
}

function opsArb<V>(value: fc.Arbitrary<V>): fc.Arbitrary<OpList<V>> {
  return fc.noShrink(fc.array(opArb(value), { minLength: OPS_PER_RUN, maxLength: OPS_PER_RUN }))
    .map((ops) => new OpList(ops));
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    assertEquals(a, b);
    return true;
  } catch {
    return false;
  }
}

function describeOp(op: Op<unknown>): string {
  return JSON.stringify(op, (_k, v) => {
    if (v instanceof Uint8Array) return `bytes[${v.length}]`;
    if (typeof v === "string" && v.length > 20) return `${JSON.stringify(v.slice(0, 8))}…(${v.length})`;
    return v;
  });
}

// ---------------------------------------------------------------------------
// The model and one run

/** Totals over every run of one test. */
interface Totals {
  runs: number;
  ops: number;
  splits: number;
  compactions: number;
  flushes: number;
  inlineFlushes: number;
  reopens: number;
  crashes: number;
  iteratorSteps: number;
  maxSegments: number;
}

function newTotals(): Totals {
  return {
    runs: 0,
    ops: 0,
    splits: 0,
    compactions: 0,
    flushes: 0,
    inlineFlushes: 0,
    reopens: 0,
    crashes: 0,
    iteratorSteps: 0,
    maxSegments: 0,
  };
}

interface Held<K, V> {
  it: RangeIterator<K, V>;
  /** What the iterator must return: the model's entries in its bounds, order and limit when it was opened. */
  expected: [K, V][];
  pos: number;
  limit: number | undefined;
  /** The engine closes an iterator as soon as its limit is reached, else when next() reports done. */
  open: boolean;
  label: string;
}

class ModelRun<K, V> {
  readonly #flavor: Flavor<K, V>;
  readonly #fs: FileSystem;
  /** The in-memory file system, which can lose power; undefined on the real file system. */
  readonly #crashable: FaultFileSystem | undefined;
  readonly #dir: string;
  /** Whether the index keeps a write-ahead log. */
  readonly #wal: boolean;
  readonly #totals: Totals;
  /** Key numbers in the engine's key order, computed with the model's comparator. */
  readonly #order: number[];
  readonly #model = new Map<number, V>();
  #tuning: Tuning = { ...SMALL_TUNING };
  /** Tunings applied since the index was opened: a commit persists the current one, a crash may undo later ones. */
  #tunings: Tuning[] = [{ ...SMALL_TUNING }];
  #revision = 0;
  #held: Held<K, V>[] = [];
  /** Outcomes of flush() and compact() calls not awaited: undefined, or what went wrong. */
  #inFlight: Promise<string | undefined>[] = [];
  /** Outcomes of write promises not awaited yet (with the log they resolve once the write is durable). */
  #writes: Promise<string | undefined>[] = [];
  index!: SegmentIndex<K, V>;

  constructor(flavor: Flavor<K, V>, fs: FileSystem, dir: string, wal: boolean, totals: Totals) {
    this.#flavor = flavor;
    this.#fs = fs;
    this.#crashable = fs instanceof FaultFileSystem ? fs : undefined;
    this.#dir = dir;
    this.#wal = wal;
    this.#totals = totals;
    this.#order = [...Array(KEY_SPACE).keys()].sort((a, b) => flavor.compare(flavor.key(a), flavor.key(b)));
    for (let i = 1; i < KEY_SPACE; i++) {
      assert(
        flavor.compare(flavor.key(this.#order[i - 1]), flavor.key(this.#order[i])) < 0,
        "keys must be distinct",
      );
    }
  }

  async create(): Promise<void> {
    this.index = await SegmentIndex.create<K, V>(this.#dir, {
      fs: this.#fs,
      keyType: this.#flavor.keyType,
      valueType: this.#flavor.valueType,
      wal: this.#wal,
      deltaFileLimit: 3,
      ...FIXED,
      ...SMALL_TUNING,
    });
  }

  /** The model's entries in key order. */
  entries(): [K, V][] {
    const out: [K, V][] = [];
    for (const i of this.#order) if (this.#model.has(i)) out.push([this.#flavor.key(i), this.#model.get(i)!]);
    return out;
  }

  rangeOptions(r: RangeSpec): RangeOptions<K> {
    const o: RangeOptions<K> = { reverse: r.reverse };
    if (r.lower) o[r.lower.exclusive ? "gt" : "gte"] = this.#flavor.bound(r.lower.i, r.lower.nudge);
    if (r.upper) o[r.upper.exclusive ? "lt" : "lte"] = this.#flavor.bound(r.upper.i, r.upper.nudge);
    if (r.limit !== undefined) o.limit = r.limit;
    return o;
  }

  expectedRange(o: RangeOptions<K>): [K, V][] {
    const cmp = this.#flavor.compare;
    let out = this.entries().filter(([k]) =>
      (o.gt === undefined || cmp(k, o.gt) > 0) && (o.gte === undefined || cmp(k, o.gte) >= 0) &&
      (o.lt === undefined || cmp(k, o.lt) < 0) && (o.lte === undefined || cmp(k, o.lte) <= 0)
    );
    if (o.reverse) out = out.reverse();
    return o.limit === undefined ? out : out.slice(0, o.limit);
  }

  async apply(op: Op<V>): Promise<void> {
    const f = this.#flavor;
    const index = this.index;
    switch (op.t) {
      case "put":
        this.#track(index.put(f.key(op.k), op.v), op);
        this.#model.set(op.k, op.v);
        break;
      case "delete":
        this.#track(index.delete(f.key(op.k)), op);
        this.#model.delete(op.k);
        break;
      case "batch": {
        const ops: unknown[] = op.items.map((item) =>
          item.del
            ? { type: "delete", key: f.key(item.k) }
            : { type: "put", key: f.key(item.k), value: item.v }
        );
        if (op.bad) {
          const bad = [
            null,
            { type: "upsert", key: f.key(0), value: ops.length },
            { type: "put", key: f.badKey, value: f.key(0) },
            { type: "put", key: f.key(1) },
            { type: "delete", key: f.badKey },
          ][op.bad.kind];
          ops.splice(op.bad.at % (ops.length + 1), 0, bad);
          const before = op.items.map((item) => index.get(f.key(item.k)));
          assertThrows(() => index.batch(ops as never), TypeError);
          assertEquals(
            op.items.map((item) => index.get(f.key(item.k))),
            before,
            "a rejected batch changed the index",
          );
        } else {
          this.#track(index.batch(ops as never), op);
          for (const item of op.items) {
            if (item.del) this.#model.delete(item.k);
            else this.#model.set(item.k, item.v);
          }
        }
        break;
      }
      case "get":
        assertEquals(index.get(f.key(op.k)), this.#model.get(op.k), `get(${JSON.stringify(f.key(op.k))})`);
        break;
      case "getAll":
        for (let i = 0; i < KEY_SPACE; i++) {
          assertEquals(index.get(f.key(i)), this.#model.get(i), `get(#${i})`);
        }
        break;
      case "range": {
        const o = this.rangeOptions(op.r);
        const expected = this.expectedRange(o);
        if (op.breakAfter === undefined) {
          assertEquals([...index.range(o)], expected, "range()");
        } else {
          const got: [K, V][] = [];
          for (const entry of index.range(o)) {
            if (got.length === op.breakAfter) break; // return() must release the snapshot
            got.push(entry);
          }
          assertEquals(got, expected.slice(0, op.breakAfter), "range() with break");
        }
        break;
      }
      case "open": {
        if (this.#held.length >= MAX_HELD) this.#closeHeld(0);
        const o = this.rangeOptions(op.r);
        this.#held.push({
          it: index.range(o),
          expected: this.expectedRange(o),
          pos: 0,
          limit: o.limit,
          open: o.limit !== 0,
          label: describeOp(op),
        });
        this.#dropClosed();
        break;
      }
      case "step": {
        if (this.#held.length === 0) break;
        const h = this.#held[op.which % this.#held.length];
        for (let s = 0; s < op.n && h.open; s++) {
          const r = h.it.next();
          this.#totals.iteratorSteps++;
          if (h.pos < h.expected.length) {
            assertEquals(
              r,
              { done: false, value: h.expected[h.pos] },
              `step ${h.pos} of iterator ${h.label}`,
            );
            h.pos++;
            if (h.limit !== undefined && h.pos === h.limit) h.open = false;
          } else {
            assertEquals(r, { done: true, value: undefined }, `end of iterator ${h.label}`);
            h.open = false;
          }
        }
        this.#dropClosed();
        break;
      }
      case "closeIt":
        if (this.#held.length > 0) this.#closeHeld(op.which % this.#held.length);
        break;
      case "flush":
        await index.flush();
        await this.#settleWrites();
        break;
      case "compact":
        await index.compact();
        await this.#settleWrites();
        break;
      case "unawaited": {
        // Runs beside the operations that follow; must resolve, or fail only because the index closed.
        const started = describeOp(op);
        const running = op.what === "flush" ? index.flush() : index.compact();
        this.#inFlight.push(running.then(
          () => undefined,
          (e) => e instanceof StateError || e instanceof ClosedError ? undefined : `${started} failed: ${e}`,
        ));
        break;
      }
      case "pace":
        slowMotion.set(op.slow);
        break;
      case "tick":
        // An immediate interleaves with the engine's maintenance slices, which yield the same way.
        for (const immediate of op.immediate) {
          await (immediate ? nextImmediate() : new Promise((r) => setTimeout(r, 0)));
        }
        if (op.immediate.length > 2) await this.#settleWrites();
        break;
      case "tune": {
        const expectedRevision = op.revision === "none"
          ? undefined
          : op.revision === "current"
          ? this.#revision
          : this.#revision + 1;
        if (op.revision === "stale") {
          const before = index.config();
          assertThrows(() => index.applyConfig(op.tuning, expectedRevision), ConflictError);
          assertEquals(index.config(), before);
        } else {
          const config = index.applyConfig(op.tuning, expectedRevision);
          this.#tuning = { ...op.tuning };
          this.#tunings.push(this.#tuning);
          this.#revision++;
          assertEquals(config.current, this.#tuning);
          assertEquals(config.revision, this.#revision);
        }
        break;
      }
      case "badTune": {
        const t = this.#tuning;
        const patch: Record<string, unknown> = [
          { segmentWriteCacheKeyLimitDuringMaintenance: t.segmentWriteCacheKeyLimit },
          { chunkCacheLimit: 0 },
          { segmentCacheLimit: 1.5 },
          { notATunable: 1 },
          { segmentSplitKeyThreshold: t.segmentWriteCacheKeyLimitDuringMaintenance - 1, chunkCacheLimit: 7 },
          { indexBufferedWriteKeyLimit: "many" },
        ][op.kind];
        const before = index.config();
        assert(index.validateConfig(patch).length > 0, "validateConfig() must reject the patch");
        const error = assertThrows(() => index.applyConfig(patch));
        assert(error instanceof RangeError || error instanceof TypeError, `applyConfig threw ${error}`);
        assertEquals(index.config(), before, "a rejected applyConfig() changed the configuration");
        break;
      }
      case "reopen":
        await this.reopen(op.deltaFileLimit);
        this.#compareAll("after reopen");
        break;
      case "crash":
        if (this.#crashable) await this.crash(this.#crashable);
        else await this.reopen(3);
        this.#compareAll(this.#crashable ? "after a crash" : "after reopen");
        break;
      case "check": {
        const report = await index.checkAndRepairConsistency();
        assertEquals(report.problems, [], "checkAndRepairConsistency() problems");
        assertEquals(report.removedFiles, [], "checkAndRepairConsistency() removed files of a healthy index");
        break;
      }
    }
    assertEquals(this.index.state, "READY");
    assertEquals(this.index.openIterators, this.#held.length, "openIterators");
  }

  /** Keeps a write's promise: it must resolve (with the log, once the write is durable). */
  #track(written: Promise<void>, op: Op<V>): void {
    this.#writes.push(written.then(() => undefined, (e) => `${describeOp(op)} failed: ${e}`));
  }

  async #settleWrites(): Promise<void> {
    assertEquals((await Promise.all(this.#writes.splice(0))).filter((e) => e !== undefined), [], "writes");
  }

  /**
   * Power loss, once everything the model holds is durable: with the log,
   * once every write's promise resolved; without, after a flush. The old
   * index then can touch nothing any more (every file operation fails), and
   * the reopened index must equal the model exactly.
   */
  async crash(fs: FaultFileSystem): Promise<void> {
    if (!this.#wal) await this.index.flush();
    await this.#settleWrites();
    this.#account();
    fs.failOn({});
    fs.crash();
    await this.index.close().catch(() => {});
    await Promise.all(this.#inFlight.splice(0)); // they may fail: the process they ran in is gone
    this.#held = [];
    fs.clearFaults();
    this.index = await SegmentIndex.open<K, V>(this.#dir, { fs, deltaFileLimit: 3 });
    this.#revision = 0;
    this.#totals.crashes++;
    if (this.#wal) {
      // The log holds writes, not tuning: a tuning applied after the last commit may be lost.
      const current = this.index.config().current;
      assert(this.#tunings.some((t) => isDeepEqual(t, current)), "the recovered tuning was never applied");
      this.#tuning = { ...current };
    }
    this.#tunings = [{ ...this.#tuning }];
  }

  #closeHeld(at: number): void {
    const h = this.#held[at];
    h.it.close();
    assertEquals(h.it.next(), { done: true, value: undefined }, "next() after close()");
    this.#held.splice(at, 1);
  }

  #dropClosed(): void {
    this.#held = this.#held.filter((h) => h.open);
  }

  #compareAll(when: string): void {
    assertEquals([...this.index.range()], this.entries(), `contents ${when}`);
    assertEquals(
      [...this.index.range({ reverse: true })],
      this.entries().reverse(),
      `reverse contents ${when}`,
    );
    assertEquals(this.index.config().current, this.#tuning, `tuning ${when}`);
  }

  #account(): void {
    const s = counters(this.index);
    this.#totals.splits += s.splits;
    this.#totals.compactions += s.compactions;
    this.#totals.flushes += s.flushes;
    this.#totals.inlineFlushes += s.inlineFlushes;
    this.#totals.maxSegments = Math.max(this.#totals.maxSegments, s.segments);
  }

  /** close() flushes; the reopened index must equal the model exactly, tuning included. */
  async reopen(deltaFileLimit: number): Promise<void> {
    this.#account();
    const iteratorsOpen = this.#held.length > 0;
    await this.index.close();
    assertEquals(this.index.state, "CLOSED");
    await this.#settleWrites();
    assertEquals((await Promise.all(this.#inFlight.splice(0))).filter((e) => e !== undefined), []);
    for (const h of this.#held) {
      assertEquals(h.it.next(), { done: true, value: undefined }, "an iterator after its index closed");
    }
    this.#held = [];
    const closed = this.#fs.list(this.#dir);
    assertEquals(
      closed.filter((n) => !TABLE_FILE.test(n) && n !== "MANIFEST" && !(this.#wal && n === "wal")),
      [],
      "close() left other files",
    );
    this.index = await SegmentIndex.open<K, V>(this.#dir, { fs: this.#fs, deltaFileLimit });
    this.#revision = 0;
    this.#tunings = [{ ...this.#tuning }];
    this.#totals.reopens++;
    const opened = this.#fs.list(this.#dir).filter((n) => TABLE_FILE.test(n));
    // Tables no manifest names are removed once no iterator reads them: a clean close leaves none for open().
    if (!iteratorsOpen) {
      assertEquals(
        opened,
        closed.filter((n) => TABLE_FILE.test(n)),
        "close() left orphan tables",
      );
    }
  }

  /** The end of a run: contents, every key, consistency, and once more after a reopen. */
  async finish(): Promise<void> {
    this.#compareAll("at the end of the run");
    for (let i = 0; i < KEY_SPACE; i++) assertEquals(this.index.get(this.#flavor.key(i)), this.#model.get(i));
    const report = await this.index.checkAndRepairConsistency();
    assertEquals(report.problems, [], "checkAndRepairConsistency() problems at the end");
    await this.reopen(3);
    this.#compareAll("after the final reopen");
    assertEquals((await this.index.checkAndRepairConsistency()).problems, []);
    this.#account();
    await this.index.close();
  }
}

// ---------------------------------------------------------------------------
// The tests

type FsKind = "memory" | "node";

const tempRoots: string[] = [];

async function runModelTest<K, V>(flavor: Flavor<K, V>, fsKind: FsKind, seed: number): Promise<Totals> {
  const totals = newTotals();
  const root = fsKind === "node" ? mkdtempSync(join(tmpdir(), "hestia-model-")) : "";
  if (root) tempRoots.push(root);
  console.log(
    `model test (${fsKind} fs, ${flavor.name}): fast-check seed ${seed}, ${RUNS} runs × ${OPS_PER_RUN} ops`,
  );
  const started = performance.now();
  try {
    await fc.assert(
      fc.asyncProperty(opsArb(flavor.value), async ({ ops }) => {
        const run = totals.runs++;
        const wal = run % 2 === 0;
        const fs = fsKind === "memory" ? new FaultFileSystem(new MemoryFileSystem()) : new NodeFileSystem();
        const dir = fsKind === "memory" ? `/db-${run}` : join(root, `db-${run}`);
        const model = new ModelRun(flavor, fs, dir, wal, totals);
        await model.create();
        let i = 0;
        try {
          for (; i < ops.length; i++) {
            await model.apply(ops[i]);
            totals.ops++;
          }
          await model.finish();
        } catch (e) {
          const from = Math.max(0, i - 12);
          const lines = ops.slice(from, i + 1).map((op, n) => `  #${from + n} ${describeOp(op)}`);
          await model.index.close().catch(() => {});
          throw new Error(
            `run ${run} (seed ${seed}, ${wal ? "with" : "without"} write-ahead log): ${
              i < ops.length ? `operation #${i} failed` : "the final check failed"
            }: ${(e as Error).message}\nlast operations:\n${lines.join("\n")}`,
            { cause: e },
          );
        } finally {
          slowMotion.set(false);
        }
      }),
      { seed, numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
    );
  } finally {
    if (root) rmSync(root, { recursive: true, force: true });
  }
  const ms = Math.round(performance.now() - started);
  console.log(`  totals: ${JSON.stringify(totals)} in ${ms} ms`);
  assertEquals(totals.runs, RUNS);
  assertGreaterOrEqual(totals.ops, RUNS * OPS_PER_RUN);
  assertGreater(totals.splits, 0, "no split happened in any run");
  assertGreater(totals.compactions, 0, "no compaction happened in any run");
  assertGreater(totals.reopens, 0, "no reopen happened in any run");
  if (fsKind === "memory") assertGreater(totals.crashes, 0, "no crash happened in any run");
  assertGreater(totals.iteratorSteps, 0, "no held iterator was advanced");
  return totals;
}

describe("SegmentIndex model test", () => {
  afterAll(() => {
    for (const root of tempRoots) rmSync(root, { recursive: true, force: true });
  });

  const all: Record<FsKind, Totals[]> = { memory: [], node: [] };
  let testNo = 0;
  for (const fsKind of ["memory", "node"] as const) {
    for (const flavor of [STRING_FLAVOR, INT32_FLAVOR] as Flavor<unknown, unknown>[]) {
      const seed = SEED + testNo++;
      it(`matches a Map model over ${RUNS}×${OPS_PER_RUN} random operations (${fsKind} fs, ${flavor.name})`, async () => {
        all[fsKind].push(await runModelTest(flavor, fsKind, seed));
      });
    }
    it(`ran at least 10,000 operations on the ${fsKind} fs`, () => {
      const ops = all[fsKind].reduce((n, t) => n + t.ops, 0);
      if (all[fsKind].length < 2) fail(`the model tests on the ${fsKind} fs did not all complete`);
      assertGreaterOrEqual(ops, 10_000);
    });
  }
});

/** Smallest reproductions of failures the model test found; each stands alone. */
describe("SegmentIndex model test: minimal cases", () => {
  const small = { ...SMALL_TUNING, ...FIXED, deltaFileLimit: 3 };

  it("range({ limit: 0 }) is closed at once: not counted as open, pins no table", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create<string, string>("/db", { fs, ...small });
    for (let i = 0; i < 10; i++) index.put(`k${i}`, "v");
    await index.flush();
    const before = fs.list("/db").filter((n) => TABLE_FILE.test(n));
    const it = index.range({ limit: 0 });
    assertEquals(it.next(), { done: true, value: undefined });
    assertEquals(index.openIterators, 0);
    index.put("k0", "w");
    await index.compact(); // the flushed tables become obsolete; nothing reads them
    for (const name of before) {
      assertEquals(fs.stat(`/db/${name}`), undefined, `${name} kept for a closed iterator`);
    }
    await index.close();
  });

  it("checkAndRepairConsistency() keeps the tables an open iterator still reads", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create<string, string>("/db", { fs, ...small });
    for (let i = 0; i < 50; i++) index.put(`k${String(i).padStart(2, "0")}`, "v");
    await index.flush();
    const it = index.range(); // a snapshot of the flushed tables, not read yet
    index.put("k01", "w");
    await index.compact(); // the snapshot's tables are obsolete now, kept on disk for the iterator
    const report = await index.checkAndRepairConsistency();
    assertEquals(report.removedFiles, [], "the check removed tables of an open snapshot");
    assertEquals([...it].length, 50);
    assertEquals(index.state, "READY");
    await index.close();
  });
});
