/**
 * Stage A gate `IntegrationSegmentIndexMetricsSnapshotConcurrencyTest`:
 * metrics snapshots taken in a loop while concurrent async clients read and
 * write an index on the real file system, and flush, compaction and split
 * run underneath them.
 *
 * Eight clients each run 500 mixed gets, puts, deletes and small batches
 * over a shared key space (seeded, so a run is reproducible up to the
 * interleaving the event loop picks). A snapshot task takes a snapshot on
 * every turn of the event loop and checks that it is deeply frozen, that
 * the index is READY, that no counter went below the previous snapshot's
 * value, that the operation counts equal exactly what the clients had
 * issued at that moment, and the gauges' documented relations. A driver
 * keeps calling `flush()` and `compact()` (one maintenance cycle each)
 * until at least 20 snapshots landed while maintenance was queued or
 * running and, once the clients are done, it has written at least one
 * burst of its own that passes the index-wide write-cache limit in one
 * turn (so an inline flush runs however the clients interleaved); it
 * fails if 20 such snapshots have not happened after 50 cycles. At the end
 * the operation counts are exact and the data equals the model, before
 * and after a reopen.
 *
 * @module
 */
import {
  assert,
  assertEquals,
  assertGreater,
  assertGreaterOrEqual,
  assertLessOrEqual,
  fail,
} from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { NodeFileSystem, SegmentIndex } from "../../engine/mod.ts";
import type { MetricsSnapshot } from "../../engine/metrics.ts";
import { prng } from "../_prng.ts";

/** Small limits, so that maintenance runs all the time under a few thousand writes. */
const LIMITS = {
  segmentWriteCacheKeyLimit: 50,
  segmentWriteCacheKeyLimitDuringMaintenance: 80,
  indexBufferedWriteKeyLimit: 400,
  segmentSplitKeyThreshold: 300,
  deltaFileLimit: 3,
  chunkKeyLimit: 8,
};
const CLIENTS = 8;
const OPS_PER_CLIENT = 500;
const KEY_SPACE = 1500;
const SEED = 0x5eed_a11;
const WANTED_DURING_MAINTENANCE = 20;
const MAX_CYCLES = 50;

function key(i: number): string {
  return `key-${String(i).padStart(5, "0")}`;
}

