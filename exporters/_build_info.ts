/**
 * What `hestiastore_build_info` reports: the package version and the
 * JavaScript runtime serving the scrape.
 *
 * @module
 */
import { VERSION } from "./version.ts";

/** Labels of `hestiastore_build_info`. */
export interface BuildInfo {
  /** @default the package version */
  readonly version: string;
  /** @default the detected runtime, e.g. `deno 2.9.6` or `node 20.20.2` */
  readonly runtime: string;
}

interface RuntimeGlobals {
  Deno?: { version?: { deno?: string } };
  Bun?: { version?: string };
  process?: { versions?: { node?: string } };
}

/** `deno <ver>`, `bun <ver>`, `node <ver>`, or `unknown` (read from globals, so no import is needed). */
export function detectRuntime(): string {
  const g = globalThis as RuntimeGlobals;
  // Deno and Bun also define `process` for compatibility, so they are checked first.
  if (g.Deno?.version?.deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun?.version) return `bun ${g.Bun.version}`;
  if (g.process?.versions?.node) return `node ${g.process.versions.node}`;
  return "unknown";
}

/** Fills the missing fields with the package version and the detected runtime. */
export function resolveBuildInfo(build: Partial<BuildInfo> = {}): BuildInfo {
  for (const key of ["version", "runtime"] as const) {
    if (build[key] !== undefined && typeof build[key] !== "string") {
      throw new TypeError(`Build info '${key}' must be a string, got ${typeof build[key]}`);
    }
  }
  return { version: build.version ?? VERSION, runtime: build.runtime ?? detectRuntime() };
}
