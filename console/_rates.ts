/**
 * Operations per second from the deltas of cumulative counters between two
 * polls. Counters restart from zero when an index reopens, so a changed
 * `openedAt` or a counter that went down means "restart": that interval has
 * no rate (null) rather than a negative or a made-up one.
 *
 * @module
 */

/** Cumulative counters of one index at one moment. */
export interface IndexCounters {
  name: string;
  openedAtMs: number;
  capturedAtMs: number;
  reads: number;
  writes: number;
}

/** Rates of one interval; null where none can be computed. */
export interface Rates {
  read: number | null;
  write: number | null;
}

/** Rates of a node: the sum over its indexes, and each index's own. */
export interface NodeRates extends Rates {
  perIndex: Map<string, Rates>;
}

const NO_RATE: Rates = { read: null, write: null };

/** The rates between two samples of the same index, or nulls when there is no comparable earlier sample. */
export function ratesBetween(previous: IndexCounters | undefined, next: IndexCounters): Rates {
  if (previous === undefined || previous.openedAtMs !== next.openedAtMs) return NO_RATE;
  const seconds = (next.capturedAtMs - previous.capturedAtMs) / 1000;
  if (!(seconds > 0)) return NO_RATE;
  if (next.reads < previous.reads || next.writes < previous.writes) return NO_RATE;
  return { read: (next.reads - previous.reads) / seconds, write: (next.writes - previous.writes) / seconds };
}

/** Keeps the previous sample of each index of one node. */
export class RateTracker {
  #previous = new Map<string, IndexCounters>();

  /** Rates since the previous sample; indexes that vanished are forgotten. */
  update(indexes: readonly IndexCounters[]): NodeRates {
    const perIndex = new Map<string, Rates>();
    let read: number | null = null;
    let write: number | null = null;
    const next = new Map<string, IndexCounters>();
    for (const counters of indexes) {
      const rates = ratesBetween(this.#previous.get(counters.name), counters);
      perIndex.set(counters.name, rates);
      if (rates.read !== null) read = (read ?? 0) + rates.read;
      if (rates.write !== null) write = (write ?? 0) + rates.write;
      next.set(counters.name, counters);
    }
    this.#previous = next;
    return { read, write, perIndex };
  }
}
