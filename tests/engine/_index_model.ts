/**
 * Shared by the tests of the segment index: small limits that make a few
 * hundred writes exercise flush, compaction and split, the key format, and
 * the counters the model and fault tests track, read from the index's
 * metrics snapshot in one place.
 *
 * @module
 */
import type { SegmentIndex } from "../../engine/mod.ts";

/** Small limits so a few hundred writes exercise flush, compaction and split. */
export const SMALL = {
  segmentWriteCacheKeyLimit: 20,
  segmentWriteCacheKeyLimitDuringMaintenance: 30,
  indexBufferedWriteKeyLimit: 60,
  segmentSplitKeyThreshold: 100,
  deltaFileLimit: 3,
  chunkKeyLimit: 8,
};

/** Key number `i`: `key-` and six digits, so keys sort as their numbers. */
export function key(i: number): string {
  return `key-${String(i).padStart(6, "0")}`;
}

/** Maintenance counters since the index was opened, and its shape now. */
export interface Counters {
  flushes: number;
  inlineFlushes: number;
  compactions: number;
  splits: number;
  commits: number;
  segments: number;
  /** Maintenance tasks queued or running (flushes, compactions and splits). */
  busy: number;
}

/** The counters of `index` (metrics recording must be on, as it is by default). */
// deno-lint-ignore no-explicit-any
export function counters(index: SegmentIndex<any, any>): Counters {
  const m = index.metrics();
  return {
    flushes: m.maintenance.flushes,
    inlineFlushes: m.writePath.inlineFlushes,
    compactions: m.maintenance.compactions,
    splits: m.split.completed,
    commits: m.maintenance.commits,
    segments: m.segments.count,
    busy: m.maintenance.queued + m.maintenance.inFlight + m.split.inFlight,
  };
}
