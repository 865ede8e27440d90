/**
 * A least-recently-used map whose hits only stamp the entry with a use
 * counter; the order is worked out when something must go.
 *
 * Moving the entry to the young end of a list or of `Map`'s insertion order
 * on every hit cost a tenth of a point lookup, and hits are the common case.
 * Eviction instead scans for the oldest stamp, O(size): it happens when a new
 * entry comes in, which for the segment cache means loading a segment from
 * disk anyway. Lowering the limit by more than one sorts once.
 *
 * @module
 */

/** One entry: its key (for eviction from a scan), value and last use. */
interface Slot<K, V> {
  readonly key: K;
  value: V;
  used: number;
}

/** Bounded map that evicts its least recently used entries. */
export class Lru<K, V> {
  #map = new Map<K, Slot<K, V>>();
  #limit: number;
  #onEvict: (key: K, value: V) => void;
  /** Stamp of the latest use; a safe integer for 2^53 uses. */
  #clock = 0;
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
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    slot.used = ++this.#clock;
    return slot.value;
  }

  /** The value without touching its recency. */
  peek(key: K): V | undefined {
    return this.#map.get(key)?.value;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Inserts or replaces as most recently used, then evicts down to the limit. */
  set(key: K, value: V): void {
    const slot = this.#map.get(key);
    if (slot !== undefined) {
      slot.value = value;
      slot.used = ++this.#clock;
    } else {
      this.#map.set(key, { key, value, used: ++this.#clock });
    }
    this.#trim();
  }

  /** Removes without calling the eviction callback. */
  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  /** Entries from least to most recently used (a sorted copy). */
  entries(): [K, V][] {
    return this.#byAge().map((slot) => [slot.key, slot.value]);
  }

  /** Removes every entry, least recently used first, calling the eviction callback for each. */
  clear(): void {
    for (const slot of this.#byAge()) {
      this.#map.delete(slot.key);
      this.#onEvict(slot.key, slot.value);
    }
  }

  #byAge(): Slot<K, V>[] {
    return [...this.#map.values()].sort((a, b) => a.used - b.used);
  }

  #trim(): void {
    const excess = this.#map.size - this.#limit;
    if (excess <= 0) return;
    if (excess === 1) return this.#evict(this.#oldest());
    for (const slot of this.#byAge()) {
      if (this.#map.size <= this.#limit) return;
      // A callback may have removed it meanwhile.
      if (this.#map.get(slot.key) === slot) this.#evict(slot);
    }
  }

  #oldest(): Slot<K, V> {
    let oldest: Slot<K, V> | undefined;
    for (const slot of this.#map.values()) {
      if (oldest === undefined || slot.used < oldest.used) oldest = slot;
    }
    return oldest!;
  }

  #evict(slot: Slot<K, V>): void {
    this.#map.delete(slot.key);
    this.evictions++;
    this.#onEvict(slot.key, slot.value);
  }
}
