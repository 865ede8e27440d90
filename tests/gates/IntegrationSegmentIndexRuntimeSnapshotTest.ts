/**
 * Stage A gate `IntegrationSegmentIndexRuntimeSnapshotTest`: the contract
 * of `index.metrics()` (docs/metrics.md), one property per case.
 *
 * - the snapshot's shape (every field's path and type) against a golden
 *   file, so that renaming, removing or retyping a field fails on purpose;
 * - exact counts after a known sequence of operations and maintenance;
 * - the write-ahead log group: zeros without a log, records and LSNs with one;
 * - per-segment entries for loaded segments only;
 * - taking a snapshot changes nothing, loads nothing and does no I/O;
 * - no buffered keys after `flush()`;
 * - `metrics: false` records nothing;
 * - the latency histograms: sampling, cumulative buckets, percentiles;
 * - counters restart at a reopen, and `openedAt` tells.
 *
 * Everything runs on a `MemoryFileSystem` with injected clocks, so the
 * snapshots are deterministic.
 *
 * @module
 */
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertLessOrEqual,
  assertThrows,
} from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type FileSystem,
  MemoryFileSystem,
  SegmentIndex,
  type SegmentIndexOptions,
} from "../../engine/mod.ts";
import type { MetricsSnapshot } from "../../engine/metrics.ts";
import { FaultFileSystem } from "../../engine/fs/fault_fs.ts";
import { assertGolden } from "../_golden.ts";
import { key, SMALL } from "../engine/_index_model.ts";

const EPOCH = 1_700_000_000_000;
const EPOCH_ISO = "2023-11-14T22:13:20.000Z";

/** A metrics clock (high-resolution milliseconds) that advances `step` at every read. */
function steppingClock(step = 1): { clock: () => number; step: number } {
  let now = 0;
  const c = { step, clock: () => (now += c.step) };
  return c;
}

async function memIndex(
  options: SegmentIndexOptions<string, string> = {},
  fs: FileSystem = new MemoryFileSystem(),
) {
  const index = await SegmentIndex.create<string, string>("/db", { fs, clock: () => EPOCH, ...options });
  return { fs, index };
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * The snapshot's shape: one sorted line per leaf, `path: type`, arrays as
 * `[]` with the union of their elements' shapes.
 */
function shapeOf(snapshot: unknown): string {
  const lines = new Set<string>();
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) {
      if (value.length === 0) lines.add(`${path}: empty array`);
      for (const element of value) walk(element, `${path}[]`);
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(v, path === "" ? k : `${path}.${k}`);
    } else {
      lines.add(`${path}: ${value === null ? "null" : typeof value}`);
    }
  };
  walk(snapshot, "");
  return [...lines].sort().join("\n") + "\n";
}

/** Every field name of the snapshot, at any depth. */
function fieldNames(snapshot: unknown): Set<string> {
  const names = new Set<string>();
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        names.add(k);
        walk(v);
      }
    }
  };
  walk(snapshot);
  return names;
}

/** A deterministic workload that leaves loaded segments, cached chunks, every kind of maintenance and buffered writes. */
async function deterministicSnapshot(): Promise<MetricsSnapshot> {
  const { index } = await memIndex({
    ...SMALL,
    // Below the write stall (twice this many delta files), whose waits depend on when the worker runs.
    deltaFileLimit: 50,
    name: "shape",
    metrics: { sampleEvery: 1, clock: steppingClock().clock },
  });
  for (let i = 0; i < 300; i++) await index.put(key(i), `v${i}`);
  for (let i = 0; i < 300; i += 5) await index.delete(key(i));
  await index.batch([{ type: "put", key: "batched", value: "b" }, { type: "delete", key: key(1) }]);
  await index.compact();
  for (let i = 0; i < 300; i += 7) index.get(key(i));
  assertEquals([...index.range({ gte: key(10), limit: 3 })].length, 3);
  await index.put(key(3), "buffered");
  const m = index.metrics();
  await index.close();
  return m;
}

