/**
 * What the benchmark scripts share: command-line options, the runtime they
 * run on, the key format of our workload, and writing a JSON result.
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

/** Writes `result` as JSON to `path` (creating its folder) and says so. */
export function writeResult(path: string, result: unknown): void {
  mkdirSync(path.slice(0, path.lastIndexOf("/")) || ".", { recursive: true });
  writeFileSync(path, JSON.stringify(result, null, 2) + "\n");
  console.log(`Wrote ${path}`);
}
