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

/** A seeded permutation of 0..n-1 (xorshift32, Fisher–Yates): the order of the random gets. */
export function permutation(n: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  let s = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
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
