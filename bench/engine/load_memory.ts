/**
 * Memory of a bulk load: loads N keys (16-byte keys, 100-byte values, batches
 * of 10,000 awaited one after another) into a fresh index on disk, then
 * flushes and compacts, sampling resident memory, the V8 heap and
 * ArrayBuffers every 250 ms. Prints each new resident peak with the index's
 * segments, delta files and buffered keys at that moment, then a summary;
 * `--out FILE` writes it as JSON.
 *
 *   node --import tsx bench/engine/load_memory.ts --keys 5000000
 *   node --max-old-space-size=384 --import tsx bench/engine/load_memory.ts --keys 5000000
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { SegmentIndex } from "../../engine/mod.ts";
import { arg, keyOf, RUNTIME, writeResult } from "../_common.ts";

const keys = Number(arg("keys", "1000000"));
const out = arg("out", "");
const MiB = 2 ** 20;
const root = mkdtempSync(`${tmpdir()}/hestia-load-memory-`);
const index = await SegmentIndex.create<string, string>(`${root}/index`);
const value = "v".repeat(100);
const peak = { rssMiB: 0, heapUsedMiB: 0, arrayBuffersMiB: 0, maxDeltaFiles: 0 };

const sampler = setInterval(() => {
  const m = process.memoryUsage();
  const s = index.metrics();
  peak.maxDeltaFiles = Math.max(peak.maxDeltaFiles, s.segments.deltaFiles);
  peak.heapUsedMiB = Math.max(peak.heapUsedMiB, Math.round(m.heapUsed / MiB));
  peak.arrayBuffersMiB = Math.max(peak.arrayBuffersMiB, Math.round(m.arrayBuffers / MiB));
  if (m.rss / MiB > peak.rssMiB + 16) {
    peak.rssMiB = Math.round(m.rss / MiB);
    console.log(
      `rss ${peak.rssMiB} MiB, heap ${Math.round(m.heapUsed / MiB)} MiB, ` +
        `arrayBuffers ${Math.round(m.arrayBuffers / MiB)} MiB; puts ${s.operations.puts}, ` +
        `segments ${s.segments.count}, delta files ${s.segments.deltaFiles}, buffered ${s.writePath.bufferedKeys}`,
    );
  }
}, 250);

const started = performance.now();
for (let i = 0; i < keys; i += 10_000) {
  const ops = [];
  for (let j = i; j < Math.min(keys, i + 10_000); j++) {
    ops.push({ type: "put" as const, key: keyOf(j), value });
  }
  await index.batch(ops);
}
await index.flush();
await index.compact();
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
const final = index.metrics();
await index.close();
rmSync(root, { recursive: true, force: true });

const result = {
  runtime: RUNTIME,
  keys,
  seconds: Math.round(seconds * 10) / 10,
  segments: final.segments.count,
  peak,
  backpressureWaits: final.writePath.backpressureWaits,
};
console.log(JSON.stringify(result));
if (out) writeResult(out, result);
