/**
 * The engine benchmark: the SegmentIndex on the real file system with its
 * default cache limits, on N keys of 16 bytes with 100-byte values (the
 * workload of ../shared/reference/performance.md: keys `key-` + 12 digits,
 * even numbers present, odd numbers missing; puts in ascending order, gets in
 * a seeded random order; reads after close and reopen with a warm page
 * cache). One-shot phases (bulk load, full scan) are timed once; per-operation
 * costs are measured with mitata. Runs on Deno and Node:
 *
 *   deno run -A bench/engine/engine_bench.ts [--keys 1000000] [--out bench/results/engine-deno-1m.json]
 *   node --import tsx bench/engine/engine_bench.ts --keys 1000000 --out bench/results/engine-node-1m.json
 *
 * Writes JSON (see `BenchResult`) and prints a short summary.
 *
 * @module
 */
import { measure } from "mitata";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { arg, keyOf, RUNTIME, Shuffle, writeResult } from "../_common.ts";
import { SegmentIndex, STRING } from "../../engine/mod.ts";
import { DEFAULTS } from "../../engine/options.ts";

/** One measured operation. */
export interface OpResult {
  name: string;
  /** Operations (or entries, for scans) per second. */
  opsPerSecond: number;
  /** Per-operation latency percentiles in nanoseconds, where mitata measured them. */
  p50Ns?: number;
  p99Ns?: number;
  note?: string;
}

/** What one run of this benchmark writes. */
export interface BenchResult {
  benchmark: "engine";
  runtime: string;
  runtimeVersion: string;
  date: string;
  keys: number;
  valueBytes: number;
  durability: string;
  options: Record<string, number>;
  results: OpResult[];
  /** Resident set size after the load and after the read phases, bytes. */
  rssAfterLoadBytes: number;
  rssPeakBytes: number;
  diskBytes: number;
}

const N = Number(arg("keys", "1000000"));
const OUT = arg("out", "");
const VALUE = "v".repeat(100);
const runtime = RUNTIME.name;
const runtimeVersion = RUNTIME.version;

let rssPeak = 0;
function sampleRss(): number {
  const rss = process.memoryUsage().rss;
  if (rss > rssPeak) rssPeak = rss;
  return rss;
}

function diskBytes(dir: string, fs: typeof import("node:fs")): number {
  let total = 0;
  for (const name of fs.readdirSync(dir)) total += fs.statSync(`${dir}/${name}`).size;
  return total;
}