function sorted(map: Map<string, string>): [string, string][] {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** The first path below `value` (itself included) that is an object or array not frozen, if any. */
function firstUnfrozen(value: unknown, path = "snapshot"): string | undefined {
  if (value === null || typeof value !== "object") return undefined;
  if (!Object.isFrozen(value)) return path;
  for (const [k, child] of Object.entries(value)) {
    const found = firstUnfrozen(child, Array.isArray(value) ? `${path}[${k}]` : `${path}.${k}`);
    if (found) return found;
  }
  return undefined;
}

/**
 * Every counter of the snapshot (documented as never going down while the
 * index is open), plus the log sequence numbers, which never go down
 * either, by name.
 */
function counters(m: MetricsSnapshot): Map<string, number> {
  const out = new Map<string, number>();
  const add = (group: string, values: object, names: readonly string[]) => {
    for (const name of names) out.set(`${group}.${name}`, (values as Record<string, number>)[name]);
  };
  add("operations", m.operations, ["gets", "puts", "deletes", "batches", "ranges"]);
  add("segmentCache", m.segmentCache, ["hits", "misses", "loads", "evictions"]);
  add("chunkCache", m.chunkCache, ["hits", "misses", "loads", "evictions"]);
  add("maintenance", m.maintenance, [
    "flushRequests",
    "flushes",
    "compactRequests",
    "compactions",
    "commits",
    "failures",
  ]);
  add("writePath", m.writePath, ["inlineFlushes", "backpressureWaits"]);
  add("split", m.split, ["scheduled", "completed"]);
  add("bloomFilter", m.bloomFilter, ["requests", "refused", "positives", "falsePositives"]);
  add("wal", m.wal, [
    "appends",
    "appendedBytes",
    "syncs",
    "syncFailures",
    "corruptions",
    "truncations",
    "syncSecondsTotal",
    "batchBytesTotal",
    "durableLsn",
    "checkpointLsn",
    "appliedLsn",
  ]);
  for (const kind of ["get", "write"] as const) {
    const h = m.latency[kind];
    out.set(`latency.${kind}.count`, h.count);
    out.set(`latency.${kind}.sumSeconds`, h.sumSeconds);
    for (const b of h.buckets) out.set(`latency.${kind}.buckets[le=${b.le}].count`, b.count);
  }
  return out;
}

/** The documented relations between fields of one snapshot. */
function checkRelations(m: MetricsSnapshot): void {
  const s = m.segments;
  assertEquals(s.loaded, s.loadedSegments.length, "segments.loaded");
  assertEquals(s.loaded, m.segmentCache.size, "segments.loaded = segmentCache.size");
  assertEquals(s.loaded + s.unloaded, s.count, "loaded + unloaded");
  assertEquals(s.ready + s.maintenance, s.count, "ready + maintenance");
  assertLessOrEqual(s.maintenance, 1, "one maintenance task at a time");
  assertEquals(s.error, 0);
  assertLessOrEqual(m.segmentCache.size, m.segmentCache.limit);
  assertLessOrEqual(m.chunkCache.size, m.chunkCache.limit);
  assertEquals(m.segmentCache.loads, m.segmentCache.misses);
  assertEquals(m.chunkCache.loads, m.chunkCache.misses);
  assertEquals(s.bufferedKeys, m.writePath.bufferedKeys);
  assertLessOrEqual(m.writePath.flushingKeys, m.writePath.bufferedKeys);
  assertEquals(m.maintenance.inFlight, s.maintenance);
  assertLessOrEqual(m.split.inFlight, m.maintenance.inFlight);
  assertLessOrEqual(m.split.completed, m.split.scheduled);
  assertLessOrEqual(m.maintenance.failures, 0);
  const ids = new Set(s.loadedSegments.map((seg) => seg.id));
  assertEquals(ids.size, s.loadedSegments.length, "loaded segment ids are distinct");
  let loadedBuffered = 0;
  for (const seg of s.loadedSegments) loadedBuffered += seg.bufferedKeys;
  assertLessOrEqual(loadedBuffered, s.bufferedKeys);
  const b = m.bloomFilter;
  assertEquals(b.positives, b.requests - b.refused);
  assertLessOrEqual(b.falsePositives, b.positives);
  const w = m.wal;
  assertEquals(w.enabled, true);
  assertLessOrEqual(w.durableLsn, w.appliedLsn);
  assertLessOrEqual(w.checkpointLsn, w.appliedLsn);
  assertEquals(w.checkpointLagLsn, w.appliedLsn - w.checkpointLsn);
  for (const h of [m.latency.get, m.latency.write]) {
    for (let i = 1; i < h.buckets.length; i++) {
      assertLessOrEqual(h.buckets[i - 1].count, h.buckets[i].count, "buckets are cumulative");
    }
    assertEquals(h.buckets.at(-1)!.le, Infinity);
    assertEquals(h.buckets.at(-1)!.count, h.count);
  }
}

/** Whether maintenance was queued or running when the snapshot was taken. */
function maintenanceInFlight(m: MetricsSnapshot): boolean {
  return m.maintenance.inFlight > 0 || m.maintenance.queued > 0 || m.segments.maintenance > 0 ||
    m.segments.loadedSegments.some((seg) => seg.state !== "READY");
}

interface Issued {
  gets: number;
  puts: number;
  deletes: number;
  batches: number;
  ranges: number;
}

describe("IntegrationSegmentIndexMetricsSnapshotConcurrencyTest", () => {
  it(
    `${CLIENTS} clients × ${OPS_PER_CLIENT} ops on the real file system while flush, compaction, split and a snapshot loop run`,
    async () => {
      const dir = mkdtempSync(`${tmpdir()}/hestia-metrics-concurrency-`);
      try {
        const path = `${dir}/db`;
        const index = await SegmentIndex.create<string, string>(path, {
          fs: new NodeFileSystem(),
          ...LIMITS,
        });
        const model = new Map<string, string>();
        const issued: Issued = { gets: 0, puts: 0, deletes: 0, batches: 0, ranges: 0 };
        let clientsDone = false;
        let stop = false;

        const client = async (c: number) => {
          const rnd = prng(SEED + c);
          for (let i = 0; i < OPS_PER_CLIENT && !stop; i++) {
            const k = key(Math.floor(rnd() * KEY_SPACE));
            const r = rnd();
            // Operations of different clients interleave only at awaits: the model is updated
            // when the engine operation is called, which is when it applies.
            if (r < 0.42) {
              issued.gets++;
              assertEquals(index.get(k), model.get(k), `client ${c} op ${i}: get(${k})`);
            } else if (r < 0.45) {
              // An iterator reads the snapshot of its creation, though it is drained across awaits.
              issued.ranges++;
              const expected = sorted(model).filter(([mk]) => mk >= k).slice(0, 10);
              const iterator = index.range({ gte: k, limit: 10 });
              const seen: [string, string][] = [];
              for (const entry of iterator) {
                seen.push(entry);
                if (seen.length % 4 === 0) await nextTurn();
              }
              assertEquals(seen, expected, `client ${c} op ${i}: range({ gte: ${k} })`);
            } else if (r < 0.82) {
              const v = `c${c}-${i}`;
              issued.puts++;
              model.set(k, v);
              await index.put(k, v);
            } else if (r < 0.95) {
              issued.deletes++;
              model.delete(k);
              await index.delete(k);
            } else {
              const k2 = key(Math.floor(rnd() * KEY_SPACE));
              const v = `b${c}-${i}`;
              issued.batches++;
              issued.puts++;
              issued.deletes++;
              model.set(k, v);
              model.delete(k2);
              await index.batch([{ type: "put", key: k, value: v }, { type: "delete", key: k2 }]);
            }
            if (rnd() < 0.1) await nextTurn();
          }
        };

        let snapshots = 0;
        let duringMaintenance = 0;
        let whileRunning = 0;
        const snapshotter = async () => {
          let previous: Map<string, number> | undefined;
          let openedAt: number | undefined;
          while (!stop) {
            const m = index.metrics();
            snapshots++;
            const unfrozen = firstUnfrozen(m);
            if (unfrozen !== undefined) fail(`snapshot ${snapshots}: ${unfrozen} is not frozen`);
            assertEquals(m.state, "READY", `snapshot ${snapshots}: state`);
            openedAt ??= m.openedAt.epochMs;
            assertEquals(m.openedAt.epochMs, openedAt, "openedAt stays while the index is open");
            // Operations apply synchronously, so the counts are exact at every moment.
            assertEquals({ ...m.operations }, { ...issued }, `snapshot ${snapshots}: operations`);
            checkRelations(m);
            const now = counters(m);
            if (previous) {
              for (const [name, value] of now) {
                const before = previous.get(name)!;
                assert(
                  value >= before,
                  `snapshot ${snapshots}: counter ${name} went down (${before} → ${value})`,
                );
              }
            }
            previous = now;
            if (maintenanceInFlight(m)) duringMaintenance++;
            if (m.maintenance.inFlight > 0) whileRunning++;
            await nextTurn();
          }
        };

        let cycles = 0;
        let driverPuts = 0;
        let bursts = 0;
        const driver = async () => {
          const rnd = prng(SEED - 1);
          while (!stop && (!clientsDone || bursts === 0 || duringMaintenance < WANTED_DURING_MAINTENANCE)) {
            if (cycles >= MAX_CYCLES && duringMaintenance < WANTED_DURING_MAINTENANCE) {
              fail(
                `only ${duringMaintenance} of ${snapshots} snapshots landed during maintenance ` +
                  `after ${cycles} maintenance cycles (wanted ${WANTED_DURING_MAINTENANCE})`,
              );
            }
            if (clientsDone) {
              // Without the clients' load, a cycle writes a burst of distinct keys in one turn itself:
              // it gives the cycle something to flush, and reaching the index-wide limit before
              // maintenance can run makes an inline flush certain, whatever the interleaving was.
              const writes: Promise<void>[] = [];
              const start = Math.floor(rnd() * KEY_SPACE);
              bursts++;
              for (let j = 0; j < LIMITS.indexBufferedWriteKeyLimit; j++) {
                const k = key((start + j) % KEY_SPACE);
                const v = `d${cycles}-${j}`;
                issued.puts++;
                driverPuts++;
                model.set(k, v);
                writes.push(index.put(k, v));
              }
              await nextTurn();
              await Promise.all(writes);
            }
            await index.flush();
            await index.compact();
            cycles++;
            await nextTurn();
          }
        };

        // The first failure of any task; the others stop at their next turn.
        let failure: { error: unknown } | undefined;
        const guarded = (task: Promise<void>) =>
          task.catch((error) => {
            failure ??= { error };
            stop = clientsDone = true;
          });
        const started = performance.now();
        const watched = guarded(snapshotter());
        const maintained = guarded(driver());
        await guarded(Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c))).then(() => {}));
        clientsDone = true;
        await maintained;
        stop = true;
        await watched;
        if (failure) {
          await index.close().catch(() => {});
          throw failure.error;
        }

        await index.flush();
        const m = index.metrics();
        assertEquals([m.writePath.bufferedKeys, m.segments.bufferedKeys], [0, 0], "buffered after flush()");
        assertEquals(
          issued.gets + issued.ranges + issued.puts - driverPuts + issued.deletes - issued.batches,
          CLIENTS * OPS_PER_CLIENT,
        );
        assertEquals({ ...m.operations }, { ...issued }, "final operation counts");
        assertEquals(m.state, "READY");
        assertGreaterOrEqual(duringMaintenance, WANTED_DURING_MAINTENANCE);
        assertGreaterOrEqual(cycles, 1);
        // The limits are small enough that every kind of maintenance ran.
        assertGreater(m.maintenance.flushes, 0);
        assertGreater(m.maintenance.compactions, 0);
        assertGreater(m.split.completed, 0);
        assertGreater(m.segments.count, 1);
        assertGreater(m.writePath.inlineFlushes, 0);
        assertEquals(m.wal.appends, issued.puts + issued.deletes - issued.batches);

        const expected = sorted(model);
        assertEquals([...index.range()], expected);
        for (let i = 0; i < KEY_SPACE; i++) assertEquals(index.get(key(i)), model.get(key(i)), key(i));
        await index.close();

        const again = await SegmentIndex.open<string, string>(path, {
          deltaFileLimit: LIMITS.deltaFileLimit,
        });
        assertEquals([...again.range()], expected);
        await again.close();

        console.log(
          `metrics concurrency: ${snapshots} snapshots, ${duringMaintenance} during maintenance ` +
            `(${whileRunning} with a task running), ${cycles} maintenance cycles (${driverPuts} driver puts), ` +
            `${m.maintenance.flushes} flushes, ${m.maintenance.compactions} compactions, ` +
            `${m.split.completed} splits, ${m.writePath.inlineFlushes} inline flushes, ${m.segments.count} segments, ` +
            `${Math.round(performance.now() - started)} ms`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
