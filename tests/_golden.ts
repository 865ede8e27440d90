/**
 * Golden-file comparison for byte and text formats, on Deno and Node alike.
 * Run the tests with `HESTIA_UPDATE_GOLDEN=1` to rewrite the files from the
 * current output instead of comparing; review the diff before committing.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { AssertionError } from "@std/assert";

const UPDATE = process.env.HESTIA_UPDATE_GOLDEN === "1";

/**
 * Fails unless `actual` equals the golden file at `url`, byte for byte.
 * With `HESTIA_UPDATE_GOLDEN=1` it writes `actual` to the file instead.
 *
 * @param url The golden file, usually `new URL("./testdata/name.bin", import.meta.url)`.
 * @param actual Bytes, or text compared as UTF-8.
 */
export function assertGolden(url: URL, actual: Uint8Array | string): void {
  const path = fileURLToPath(url);
  const bytes = typeof actual === "string" ? new TextEncoder().encode(actual) : actual;
  if (UPDATE) {
    mkdirSync(fileURLToPath(new URL(".", url)), { recursive: true });
    writeFileSync(path, bytes);
    return;
  }
  if (!existsSync(path)) {
    throw new AssertionError(`Golden file ${path} is missing; create it with HESTIA_UPDATE_GOLDEN=1`);
  }
  const expected = new Uint8Array(readFileSync(path));
  const n = Math.min(expected.length, bytes.length);
  let at = 0;
  while (at < n && expected[at] === bytes[at]) at++;
  if (at === n && expected.length === bytes.length) return;
  throw new AssertionError(
    `Output differs from golden file ${path} at byte ${at} ` +
      `(golden ${expected.length} bytes, actual ${bytes.length})\n` +
      `  golden: ${hexAround(expected, at)}\n  actual: ${hexAround(bytes, at)}\n` +
      "If the change is intended, bump the format version, or rerun with HESTIA_UPDATE_GOLDEN=1.",
  );
}

function hexAround(bytes: Uint8Array, at: number): string {
  const start = Math.max(0, at - 8);
  const shown = Array.from(bytes.subarray(start, at + 8), (b) => b.toString(16).padStart(2, "0"));
  return `@${start}: ${shown.join(" ")}`;
}