async function main(): Promise<BenchResult> {
  const root = mkdtempSync(`${tmpdir()}/hestia-bench-`);
  const dir = `${root}/index`;
  const results: OpResult[] = [];
  try {
    let index = await SegmentIndex.create<string, string>(dir, { keyType: STRING, valueType: STRING });

    // Bulk load: batches of 10,000 in ascending key order, durable at the end.
    const started = performance.now();
    const BATCH = 10_000;
    for (let i = 0; i < N; i += BATCH) {
      const ops = [];
      for (let j = i; j < Math.min(N, i + BATCH); j++) {
        ops.push({ type: "put" as const, key: keyOf(2 * j), value: VALUE });
      }
      await index.batch(ops);
      if ((i / BATCH) % 10 === 0) sampleRss();
    }
    await index.flush();
    const loadSeconds = (performance.now() - started) / 1000;
    results.push({ name: "bulk load (batch of 10k, flush at end)", opsPerSecond: N / loadSeconds });
    await index.compact();
    const rssAfterLoadBytes = sampleRss();
    await index.close();

    // The same data through the sorted-ingest path, into a second index that is then removed.
    const loaded = await SegmentIndex.create<string, string>(`${root}/loaded`, {
      keyType: STRING,
      valueType: STRING,
    });
    const loadStarted = performance.now();
    const loader = loaded.bulkLoad();
    for (let i = 0; i < N; i++) loader.add(keyOf(2 * i), VALUE);
    await loader.commit();
    const bulkSeconds = (performance.now() - loadStarted) / 1000;
    results.push({ name: "bulk load (bulkLoad(), commit at end)", opsPerSecond: N / bulkSeconds });
    await loaded.close();
    rmSync(`${root}/loaded`, { recursive: true, force: true });

    index = await SegmentIndex.open<string, string>(dir);
    const order = new Shuffle(N, 42);
    let cursor = 0;
    const hit = await measure(() => {
      const v = index.get(keyOf(2 * order.at(cursor++ % N)));
      if (v === undefined) throw new Error("missing key");
    });
    results.push({
      name: "random get, existing key",
      opsPerSecond: 1e9 / hit.avg,
      p50Ns: hit.p50,
      p99Ns: hit.p99,
    });
    sampleRss();
    const miss = await measure(() => {
      if (index.get(keyOf(2 * order.at(cursor++ % N) + 1)) !== undefined) throw new Error("unexpected key");
    });
    results.push({
      name: "random get, missing key",
      opsPerSecond: 1e9 / miss.avg,
      p50Ns: miss.p50,
      p99Ns: miss.p99,
    });
    const range = await measure(() => {
      let n = 0;
      for (
        const _ of index.range({
          gte: keyOf(2 * (order.at(cursor++ % N) % Math.max(1, N - 1000))),
          limit: 1000,
        })
      ) n++;
      if (n === 0) throw new Error("empty range");
    });
    results.push({
      name: "range scan of 1,000 keys from a random start",
      opsPerSecond: 1000 * 1e9 / range.avg,
      p50Ns: range.p50,
      p99Ns: range.p99,
      note: "entries per second",
    });
    const scanStart = performance.now();
    let scanned = 0;
    for (const _ of index.range()) scanned++;
    if (scanned !== N) throw new Error(`scan returned ${scanned} of ${N}`);
    results.push({
      name: "full ordered scan",
      opsPerSecond: N / ((performance.now() - scanStart) / 1000),
      note: "entries per second",
    });
    sampleRss();
    let next = 0;
    const put = await measure(() => {
      index.put(keyOf(2 * order.at(next++ % N)), VALUE);
    });
    results.push({
      name: "single put, no fsync wait (overwrite)",
      opsPerSecond: 1e9 / put.avg,
      p50Ns: put.p50,
      p99Ns: put.p99,
    });
    sampleRss();

    // Gets while a compaction runs: the compaction yields every few milliseconds, and a get waits at most that long.
    for (let i = 0; i < Math.min(N, 200_000); i++) index.put(keyOf(2 * order.at((next + i) % N)), VALUE);
    await index.flush();
    const compaction = index.compact();
    let compacting = true;
    compaction.finally(() => compacting = false);
    const latencies: number[] = [];
    const duringStart = performance.now();
    while (compacting) {
      for (let i = 0; i < 200; i++) {
        const t0 = performance.now();
        index.get(keyOf(2 * order.at(cursor++ % N)));
        latencies.push(performance.now() - t0);
      }
      // Hand the event loop back like a server would between requests, and count the wait as latency.
      const t0 = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 0));
      latencies[latencies.length - 1] += performance.now() - t0;
    }
    await compaction;
    latencies.sort((a, b) => a - b);
    const pct = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 1e6;
    results.push({
      name: "random get while a compaction runs",
      opsPerSecond: latencies.length / ((performance.now() - duringStart) / 1000),
      p50Ns: pct(0.5),
      p99Ns: pct(0.99),
      note: `${latencies.length} gets during the compaction; latency includes waiting for the event loop`,
    });
    await index.close();
    return {
      benchmark: "engine",
      runtime,
      runtimeVersion,
      date: new Date().toISOString(),
      keys: N,
      valueBytes: VALUE.length,
      durability: "write-ahead log, group commit (the default): each bulk-load batch awaits its fsync; " +
        "single puts are not awaited",
      options: {
        segmentCacheLimit: DEFAULTS.segmentCacheLimit,
        chunkCacheLimit: DEFAULTS.chunkCacheLimit,
        segmentWriteCacheKeyLimit: DEFAULTS.segmentWriteCacheKeyLimit,
        indexBufferedWriteKeyLimit: DEFAULTS.indexBufferedWriteKeyLimit,
        segmentSplitKeyThreshold: DEFAULTS.segmentSplitKeyThreshold,
      },
      results,
      rssAfterLoadBytes,
      rssPeakBytes: rssPeak,
      diskBytes: diskBytes(dir, await import("node:fs")),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const result = await main();
for (const r of result.results) {
  console.log(`${r.name.padEnd(48)} ${Math.round(r.opsPerSecond).toLocaleString("en-US").padStart(12)} /s`);
}
console.log(
  `RSS after load ${(result.rssAfterLoadBytes / 2 ** 20).toFixed(0)} MiB, peak ${
    (result.rssPeakBytes / 2 ** 20).toFixed(0)
  } MiB`,
);
if (OUT) writeResult(OUT, result);
