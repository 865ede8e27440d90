/**
 * The module graph of an entry file as `deno info --json` resolves it, for
 * the rollback checks ("this module loads nothing of that one"). Works from
 * Deno (its own binary) and from Node (the pinned Deno through npx).
 *
 * @module
 */
import { spawnSync } from "node:child_process";

/** The repository root, as a path ending with `/`. */
export const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

/** One module of the graph with the specifiers it imports (type-only imports included). */
export interface GraphModule {
  readonly specifier: string;
  readonly dependencies?: readonly { readonly specifier: string }[];
}

/** The parts of `deno info --json` the checks read. */
export interface ModuleGraph {
  readonly modules: readonly GraphModule[];
  /** Present only when the graph reaches an npm package. */
  readonly npmPackages?: Readonly<Record<string, unknown>>;
}

/** Runs `deno info --json <entry>` from the repository root (`entry` relative to it). */
export function moduleGraph(entry: string): ModuleGraph {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  const [command, prefix] = deno ? [deno.execPath(), []] : ["npx", ["-y", "deno@2.9.6"]];
  const run = spawnSync(command, [...prefix, "info", "--json", entry], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) throw new Error(`Cannot run deno info: ${run.error.message}`);
  if (run.status !== 0) {
    throw new Error(`deno info --json ${entry} exited with ${run.status}:\n${run.stderr}`);
  }
  return JSON.parse(run.stdout) as ModuleGraph;
}

/** Specifiers of the graph's modules: `file://…`, `node:…`, and `npm:…` for packages. */
export function specifiersOf(graph: ModuleGraph): string[] {
  return graph.modules.map((m) => m.specifier);
}
