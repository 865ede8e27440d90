/**
 * What the SIGKILL crash test's parent and child agree on: the phases a kill
 * targets, the index options, how keys and values are named, the lines the
 * child prints, and the seeded PRNG. Imports nothing, so the child starts
 * fast.
 *
 * Child stdout protocol, one line each, written synchronously:
 * - `r` — the index is open (recovery done);
 * - `w <id> <op> <op>…` — printed just before the write with that id is
 *   issued; an op is `+key` (put) or `-key` (delete), several ops are one
 *   `batch()`; ids count up from 1 in issue order, which is log order;
 * - `a <id>` — the write's promise resolved (it is acknowledged);
 * - `phase <name>` — the child entered the phase the parent targets;
 * - `x <message>` — the child hit an unexpected error and exits with 1.
 *
 * @module
 */
export { prng } from "../../_prng.ts";

/** The phases a kill targets, in the round-robin order of the parent. */
export const PHASES = [
  "log-append",
  "fsync",
  "flush",
  "compaction",
  "split",
  "checkpoint",
  "log-trim",
] as const;

/** Soak mode also kills while the child opens the index and recovers it from the previous crash. */
export const SOAK_PHASES = [...PHASES, "recovery"] as const;

export type Phase = typeof SOAK_PHASES[number];

export function isPhase(name: string): name is Phase {
  return (SOAK_PHASES as readonly string[]).includes(name);
}

/**
 * Options the child opens the index with: small limits and small log files,
 * so that every phase comes around within a few hundred milliseconds.
 * Tunables are recorded in the manifest at create; the per-open ones
 * (`deltaFileLimit`, the log sizes) are passed at every open.
 */
export const INDEX_OPTIONS = {
  segmentWriteCacheKeyLimit: 32,
  segmentWriteCacheKeyLimitDuringMaintenance: 48,
  indexBufferedWriteKeyLimit: 256,
  segmentSplitKeyThreshold: 160,
  segmentCacheLimit: 64,
  deltaFileLimit: 3,
  walSegmentBytes: 4096,
  walMaxRetainedBytes: 96 * 1024,
} as const;

/** Keys overwritten and deleted over and over. */
export const HOT_KEYS = 160;

export function hotKey(n: number): string {
  return `h${String(n).padStart(4, "0")}`;
}

/**
 * A key that only run `run` creates, the `n`th of that run. They sort
 * below the hot keys and grow in order, so one segment keeps growing and
 * splitting.
 */
export function growingKey(run: number, n: number): string {
  return `g${String(run).padStart(5, "0")}-${String(n).padStart(6, "0")}`;
}

/** Padding that makes log records big enough for the log to rotate and be trimmed often. */
const PAD = "~".repeat(48);

/**
 * The value written under `key` by write `id` of run `run`: unique per
 * write, names its key, so a value that shows up under another key or
 * that was never written is caught.
 */
export function valueOf(key: string, run: number, id: number): string {
  return `${key}@${run}.${id}${PAD}`;
}

/** The `<run>.<id>` a value names, for messages. */
export function describeValue(value: string | undefined): string {
  if (value === undefined) return "(absent)";
  const at = value.indexOf("@");
  return at < 0 || !value.endsWith(PAD)
    ? JSON.stringify(value)
    : `run.write ${value.slice(at + 1, -PAD.length)}`;
}
