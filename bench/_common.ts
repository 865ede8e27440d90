/**
 * What the benchmark scripts share: command-line options, the runtime they
 * run on, the key format and read order of our workload, the median of
 * repeated runs, and writing a JSON result.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import process from "node:process";

/** The value of `--name value` on the command line, or `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** `deno` or `node`, and its version. */
export const RUNTIME: { name: string; version: string } = "Deno" in globalThis
  ? {
    name: "deno",
    version: (globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno,
  }
  : { name: "node", version: process.versions.node };

/** Key number `i` of the workload: `key-` and 12 digits, 16 bytes. */
export function keyOf(i: number): string {
  return "key-" + String(i).padStart(12, "0");
}

/**
 * A seeded random order of 0..n-1, computed position by position: the order
 * of the random gets. A Feistel network over the smallest even power of two
 * at or above `n`, walking cycles to stay below `n`, so it is a bijection and
 * holds no array of `n` entries (at 10,000,000 keys an array was 38 MiB of the
 * harness's own memory inside every engine's resident-memory figure). Up to
 * 2^30 positions.
 */
export class Shuffle {
  readonly size: number;
  readonly #bits: number;
  readonly #mask: number;
  readonly #k0: number;
  readonly #k1: number;
  readonly #k2: number;
  readonly #k3: number;

  constructor(n: number, seed: number) {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 30) throw new RangeError(`Cannot shuffle ${n} positions`);
    this.size = n;
    this.#bits = Math.max(1, Math.ceil(Math.log2(n) / 2));
    this.#mask = (1 << this.#bits) - 1;
    const keys: number[] = [];
    let s = seed >>> 0 || 1;
    for (let r = 0; r < 4; r++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      keys.push(s >>> 0);
    }
    [this.#k0, this.#k1, this.#k2, this.#k3] = keys;
  }

  /**
   * The position that comes `i`-th.
   * @throws {RangeError} Unless `0 <= i < size` (outside it the walk may not end).
   */
  at(i: number): number {
    if (!(i >= 0 && i < this.size)) throw new RangeError(`Position ${i} is outside 0..${this.size - 1}`);
    const bits = this.#bits, mask = this.#mask;
    let x = i;
    // Four rounds, unrolled: this runs once per operation inside the timed loops.
    do {
      let left = x >>> bits, right = x & mask, next: number;
      next = (left ^ round(right ^ this.#k0)) & mask;
      left = right;
      right = next;
      next = (left ^ round(right ^ this.#k1)) & mask;
      left = right;
      right = next;
      next = (left ^ round(right ^ this.#k2)) & mask;
      left = right;
      right = next;
      next = (left ^ round(right ^ this.#k3)) & mask;
      x = (right << bits) | next;
    } while (x >= this.size);
    return x;
  }
}

/** The Feistel round function: a multiply-xorshift hash of 32 bits. */
function round(x: number): number {
  const h = Math.imul(x, 0x9e3779b1);
  return h ^ (h >>> 15);
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Writes `result` as JSON to `path` (creating its folder) and says so. */
export function writeResult(path: string, result: unknown): void {
  mkdirSync(path.slice(0, path.lastIndexOf("/")) || ".", { recursive: true });
  writeFileSync(path, JSON.stringify(result, null, 2) + "\n");
  console.log(`Wrote ${path}`);
}
