/**
 * Prints the size of the console's browser bundle, minified and gzipped
 * (the goal is under 60 KB gzipped).
 *
 * ```sh
 * deno run -A console/tools/bundle_size.ts
 * ```
 *
 * @module
 */
import { gzipSync } from "node:zlib";
import { buildClient } from "../mod.ts";

const GOAL_BYTES = 60 * 1024;
const bundle = await buildClient();
const gzipped = gzipSync(bundle.code, { level: 9 }).length;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
console.log(
  `${bundle.path}: ${kib(bundle.code.length)} minified, ${kib(gzipped)} gzipped (goal < ${kib(GOAL_BYTES)})`,
);
