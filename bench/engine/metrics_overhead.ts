/**
 * One round of the Stage A budget: the cost of metrics recording on get and
 * put. Loads two separate copies of the engine (so they share no JIT state):
 * copy "on" records metrics as users run it, copy "off" is opened with
 * `metrics: false`. Each opens its own copy of one index of 100,000 keys with
 * no write-ahead log, every chunk cached, then runs get of existing keys, get of missing
 * keys and put (overwrites that stay in the write cache), alternating the
 * variants in small blocks (the round says which goes first). Prints one
 * JSON line: seconds per variant and workload.
 *
 *   deno run -A --v8-flags=--expose-gc bench/engine/metrics_overhead.ts --first on|off [--keys 100000]
 *
 * The gate (tests/gates/SegmentIndexMetricsOverheadBudgetTest.ts) runs many
 * rounds, alternating `--first`, and judges the median overhead.
 *
 * @module
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { arg, keyOf } from "../_common.ts";

type EngineModule = typeof import("../../engine/mod.ts");
type Index = import("../../engine/mod.ts").SegmentIndex<string, string>;
/** One copy: its engine and its own workload loops (own call sites, own JIT feedback). */
interface Copy {
  engine: EngineModule;
  getHit(index: Index, keys: string[], from: number, to: number): void;
  getMiss(index: Index, keys: string[], from: number, to: number): void;
  put(index: Index, keys: string[], from: number, to: number, value: string): void;
}

/** The workload loops, written into each copy next to its engine. */
const WORKLOAD_SOURCE = `
import * as engine from "./engine/mod.ts";
export { engine };
export function getHit(index, keys, from, to) {
  for (let i = from; i < to; i++) if (index.get(keys[i]) === undefined) throw new Error("missing " + keys[i]);
}
export function getMiss(index, keys, from, to) {
  for (let i = from; i < to; i++) if (index.get(keys[i]) !== undefined) throw new Error("found " + keys[i]);
}
export function put(index, keys, from, to, value) {
  for (let i = from; i < to; i++) index.put(keys[i], value);
}
`;
type Variant = "on" | "off";

const KEYS = Number(arg("keys", "100000"));
const FIRST = arg("first", "on") as Variant;
const GETS = 60_000;
const PUTS = 30_000;
/** Blocks per workload; the variants alternate block by block. */
const BLOCKS = 20;
const WARMUP_PASSES = 4;
const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

/** A seeded order of indexes into the key space (xorshift32). */
function order(n: number, count: number, seed: number): Uint32Array {
  const out = new Uint32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) % n;
  }
  return out;
}

const gc = (globalThis as { gc?: (options: { type: "minor" }) => void }).gc;

/**
 * Empties the young generation when the runtime exposes `gc` (`--v8-flags=--expose-gc`): the garbage one variant
 * leaves must not be collected on the other's time. A minor collection is enough, and fast.
 */
function collect(): void {
  gc?.({ type: "minor" });
}

async function load(copyDir: string): Promise<Copy> {
  cpSync(`${ROOT}engine`, `${copyDir}/engine`, { recursive: true });
  writeFileSync(`${copyDir}/workload.js`, WORKLOAD_SOURCE);
  return await import(`file://${copyDir}/workload.js`) as Copy;
}

/** Builds the index once, with no log, and compacts it: 100,000 keys in one main table. */
async function build(engine: EngineModule, dir: string): Promise<void> {
  const index = await engine.SegmentIndex.create<string, string>(dir, { wal: false });
  const value = "v".repeat(100);
  for (let i = 0; i < KEYS; i += 10_000) {
    const ops = [];
    for (let j = i; j < Math.min(KEYS, i + 10_000); j++) {
      ops.push({ type: "put" as const, key: keyOf(2 * j), value });
    }
    await index.batch(ops);
  }
  await index.compact();
  await index.close();
}

/** Opens a copy of the built index with one engine copy: every chunk fits the cache, puts stay in the write cache. */
async function open(engine: EngineModule, dir: string, variant: Variant) {
  return await engine.SegmentIndex.open<string, string>(dir, {
    fs: new engine.NodeFileSystem(),
    metrics: variant === "on" ? {} : false,
    chunkCacheLimit: 1_000_000,
    segmentWriteCacheKeyLimit: 200_000,
    segmentWriteCacheKeyLimitDuringMaintenance: 300_000,
    indexBufferedWriteKeyLimit: 400_000,
    segmentSplitKeyThreshold: 1_000_000,
  });
}

async function main() {
  const dir = mkdtempSync(`${tmpdir()}/hestia-overhead-`);
  try {
    mkdirSync(`${dir}/on`);
    mkdirSync(`${dir}/off`);
    const copies = { on: await load(`${dir}/on`), off: await load(`${dir}/off`) };
    await build(copies.on.engine, `${dir}/data-on`);
    cpSync(`${dir}/data-on`, `${dir}/data-off`, { recursive: true });
    const indexes = {
      on: await open(copies.on.engine, `${dir}/data-on`, "on"),
      off: await open(copies.off.engine, `${dir}/data-off`, "off"),
    };
    const hits = order(KEYS, GETS, 0x9e3779b9);
    const puts = order(KEYS, PUTS, 0x85ebca6b);
    const hitKeys = Array.from(hits, (i) => keyOf(2 * i));
    const missKeys = Array.from(hits, (i) => keyOf(2 * i + 1));
    const putKeys = Array.from(puts, (i) => keyOf(2 * i));
    const value = "w".repeat(100);
    const variants: Variant[] = FIRST === "on" ? ["on", "off"] : ["off", "on"];
    const seconds: Record<Variant, Record<string, number>> = {
      on: { getHit: 0, getMiss: 0, put: 0 },
      off: { getHit: 0, getMiss: 0, put: 0 },
    };
    const workloads: [keyof typeof seconds.on, string[]][] = [["getHit", hitKeys], ["getMiss", missKeys], [
      "put",
      putKeys,
    ]];
    const run = (v: Variant, name: string, keys: string[], from: number, to: number) => {
      const copy = copies[v];
      if (name === "getHit") copy.getHit(indexes[v], keys, from, to);
      else if (name === "getMiss") copy.getMiss(indexes[v], keys, from, to);
      else copy.put(indexes[v], keys, from, to, value);
    };
    // Warm both copies up on every workload, alternating, until the compilers have settled.
    for (let pass = 0; pass < WARMUP_PASSES; pass++) {
      for (const [name, keys] of workloads) {
        for (const v of pass % 2 === 0 ? variants : [variants[1], variants[0]]) {
          run(v, name, keys, 0, keys.length / 5);
        }
      }
    }
    // The variants alternate in small blocks, so both run under the same conditions (heap, caches, clock).
    for (const [name, keys] of workloads) {
      for (let block = 0; block < BLOCKS; block++) {
        const from = Math.floor(block * keys.length / BLOCKS),
          to = Math.floor((block + 1) * keys.length / BLOCKS);
        for (const v of block % 2 === 0 ? variants : [variants[1], variants[0]]) {
          // A collection left over from the other variant must not land in this one's time.
          collect();
          const t = performance.now();
          run(v, name, keys, from, to);
          seconds[v][name] += (performance.now() - t) / 1000;
        }
      }
    }
    for (const v of variants) await indexes[v].close();
    console.log(JSON.stringify({ first: FIRST, keys: KEYS, gets: GETS, puts: PUTS, seconds }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
