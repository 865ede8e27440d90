/**
 * What the agent needs of an index. A `SegmentIndex` is one; tests and
 * embedders may wrap one to add behaviour.
 *
 * @module
 */
import type { IndexConfig, IndexState, MetricsSnapshot, TuningProblem } from "../engine/mod.ts";

/** An index the agent reports on and manages. */
export interface ManagedIndex {
  /** A CLOSED index is treated as absent: left out of the report, `/ready` and `/metrics`, and not found. */
  readonly state: IndexState;
  /** The snapshot the report and `/metrics` carry; called once per request. */
  metrics(): MetricsSnapshot;
  /** Resolves once everything written is durable. */
  flush(): Promise<void>;
  /** Resolves once compaction (and any split it triggers) is durable. */
  compact(): Promise<void>;
  config(): IndexConfig;
  /** The problems of applying `patch` now; empty when it is valid. */
  validateConfig(patch: Record<string, unknown>): TuningProblem[];
  /** Applies `patch` atomically; throws `ConflictError` when `expectedRevision` is stale. */
  applyConfig(patch: Record<string, unknown>, expectedRevision?: number): IndexConfig;
}
