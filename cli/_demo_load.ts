/**
 * `--demo-load`: a steady, realistic workload on the served indexes, so a
 * new user sees live numbers in the console and on `/metrics` without
 * writing a client. Every 100 ms it runs 50 operations (500/s): 70 % point
 * reads, 22 % writes, 3 % deletes and 5 % range scans of up to 50 keys,
 * over 10,000 keys drawn from a Zipf distribution (s = 1), so a few keys are
 * hot (the hottest about 10 % of draws), reads hit the caches unevenly and
 * misses reach the Bloom filters. Writes go through the write-ahead log like
 * any client's; a tick that is still waiting for them skips the next one, so
 * a slow disk lowers the rate instead of piling up work.
 *
 * @module
 */
import type { SegmentIndex } from "../engine/mod.ts";

/** A running workload. */
export interface DemoLoad {
  /** One line saying what it does, for the start-up summary. */
  readonly description: string;
  /** Stops issuing operations; resolves once the last tick's writes settled. */
  stop(): Promise<void>;
}

const KEYS = 10_000;
const TICK_MS = 100;
const OPS_PER_TICK = 50;
const MAX_SCAN = 50;
// Cumulative shares of the operation mix.
const GET_BELOW = 0.70;
const PUT_BELOW = 0.92;
const DELETE_BELOW = 0.95;
// Coprime with KEYS: maps ranks to ids so hot keys are spread over the key space (and segments), not adjacent.
const RANK_STRIDE = 7_919;

/**
 * Starts the workload on every index of `indexes` (string keys and values,
 * the default). An index that refuses an operation (another value type, or
 * closed) is dropped from the workload with one line on stderr.
 */
export function startDemoLoad(indexes: ReadonlyMap<string, SegmentIndex>): DemoLoad {
  const cdf = zipfCdf(KEYS);
  const targets = new Map(indexes);
  let sequence = 0;
  let tick: Promise<void> | undefined;

  const drop = (name: string, error: unknown) => {
    if (!targets.delete(name)) return;
    console.error(`Demo load stops on index '${name}': ${error instanceof Error ? error.message : error}`);
  };
  const key = () => `user:${String(rankToId(sample(cdf, Math.random()))).padStart(5, "0")}`;

  function runTick(): Promise<void> {
    const writes: Promise<void>[] = [];
    for (let i = 0; i < OPS_PER_TICK && targets.size > 0; i++) {
      const names = [...targets.keys()];
      const name = names[Math.floor(Math.random() * names.length)];
      const index = targets.get(name)!;
      const draw = Math.random();
      try {
        if (draw < GET_BELOW) {
          index.get(key());
        } else if (draw < PUT_BELOW) {
          const value = JSON.stringify({ seq: ++sequence, at: new Date().toISOString() });
          writes.push(index.put(key(), value).catch((error) => drop(name, error)));
        } else if (draw < DELETE_BELOW) {
          writes.push(index.delete(key()).catch((error) => drop(name, error)));
        } else {
          const limit = 1 + Math.floor(Math.random() * MAX_SCAN);
          for (const _entry of index.range({ gte: key(), limit })) {
            // Reading the entries is the workload.
          }
        }
      } catch (error) {
        drop(name, error);
      }
    }
    return Promise.all(writes).then(() => undefined);
  }

  const timer = setInterval(() => {
    tick ??= runTick().finally(() => tick = undefined);
  }, TICK_MS);

  return {
    description:
      `${OPS_PER_TICK * 1000 / TICK_MS} ops/s (70% reads, 22% writes, 3% deletes, 5% range scans) ` +
      `over ${KEYS.toLocaleString("en-US")} Zipf-distributed keys on ${[...indexes.keys()].join(", ")}`,
    async stop() {
      clearInterval(timer);
      await tick;
    },
  };
}

/** Cumulative probabilities of ranks 0..n-1 under Zipf's law with exponent 1. */
function zipfCdf(n: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let rank = 0; rank < n; rank++) cdf[rank] = sum += 1 / (rank + 1);
  for (let rank = 0; rank < n; rank++) cdf[rank] /= sum;
  return cdf;
}

/** The first rank whose cumulative probability exceeds `u`, by binary search. */
function sample(cdf: Float64Array, u: number): number {
  let low = 0;
  let high = cdf.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (cdf[middle] > u) high = middle;
    else low = middle + 1;
  }
  return low;
}

function rankToId(rank: number): number {
  return (rank * RANK_STRIDE) % KEYS;
}
