/**
 * One round of the Stage A budget: the cost of metrics recording on get and
 * put. Loads two separate copies of the engine (so they share no JIT state):
 * copy "on" records metrics as users run it, copy "off" is opened with
 * `metrics: false`. Each builds an index of 100,000 keys with no write-ahead
 * log, every chunk cached, then runs get of existing keys, get of missing
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
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";

type EngineModule = typeof import("../../engine/mod.ts");
type Variant = "on" | "off";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const KEYS = Number(arg("keys", "100000"));
const FIRST = arg("first", "on") as Variant;
const GETS = 100_000;
const PUTS = 40_000;
/** Blocks per workload; the variants alternate block by block. */
const BLOCKS = 40;
const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

function keyOf(i: number): string {
  return "key-" + String(i).padStart(12, "0");
}

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

const gc = (globalThis as { gc?: () => void }).gc;

/** Runs a full garbage collection when the runtime exposes one (`--v8-flags=--expose-gc`). */
function collect(): void {
  gc?.();
}

async function load(copyDir: string): Promise<EngineModule> {
  cpSync(`${ROOT}engine`, `${copyDir}/engine`, { recursive: true });
  return await import(`file://${copyDir}/engine/mod.ts`) as EngineModule;
}

async function setUp(engine: EngineModule, variant: Variant) {
  const index = await engine.SegmentIndex.create<string, string>("/db", {
    fs: new engine.MemoryFileSystem(),
    wal: false,
    metrics: variant === "on" ? {} : false,
    chunkCacheLimit: 1_000_000,
    segmentWriteCacheKeyLimit: 200_000,
    segmentWriteCacheKeyLimitDuringMaintenance: 300_000,
    indexBufferedWriteKeyLimit: 400_000,
    segmentSplitKeyThreshold: 1_000_000,
  });
  const value = "v".repeat(100);
  for (let i = 0; i < KEYS; i += 10_000) {
    const ops = [];
    for (let j = i; j < Math.min(KEYS, i + 10_000); j++) {
      ops.push({ type: "put" as const, key: keyOf(2 * j), value });
    }
    await index.batch(ops);
  }
  await index.compact();
  return index;
}

async function main() {
  const dir = mkdtempSync(`${tmpdir()}/hestia-overhead-`);
  try {
    mkdirSync(`${dir}/on`);
    mkdirSync(`${dir}/off`);
    const engines = { on: await load(`${dir}/on`), off: await load(`${dir}/off`) };
    const indexes = { on: await setUp(engines.on, "on"), off: await setUp(engines.off, "off") };
    const hits = order(KEYS, GETS, 0x9e3779b9);
    const puts = order(KEYS, PUTS, 0x85ebca6b);
    const hitKeys = Array.from(hits, (i) => keyOf(2 * i));
    const missKeys = Array.from(hits, (i) => keyOf(2 * i + 1));
    const putKeys = Array.from(puts, (i) => keyOf(2 * i));
    const value = "w".repeat(100);
    const variants: Variant[] = FIRST === "on" ? ["on", "off"] : ["off", "on"];
    // Warm both copies up before anything is timed.
    for (const v of variants) for (let i = 0; i < 20_000; i++) indexes[v].get(hitKeys[i]);
    const seconds: Record<Variant, Record<string, number>> = {
      on: { getHit: 0, getMiss: 0, put: 0 },
      off: { getHit: 0, getMiss: 0, put: 0 },
    };
    // The variants alternate in small blocks, so both run under the same conditions (heap, caches, clock).
    const workloads: [string, string[], (index: typeof indexes.on, key: string) => void][] = [
      ["getHit", hitKeys, (index, k) => {
        if (index.get(k) === undefined) throw new Error(`missing ${k}`);
      }],
      ["getMiss", missKeys, (index, k) => {
        if (index.get(k) !== undefined) throw new Error(`found ${k}`);
      }],
      ["put", putKeys, (index, k) => void index.put(k, value)],
    ];
    for (const [name, keys, op] of workloads) {
      for (let block = 0; block < BLOCKS; block++) {
        const from = Math.floor(block * keys.length / BLOCKS),
          to = Math.floor((block + 1) * keys.length / BLOCKS);
        const pair = block % 2 === 0 ? variants : [variants[1], variants[0]];
        for (const v of pair) {
          const index = indexes[v];
          // A collection left over from the other variant must not land in this one's time.
          collect();
          const t = performance.now();
          for (let i = from; i < to; i++) op(index, keys[i]);
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
