/**
 * What a command that hosts a node needs, shared by `agent/main.ts` and the
 * `hestiastore` CLI (`cli/main.ts`): open the named indexes under a data
 * folder, read a tokens file and a TLS certificate, listen with the adapter
 * of the runtime at hand, and close once on SIGINT or SIGTERM.
 *
 * ```ts ignore
 * import { onShutdownSignal, openIndexes, closeIndexes } from "./host.ts";
 *
 * const indexes = await openIndexes("./data", ["orders"]);
 * onShutdownSignal(async () => (await closeIndexes(indexes.values())) ? 0 : 1);
 * ```
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { SegmentIndex } from "../engine/mod.ts";
import type { AgentApp } from "./agent.ts";
import type { AgentServer, ServeAgentOptions } from "./serve_options.ts";
import { parseTokenEntries, type TokenEntry } from "./tokens.ts";

// An index name is one folder under the data folder: no separators, no "." or "..".
const INDEX_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

/**
 * Parses a port flag.
 *
 * @throws {RangeError} Unless `text` is an integer from 0 to 65535.
 */
export function parsePort(text: string, flag: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port <= 65535)) throw new RangeError(`${flag} must be a port number from 0 to 65535, got '${text}'`);
  return port;
}

/**
 * Opens each named index in `<data>/<name>`, creating the ones that do not
 * exist yet. When one fails, the ones already open are closed again.
 *
 * @throws {TypeError} For a name that is not one folder name of `[A-Za-z0-9._-]`.
 */
export async function openIndexes(
  data: string,
  names: readonly string[],
): Promise<Map<string, SegmentIndex>> {
  for (const name of names) {
    if (!INDEX_NAME.test(name)) {
      throw new TypeError(
        `Index name '${name}' must be 1-64 characters of [A-Za-z0-9._-], not starting with '.'`,
      );
    }
  }
  const indexes = new Map<string, SegmentIndex>();
  try {
    for (const name of new Set(names)) {
      const directory = join(data, name);
      indexes.set(
        name,
        await SegmentIndex.tryOpen(directory, { name }) ?? await SegmentIndex.create(directory, { name }),
      );
    }
  } catch (error) {
    await closeIndexes(indexes.values());
    throw error;
  }
  return indexes;
}

/**
 * Closes every index (each flushes first), reporting failures on stderr.
 *
 * @returns True when every index closed cleanly.
 */
export async function closeIndexes(indexes: Iterable<SegmentIndex>): Promise<boolean> {
  const closed = await Promise.allSettled([...indexes].map((index) => index.close()));
  for (const result of closed) if (result.status === "rejected") console.error(result.reason);
  return closed.every((result) => result.status === "fulfilled");
}

/**
 * Reads the token entries of a tokens file, `{"tokens": [...]}` with the
 * entries `agent/token_new.ts` prints. Other top-level fields are ignored.
 */
export function readTokenFile(path: string): TokenEntry[] {
  return parseTokenEntries(JSON.parse(readFileSync(path, "utf8"))?.tokens);
}

/**
 * Reads a PEM certificate chain and its key; `undefined` when neither is given.
 *
 * @throws {TypeError} When only one of the two is given.
 */
export function readTlsFiles(
  cert: string | undefined,
  key: string | undefined,
): { cert: string; key: string } | undefined {
  if ((cert === undefined) !== (key === undefined)) {
    throw new TypeError("--tls-cert and --tls-key must be given together");
  }
  if (cert === undefined || key === undefined) return undefined;
  return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
}

/** Serves `app` with `agent/deno.ts` on Deno and `agent/node.ts` elsewhere. */
export async function serveAgentOnRuntime(app: AgentApp, options: ServeAgentOptions): Promise<AgentServer> {
  const adapter = "Deno" in globalThis ? await import("./deno.ts") : await import("./node.ts");
  return await adapter.serveAgent(app, options);
}

/**
 * Runs `stop` on the first SIGINT or SIGTERM, then exits with the code it
 * resolves to (1 if it throws). Later signals are ignored: launchers forward
 * one signal several times (a terminal's Ctrl-C reaches npx, `deno task` and
 * the node, and the first two pass it on again), so a repeat must not cut
 * the shutdown short.
 */
export function onShutdownSignal(stop: (signal: string) => Promise<number>): void {
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing`);
    stop(signal).then((code) => process.exit(code), (error) => {
      console.error(error);
      process.exit(1);
    });
  };
  process.on("SIGINT", () => handle("SIGINT"));
  process.on("SIGTERM", () => handle("SIGTERM"));
}
