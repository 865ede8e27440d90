/**
 * Stored results of actions, by caller, action and `requestId`, so a
 * repeated request replays the first one's response instead of running
 * again. A duplicate that arrives while the first still runs waits for the
 * same execution. Only executions are stored: a request refused before it
 * ran (unknown index, quota, audit unavailable) leaves nothing, so its
 * retry can run. The store keeps the newest `maxEntries` results (first in,
 * first out); a request older than that runs again.
 *
 * @module
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** A response as it was first sent. */
export interface StoredResult {
  status: ContentfulStatusCode;
  body: Record<string, unknown>;
}

interface Entry {
  /** The index named by the first request, or null for every index. */
  target: string | null;
  result: Promise<StoredResult>;
}

export class IdempotencyStore {
  #maxEntries: number;
  #entries = new Map<string, Entry>();

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  /** The execution stored (or running) under `key`. */
  get(key: string): Entry | undefined {
    return this.#entries.get(key);
  }

  /**
   * Runs `execute` and stores its result under `key` (registered before
   * `execute` yields, so a concurrent duplicate finds it). If `execute`
   * rejects, the entry is removed and the rejection passed on.
   */
  run(key: string, target: string | null, execute: () => Promise<StoredResult>): Promise<StoredResult> {
    const result = execute();
    const entry = { target, result };
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    result.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    return result;
  }
}
