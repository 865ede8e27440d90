/**
 * Write-ahead log benchmark: put throughput of the index with durability
 * `none`, `group` (1, 8 and 64 concurrent writers, each awaiting its puts)
 * and `sync`, side by side in one run on the real file system, with the
 * fsyncs each write cost; and raw `writeSync` + `fdatasync` loops of the same
 * record size on the same disk (blocking, and asynchronous as the log's) as
 * the physical reference.
 *
 *   deno run -A bench/engine/wal_bench.ts [--seconds 3] [--out bench/results/wal-deno.json]
 *   node --import tsx bench/engine/wal_bench.ts --out bench/results/wal-node.json
 *
 * @module
 */
import { closeSync, fdatasync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { arg, keyOf, RUNTIME, writeResult } from "../_common.ts";
import { type Durability, SegmentIndex, STRING } from "../../engine/mod.ts";

/** One measured configuration. */
export interface WalResult {
  name: string;
  durability: Durability | "raw";
  writers: number;
  putsPerSecond: number;
  fsyncsPerWrite: number;
}

export interface WalBenchResult {
  benchmark: "wal";
  runtime: string;
  runtimeVersion: string;
  date: string;
  secondsPerCase: number;
  valueBytes: number;
  results: WalResult[];
}

const SECONDS = Number(arg("seconds", "3"));
const OUT = arg("out", "");
const VALUE = "v".repeat(100);
const runtime = RUNTIME.name;
const runtimeVersion = RUNTIME.version;

async function indexCase(root: string, durability: Durability, writers: number): Promise<WalResult> {
  const dir = `${root}/${durability}-${writers}`;
  const index = await SegmentIndex.create<string, string>(dir, {
    keyType: STRING,
    valueType: STRING,
    durability,
  });
  let next = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const writer = async () => {
    while (performance.now() < deadline) await index.put(keyOf(next++), VALUE);
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: writers }, writer));
  const seconds = (performance.now() - started) / 1000;
  const wal = index.metrics().wal;
  await index.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    name: `put, durability ${durability}, ${writers} writer${writers > 1 ? "s" : ""}`,
    durability,
    writers,
    putsPerSecond: next / seconds,
    fsyncsPerWrite: wal.syncs / Math.max(1, wal.appends),
  };
}

/**
 * The physical references: append a record of the same size and fdatasync it, in a loop — blocking, and through
 * the thread pool as the log does, so the event loop stays free.
 */
async function rawCase(root: string, blocking: boolean): Promise<WalResult> {
  const path = `${root}/raw.log`;
  const fd = openSync(path, "w");
  const record = new Uint8Array(8 + 8 + 1 + 1 + 1 + 16 + 1 + 100);
  let n = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  while (performance.now() < deadline) {
    writeSync(fd, record);
    if (blocking) fdatasyncSync(fd);
    else await new Promise<void>((resolve, reject) => fdatasync(fd, (e) => e ? reject(e) : resolve()));
    n++;
  }
  const seconds = (performance.now() - started) / 1000;
  closeSync(fd);
  rmSync(path);
  return {
    name: `raw write + ${blocking ? "fdatasyncSync" : "async fdatasync"} loop`,
    durability: "raw",
    writers: 1,
    putsPerSecond: n / seconds,
    fsyncsPerWrite: 1,
  };
}

const root = mkdtempSync(`${tmpdir()}/hestia-wal-bench-`);
const results: WalResult[] = [];
try {
  results.push(await rawCase(root, true));
  results.push(await rawCase(root, false));
  results.push(await indexCase(root, "sync", 1));
  for (const writers of [1, 8, 64]) results.push(await indexCase(root, "group", writers));
  results.push(await indexCase(root, "none", 1));
} finally {
  rmSync(root, { recursive: true, force: true });
}
for (const r of results) {
  console.log(
    `${r.name.padEnd(36)} ${Math.round(r.putsPerSecond).toLocaleString("en-US").padStart(10)} puts/s  ` +
      `${r.fsyncsPerWrite.toFixed(3)} fsyncs/write`,
  );
}
const output: WalBenchResult = {
  benchmark: "wal",
  runtime,
  runtimeVersion,
  date: new Date().toISOString(),
  secondsPerCase: SECONDS,
  valueBytes: VALUE.length,
  results,
};
if (OUT) writeResult(OUT, output);