describe("IntegrationSegmentIndexRuntimeSnapshotTest", () => {
  it("the snapshot's shape (field names and types) matches the golden file", async () => {
    const m = await deterministicSnapshot();
    // The workload fills every array, so each element's shape is described.
    assertGreater(m.segments.loadedSegments.length, 0);
    assertGreater(m.segments.count, 1);
    assertGreater(m.split.completed, 0);
    assertEquals(m.indexName, "shape");
    assertEquals(m.openedAt, { iso: EPOCH_ISO, epochMs: EPOCH });
    assertEquals(m.capturedAt, { iso: EPOCH_ISO, epochMs: EPOCH });
    assertGolden(new URL("./testdata/metrics_snapshot_shape.txt", import.meta.url), shapeOf(m));
  });

  it("the same workload gives the same snapshot", async () => {
    // The log times its fsyncs with its own clock (performance.now), which the index's options do not reach.
    const timingsApart = (m: MetricsSnapshot) => ({
      ...m,
      wal: { ...m.wal, syncSecondsTotal: 0, syncSecondsMax: 0, syncAverageSeconds: 0 },
    });
    assertEquals(timingsApart(await deterministicSnapshot()), timingsApart(await deterministicSnapshot()));
  });

  it("every field of the snapshot is documented in docs/metrics.md", async () => {
    const docs = readFileSync(fileURLToPath(new URL("../../docs/metrics.md", import.meta.url)), "utf8");
    const m = await deterministicSnapshot();
    const missing = [...fieldNames(m)].filter((name) => !new RegExp(`\\b${name}\\b`).test(docs));
    assertEquals(missing, [], "fields not mentioned in docs/metrics.md");
  });

  it("counts operations exactly after a known sequence", async () => {
    const { index } = await memIndex();
    const zero = index.metrics().operations;
    assertEquals({ ...zero }, { gets: 0, puts: 0, deletes: 0, batches: 0, ranges: 0 });
    await index.put("a", "1");
    await index.put("b", "2");
    index.get("a");
    index.get("b");
    index.get("missing");
    index.get("a");
    await index.delete("a");
    assertEquals({ ...index.metrics().operations }, { gets: 4, puts: 2, deletes: 1, batches: 0, ranges: 0 });
    // A batch counts as one batch, and each of its operations as a put or a delete.
    await index.batch([
      { type: "put", key: "c", value: "3" },
      { type: "put", key: "d", value: "4" },
      { type: "delete", key: "b" },
    ]);
    assertEquals({ ...index.metrics().operations }, { gets: 4, puts: 4, deletes: 2, batches: 1, ranges: 0 });
    await index.batch([]);
    assertEquals([...index.range()], [["c", "3"], ["d", "4"]]);
    [...index.range({ gt: "c" })];
    assertEquals({ ...index.metrics().operations }, { gets: 4, puts: 4, deletes: 2, batches: 2, ranges: 2 });
    await index.close();
  });

  it("counts maintenance exactly after a known sequence", async () => {
    const { index } = await memIndex();
    for (let i = 0; i < 10; i++) await index.put(key(i), "v");
    await index.flush();
    let m = index.metrics().maintenance;
    assertEquals(
      [m.flushRequests, m.flushes, m.compactRequests, m.compactions, m.commits, m.queued, m.inFlight],
      [1, 1, 0, 0, 1, 0, 0],
    );
    await index.compact();
    // compact() counts as a request, and so does the compaction it schedules for the segment with a delta.
    m = index.metrics().maintenance;
    assertEquals(
      [m.flushRequests, m.flushes, m.compactRequests, m.compactions, m.commits, m.queued, m.inFlight],
      [1, 1, 2, 1, 2, 0, 0],
    );
    const s = index.metrics().segments;
    assertEquals([s.count, s.totalKeys, s.deltaFiles, s.bufferedKeys], [1, 10, 0, 0]);
    await index.close();
  });

  it("a call rejected for a bad argument counts nothing", async () => {
    const { index } = await memIndex();
    try {
      const before = index.metrics().operations;
      assertThrows(() => index.put(1 as unknown as string, "v"), TypeError);
      assertThrows(() => index.delete(1 as unknown as string), TypeError);
      assertThrows(() => index.batch([{ type: "put", key: "k", value: 2 as unknown as string }]), TypeError);
      assertThrows(() => index.get(1 as unknown as string), TypeError);
      assertThrows(() => index.range({ gt: "a", gte: "b" }), TypeError);
      assertThrows(() => index.range({ limit: -1 }), RangeError);
      // docs/metrics.md: gets are "get() calls that passed argument validation", ranges "range() iterators created".
      assertEquals(index.metrics().operations, before, "calls that threw were counted");
    } finally {
      await index.close();
    }
  });

  it("reports zeros, enabled false and durability off for an index without a log", async () => {
    const { index } = await memIndex({ wal: false });
    await index.put("a", "1");
    await index.batch([{ type: "put", key: "b", value: "2" }]);
    await index.flush();
    const { enabled, durability, ...figures } = index.metrics().wal;
    assertEquals(enabled, false);
    assertEquals(durability, "off");
    assertEquals(Object.entries(figures).filter(([, v]) => v !== 0), []);
    await index.close();
  });

  it("reports records, bytes, syncs and LSNs of the log", async () => {
    const { index } = await memIndex({ durability: "group" });
    assertEquals(index.metrics().wal.appends, 0);
    await index.put("a", "1");
    await index.put("b", "2");
    await index.delete("a");
    await index.batch([{ type: "put", key: "c", value: "3" }, { type: "put", key: "d", value: "4" }]);
    let w = index.metrics().wal;
    assertEquals([w.enabled, w.durability], [true, "group"]);
    // A batch is one record.
    assertEquals(w.appends, 4);
    assertGreater(w.appendedBytes, 0);
    assert(w.appliedLsn >= 4, `appliedLsn ${w.appliedLsn}`);
    assert(w.durableLsn >= 4, `durableLsn ${w.durableLsn}`);
    assertEquals(w.pendingSyncBytes, 0);
    assertGreater(w.syncs, 0);
    assertLessOrEqual(w.syncs, 4);
    assertEquals(w.checkpointLagLsn, w.appliedLsn - w.checkpointLsn);
    await index.flush();
    w = index.metrics().wal;
    assert(w.checkpointLsn >= 4, `checkpointLsn ${w.checkpointLsn}`);
    assertEquals(w.checkpointLsn, w.appliedLsn);
    assertEquals(w.checkpointLagLsn, 0);
    assertEquals(w.appends, 4);
    assertGreater(w.fileCount, 0);
    assertGreater(w.batchBytesTotal, 0);
    assertLessOrEqual(w.batchBytesMax, w.batchBytesTotal);
    await index.close();
  });

  it("lists loaded segments only: none after a reopen until a get touches one", async () => {
    const fs = new MemoryFileSystem();
    {
      const { index } = await memIndex(SMALL, fs);
      for (let i = 0; i < 600; i++) {
        index.put(key(i), `v${i}`);
        // Turns of the event loop let background maintenance compact and split as the data grows.
        if (i % 20 === 19) await nextTurn();
      }
      await index.compact();
      assertGreater(index.metrics().segments.count, 2);
      await index.close();
    }
    const index = await SegmentIndex.open<string, string>("/db", { fs, segmentCacheLimit: 2 });
    let m = index.metrics();
    const count = m.segments.count;
    assertGreater(count, 2);
    assertEquals([m.segments.loaded, m.segments.unloaded, m.segments.loadedSegments.length], [0, count, 0]);
    assertEquals([m.segmentCache.size, m.segmentCache.loads, m.segmentCache.limit], [0, 0, 2]);

    assertEquals(index.get(key(0)), "v0");
    m = index.metrics();
    assertEquals([m.segments.loaded, m.segments.unloaded, m.segments.loadedSegments.length], [
      1,
      count - 1,
      1,
    ]);
    assertEquals([m.segmentCache.misses, m.segmentCache.loads, m.segmentCache.hits], [1, 1, 0]);
    const first = m.segments.loadedSegments[0];
    assertEquals(first.state, "READY");
    assertGreater(first.mainKeys + first.deltaKeys, 0);
    assertGreater(first.bloomRequests, 0);

    // Another key of the same segment: a hit, nothing more loaded.
    assertEquals(index.get(key(1)), "v1");
    m = index.metrics();
    assertEquals([m.segments.loaded, m.segmentCache.loads, m.segmentCache.hits], [1, 1, 1]);
    assertEquals(m.segments.loadedSegments.map((s) => s.id), [first.id]);

    // The last segment: two loaded, in least recently used order.
    assertEquals(index.get(key(599)), "v599");
    m = index.metrics();
    assertEquals(m.segments.loaded, 2);
    assertEquals(m.segments.loadedSegments.length, 2);
    assertEquals(m.segments.loadedSegments[0].id, first.id);
    const last = m.segments.loadedSegments[1].id;
    assert(last !== first.id);

    assertLessOrEqual(m.segments.loaded, m.segments.count);
    await index.close();

    // With a limit of 1, loading the last segment evicts the first: only the last is listed.
    const one = await SegmentIndex.open<string, string>("/db", { fs, segmentCacheLimit: 1 });
    one.get(key(0));
    one.get(key(599));
    m = one.metrics();
    assertEquals([m.segments.loaded, m.segmentCache.loads, m.segmentCache.evictions], [1, 2, 1]);
    assertEquals(m.segments.loadedSegments.map((s) => s.id), [last]);
    await one.close();
  });

  it("a get answered from the write cache loads no segment", async () => {
    const { index } = await memIndex(SMALL);
    await index.put("a", "1");
    assertEquals(index.get("a"), "1");
    assertEquals(index.get("b"), undefined);
    const m = index.metrics();
    assertEquals([m.segments.loaded, m.segmentCache.loads, m.segments.loadedSegments.length], [0, 0, 0]);
    await index.close();
  });

  it("taking two snapshots changes no counter, loads nothing and does no I/O", async () => {
    const fs = new FaultFileSystem(new MemoryFileSystem());
    {
      const { index } = await memIndex({
        ...SMALL,
        metrics: { sampleEvery: 1, clock: steppingClock().clock },
      }, fs);
      for (let i = 0; i < 300; i++) index.put(key(i), `v${i}`);
      await index.compact();
      await index.close();
    }
    const index = await SegmentIndex.open<string, string>("/db", {
      fs,
      clock: () => EPOCH,
      metrics: { sampleEvery: 1, clock: steppingClock().clock },
    });
    // Nothing loaded: snapshots must not load anything.
    fs.resetCounts();
    let a = index.metrics();
    let b = index.metrics();
    assertEquals(Object.values(fs.counts()).reduce((x, y) => x + y), 0, "file operations during metrics()");
    assertEquals(a, b);
    assertEquals([b.segments.loaded, b.segmentCache.loads], [0, 0]);

    // Loaded segments, cached chunks and buffered writes.
    for (let i = 0; i < 300; i += 11) index.get(key(i));
    await index.put("buffered", "x");
    fs.resetCounts();
    a = index.metrics();
    b = index.metrics();
    assertEquals(Object.values(fs.counts()).reduce((x, y) => x + y), 0, "file operations during metrics()");
    assertEquals(a, b);
    assertGreater(a.segmentCache.loads, 0);
    assertGreater(a.chunkCache.size, 0);
    await index.close();
  });

  it("a snapshot is deeply frozen", async () => {
    const { index } = await memIndex(SMALL);
    for (let i = 0; i < 200; i++) index.put(key(i), "v");
    await index.compact();
    index.get(key(5));
    const m = index.metrics();
    const unfrozen: string[] = [];
    const walk = (value: unknown, path: string) => {
      if (value === null || typeof value !== "object") return;
      if (!Object.isFrozen(value)) unfrozen.push(path);
      for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`);
    };
    walk(m, "snapshot");
    assertEquals(unfrozen, []);
    assertThrows(() => {
      (m.operations as { gets: number }).gets = 99;
    }, TypeError);
    await index.close();
  });

  it("after flush() no key is buffered", async () => {
    const { index } = await memIndex(SMALL);
    for (let i = 0; i < 300; i++) {
      index.put(key(i), "v");
      if (i % 20 === 19) await nextTurn();
    }
    await index.compact();
    assertGreater(index.metrics().segments.count, 2);
    // Buffered writes in several segments, some in layers frozen for an open iterator,
    // and a background flush scheduled.
    const iterator = index.range();
    for (let i = 0; i < 300; i += 13) index.put(key(i), "w");
    iterator.next();
    for (let i = 1; i < 300; i += 17) index.put(key(i), "x");
    let m = index.metrics();
    assertGreater(m.writePath.bufferedKeys, 0);
    await index.flush();
    m = index.metrics();
    assertEquals(
      [m.writePath.bufferedKeys, m.segments.bufferedKeys, m.writePath.flushingKeys],
      [0, 0, 0],
    );
    assertEquals(m.segments.loadedSegments.filter((s) => s.bufferedKeys !== 0), []);
    iterator.close();
    assertEquals(index.get(key(13)), "w");
    assertEquals(index.get(key(18)), "x");
    await index.close();
  });

  it("metrics: false counts no operations and times nothing, while the index works", async () => {
    const { index } = await memIndex({ ...SMALL, metrics: false });
    for (let i = 0; i < 200; i++) await index.put(key(i), `v${i}`);
    await index.delete(key(0));
    await index.batch([{ type: "put", key: "b", value: "1" }]);
    await index.compact();
    for (let i = 0; i < 200; i++) assertEquals(index.get(key(i)), i === 0 ? undefined : `v${i}`);
    assertEquals([...index.range({ limit: 2 })], [["b", "1"], [key(1), "v1"]]);
    await index.flush();
    const m = index.metrics();
    assertEquals({ ...m.operations }, { gets: 0, puts: 0, deletes: 0, batches: 0, ranges: 0 });
    assertEquals([m.segmentCache.hits, m.segmentCache.misses, m.segmentCache.loads], [0, 0, 0]);
    assertEquals(m.latency.sampleEvery, 0);
    assertEquals([m.latency.get.count, m.latency.write.count], [0, 0]);
    assertEquals([m.latency.get.sumSeconds, m.latency.write.sumSeconds], [0, 0]);
    assertEquals(m.latency.get.buckets.filter((b) => b.count !== 0), []);
    assertEquals(m.latency.write.buckets.filter((b) => b.count !== 0), []);
    assertEquals([m.latency.get.p50Micros, m.latency.get.p95Micros, m.latency.get.p99Micros], [0, 0, 0]);
    // Sizes, maintenance and log figures are still reported.
    assertGreater(m.segments.count, 1);
    assertGreater(m.segments.totalKeys, 0);
    assertGreater(m.maintenance.flushes, 0);
    assertGreater(m.maintenance.compactions, 0);
    assertGreater(m.maintenance.commits, 0);
    assertGreater(m.wal.appends, 0);
    assertGreater(m.segmentCache.size, 0);
    await index.close();
  });

  it("metrics: false leaves the chunk cache and Bloom filter counters at zero", async () => {
    const { index } = await memIndex({ ...SMALL, metrics: false });
    try {
      for (let i = 0; i < 200; i++) index.put(key(i), `v${i}`);
      await index.compact();
      for (let i = 0; i < 200; i++) index.get(key(i));
      for (let i = 0; i < 200; i++) index.get(key(i));
      index.get("absent");
      const m = index.metrics();
      // docs/metrics.md: "the index counts and times nothing: operation counters, cache hit counters and the
      // latency histograms stay at zero"; options.ts: "`false` records nothing (no counters, no timing)".
      const counted = Object.entries({
        "chunkCache.hits": m.chunkCache.hits,
        "chunkCache.misses": m.chunkCache.misses,
        "chunkCache.loads": m.chunkCache.loads,
        "bloomFilter.requests": m.bloomFilter.requests,
        "bloomFilter.refused": m.bloomFilter.refused,
        "bloomFilter.positives": m.bloomFilter.positives,
        "bloomFilter.falsePositives": m.bloomFilter.falsePositives,
      }).filter(([, v]) => v !== 0);
      assertEquals(counted, []);
    } finally {
      await index.close();
    }
  });

  it("latency: every sampled get in the histogram, cumulative buckets, percentiles at bucket bounds", async () => {
    const timer = steppingClock(2);
    const { index } = await memIndex({ metrics: { sampleEvery: 1, clock: timer.clock } });
    for (let i = 0; i < 100; i++) await index.put(key(i), "v");
    await index.delete(key(0));
    await index.batch([{ type: "put", key: "x", value: "y" }]);
    await index.flush();
    // 90 gets take 2 ms each, 10 take 50 ms (the clock advances one step per read).
    for (let i = 0; i < 90; i++) index.get(key(i));
    timer.step = 50;
    for (let i = 0; i < 10; i++) index.get(key(i));
    const m = index.metrics();
    assertEquals(m.operations.gets, 100);
    assertEquals(m.latency.sampleEvery, 1);
    const get = m.latency.get;
    assertEquals(get.count, 100);
    assertAlmostEquals(get.sumSeconds, 90 * 0.002 + 10 * 0.05, 1e-9);

    const bounds = [-6, -5, -4, -3, -2, -1, 0].flatMap((e) =>
      ["1", "1.8", "3.2", "5.6"].map((m) => Number(`${m}e${e}`))
    );
    bounds.push(10, Infinity);
    for (const h of [get, m.latency.write]) {
      assertEquals(h.buckets.map((b) => b.le), bounds);
      for (let i = 1; i < h.buckets.length; i++) {
        assertLessOrEqual(h.buckets[i - 1].count, h.buckets[i].count);
      }
      assertEquals(h.buckets.at(-1)!.count, h.count);
    }
    const countAt = (le: number) => get.buckets.find((b) => b.le === le)!.count;
    assertEquals([countAt(0.0018), countAt(0.0032), countAt(0.032), countAt(0.056)], [0, 90, 90, 100]);
    assertEquals([get.p50Micros, get.p95Micros, get.p99Micros], [3200, 56000, 56000]);
    for (const p of [get.p50Micros, get.p95Micros, get.p99Micros]) {
      assert(bounds.some((b) => Math.abs(b * 1e6 - p) < 1e-6), `${p} µs is not a bucket bound`);
    }
    // Every put, delete and batch call is timed once.
    assertEquals(m.latency.write.count, 100 + 1 + 1);
    await index.close();
  });

  it("latency: one operation in sampleEvery is timed", async () => {
    const { index } = await memIndex({ metrics: { sampleEvery: 4, clock: steppingClock().clock } });
    for (let i = 0; i < 10; i++) await index.put(key(i), "v");
    for (let i = 0; i < 10; i++) index.get(key(i));
    const m = index.metrics();
    assertEquals([m.latency.sampleEvery, m.latency.get.count, m.latency.write.count], [4, 2, 2]);
    assertEquals([m.operations.gets, m.operations.puts], [10, 10]);
    await index.close();
  });

  it("counters restart at zero after close and reopen, and openedAt changes", async () => {
    let now = EPOCH;
    const fs = new MemoryFileSystem();
    const { index } = await memIndex({ ...SMALL, clock: () => now }, fs);
    for (let i = 0; i < 200; i++) await index.put(key(i), `v${i}`);
    await index.compact();
    for (let i = 0; i < 200; i += 3) index.get(key(i));
    [...index.range()];
    const before = index.metrics();
    assertEquals(before.openedAt, { iso: EPOCH_ISO, epochMs: EPOCH });
    assertGreater(before.operations.gets, 0);
    assertGreater(before.maintenance.commits, 0);
    assertGreater(before.segmentCache.loads, 0);
    assertGreater(before.latency.get.count, 0);
    await index.close();

    now = EPOCH + 5_000;
    const again = await SegmentIndex.open<string, string>("/db", { fs, clock: () => now });
    now += 1_000;
    const m = again.metrics();
    assertEquals(m.openedAt, { iso: "2023-11-14T22:13:25.000Z", epochMs: EPOCH + 5_000 });
    assertEquals(m.capturedAt, { iso: "2023-11-14T22:13:26.000Z", epochMs: EPOCH + 6_000 });
    assertEquals({ ...m.operations }, { gets: 0, puts: 0, deletes: 0, batches: 0, ranges: 0 });
    const restarted = {
      segmentCache: [
        m.segmentCache.hits,
        m.segmentCache.misses,
        m.segmentCache.loads,
        m.segmentCache.evictions,
      ],
      chunkCache: [m.chunkCache.hits, m.chunkCache.misses, m.chunkCache.loads, m.chunkCache.evictions],
      maintenance: [
        m.maintenance.flushRequests,
        m.maintenance.flushes,
        m.maintenance.compactRequests,
        m.maintenance.compactions,
        m.maintenance.commits,
      ],
      split: [m.split.scheduled, m.split.completed],
      bloomFilter: [m.bloomFilter.requests, m.bloomFilter.refused, m.bloomFilter.falsePositives],
      writePath: [m.writePath.inlineFlushes, m.writePath.backpressureWaits],
      wal: [m.wal.appends, m.wal.appendedBytes],
      latency: [m.latency.get.count, m.latency.write.count],
    };
    assertEquals(restarted, {
      segmentCache: [0, 0, 0, 0],
      chunkCache: [0, 0, 0, 0],
      maintenance: [0, 0, 0, 0, 0],
      split: [0, 0],
      bloomFilter: [0, 0, 0],
      writePath: [0, 0],
      wal: [0, 0],
      latency: [0, 0],
    });
    // Gauges describe the index as it is: the data is still there.
    assertEquals(m.segments.count, before.segments.count);
    assertEquals(m.segments.totalKeys, before.segments.totalKeys);
    assertEquals(again.get(key(1)), "v1");
    assertEquals(again.metrics().operations.gets, 1);
    await again.close();
  });

  it("a maintenance task queued while the worker commits still runs (maintenance.queued returns to 0)", async () => {
    /** Holds every syncDir() while `gate` is set. */
    class GatedFileSystem extends MemoryFileSystem {
      gate: Promise<void> | undefined;
      held = 0;
      override async syncDir(dir: string): Promise<void> {
        if (this.gate) {
          this.held++;
          await this.gate;
        }
        return await super.syncDir(dir);
      }
    }
    const fs = new GatedFileSystem();
    const { index } = await memIndex({
      wal: false,
      segmentWriteCacheKeyLimit: 10,
      segmentWriteCacheKeyLimitDuringMaintenance: 100,
      indexBufferedWriteKeyLimit: 1_000,
      segmentSplitKeyThreshold: 1_000,
    }, fs);
    let release = () => {};
    try {
      fs.gate = new Promise((resolve) => (release = resolve));
      // Ten writes schedule a background flush; the worker runs it, then commits and waits in syncDir().
      for (let i = 0; i < 10; i++) index.put(`a${i}`, "v");
      for (let turns = 0; fs.held === 0; turns++) {
        assert(turns < 100, "the background flush never committed");
        await nextTurn();
      }
      // Ten more writes schedule a second flush while the worker is still committing the first.
      for (let i = 0; i < 10; i++) index.put(`b${i}`, "v");
      assertEquals(index.metrics().maintenance.queued, 1);
      fs.gate = undefined;
      release();
      let m = index.metrics();
      for (let turns = 0; turns < 100 && (m.maintenance.queued > 0 || m.maintenance.flushes < 2); turns++) {
        await nextTurn();
        m = index.metrics();
      }
      assertEquals(
        {
          queued: m.maintenance.queued,
          flushes: m.maintenance.flushes,
          bufferedKeys: m.writePath.bufferedKeys,
        },
        { queued: 0, flushes: 2, bufferedKeys: 0 },
        "the second flush stays queued with no worker to run it",
      );
    } finally {
      fs.gate = undefined;
      release();
      await index.close();
    }
  });
});
