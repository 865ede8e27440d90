/**
 * Scratch directories of the console tests, under the untracked `out/`.
 *
 * @module
 */
import { mkdirSync } from "node:fs";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A fresh directory under `out/console-tests/`. */
export function scratchDir(name: string): string {
  const dir = `${ROOT}out/console-tests/${name}-${crypto.randomUUID().slice(0, 8)}`;
  mkdirSync(dir, { recursive: true });
  return dir;
}
