/**
 * Stands in for `console/bundle.ts` in the console's npm package: instead of
 * running esbuild (a build tool, not a dependency of the package) at
 * startup, it serves the browser bundle that `deno task dist` built with
 * that module and shipped as `assets/client.js` beside the package's
 * modules. Same exports, same content-hashed URL.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { ClientBundle } from "../../console/bundle.ts";

export type { ClientBundle };

/** Where the package holds the bundle, relative to its modules. */
export const CLIENT_ASSET = "assets/client.js";

/** Reads the prebuilt bundle. */
export async function buildClient(): Promise<ClientBundle> {
  const code = new Uint8Array(await readFile(new URL(CLIENT_ASSET, import.meta.url)));
  const hash = createHash("sha256").update(code).digest("hex").slice(0, 16);
  return { path: `/static/client.${hash}.js`, code };
}
