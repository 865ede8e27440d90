/**
 * A least-recently-used map over `Map`'s insertion order: a hit re-inserts
 * the entry at the young end; eviction takes from the old end.
 *
 * @module
 */

/** Bounded map that evicts its least recently used entries. */
export class Lru<K, V> {
  #map = new Map<K, V>();
  #limit: number;
  #onEvict: (key: K, value: V) => void;
  /** The most recently used key, if known. */
  #newest: K | undefined;
  /** Entries removed to respect the limit, since construction. */
  evictions = 0;

  /**
   * @param limit Most entries kept.
   * @param onEvict Called for each entry evicted or cleared.
   */
  constructor(limit: number, onEvict: (key: K, value: V) => void = () => {}) {
    this.#limit = limit;
    this.#onEvict = onEvict;
  }

  get size(): number {
    return this.#map.size;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Changes the limit, evicting at once if the map is now over it. */
  set limit(value: number) {
    this.#limit = value;
    this.#trim();
  }

  /** The value, marked as most recently used; `undefined` if absent. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    // Re-inserting moves the entry to the young end; skipped when it is there already (the common repeat).
    if (value !== undefined && key !== this.#newest) {
      this.#map.delete(key);
      this.#map.set(key, value);
      this.#newest = key;
    }
    return value;
  }

  /** The value without touching its recency. */
  peek(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Inserts or replaces as most recently used, then evicts down to the limit. */
  set(key: K, value: V): void {
    this.delete(key);
    this.#map.set(key, value);
    this.#newest = key;
    this.#trim();
  }

  /** Removes without calling the eviction callback. */
  delete(key: K): boolean {
    if (key === this.#newest) this.#newest = undefined;
    return this.#map.delete(key);
  }

  /** Entries from least to most recently used. */
  entries(): IterableIterator<[K, V]> {
    return this.#map.entries();
  }

  /** Removes every entry, calling the eviction callback for each. */
  clear(): void {
    for (const [key, value] of [...this.#map]) {
      this.delete(key);
      this.#onEvict(key, value);
    }
  }

  #trim(): void {
    while (this.#map.size > this.#limit) {
      const [key, value] = this.#map.entries().next().value!;
      this.delete(key);
      this.evictions++;
      this.#onEvict(key, value);
    }
  }
}
