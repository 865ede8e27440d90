/**
 * Cursors over the sorted sources of a segment (write-cache layers and
 * tables) and the merge of several of them, newest source first. Range
 * iterators, compaction and split all read through these.
 *
 * @module
 */
import type { Entry, ScanSpan, TableReader } from "./_table.ts";
import { lowerBound } from "./_table.ts";
import { type Chunk, CHUNK_HEADER_SIZE, KeyArena } from "./format/chunk_file.ts";
import type { ScanRuns } from "./_text_runs.ts";
import { compareBytes } from "./type_descriptor.ts";

/** Where a cursor starts: the first key ≥ `key` (> when exclusive), or the last ≤ (<) in reverse. */
export interface StartBound {
  key: Uint8Array;
  exclusive: boolean;
}

/** A position in a sorted source; `current` is undefined once exhausted. */
export interface Cursor {
  readonly current: Entry | undefined;
  next(): void;
}

/** Index of the first entry at or after the start, in the cursor's direction. */
function startIndex(
  items: readonly (Uint8Array | Entry)[],
  start: StartBound | undefined,
  reverse: boolean,
): number {
  if (!start) return reverse ? items.length - 1 : 0;
  return reverse
    ? lowerBound(items, start.key, !start.exclusive) - 1
    : lowerBound(items, start.key, start.exclusive);
}

/** Cursor over an array of entries sorted by key. */
export class ArrayCursor implements Cursor {
  readonly #entries: readonly Entry[];
  readonly #step: number;
  #i: number;
  current: Entry | undefined;

  constructor(entries: readonly Entry[], start: StartBound | undefined, reverse: boolean) {
    this.#entries = entries;
    this.#step = reverse ? -1 : 1;
    this.#i = startIndex(entries, start, reverse);
    this.current = entries[this.#i];
  }

  next(): void {
    this.#i += this.#step;
    this.current = this.#entries[this.#i];
  }
}

/**
 * First read-ahead of a table cursor. Small, so that a short range from a
 * random start reads little more than it returns.
 */
const FIRST_READ_AHEAD_BYTES = 16 * 1024;
/**
 * The read-ahead doubles while a cursor keeps going, up to this: past it a
 * larger read saves little, and each open cursor may hold one such buffer.
 */
const MAX_READ_AHEAD_BYTES = 256 * 1024;

/**
 * Cursor over a table, chunk by chunk. Consecutive chunks are read together
 * (see {@linkcode FIRST_READ_AHEAD_BYTES}) and each is verified and decoded
 * from that buffer when the cursor reaches it.
 *
 * A caller that knows how far it will go says so, and the first read covers
 * that, from the sparse index's entry counts and last keys: a range of 1,000
 * keys then reads about its own 120 KB at once, where read-ahead alone read
 * 16, 32, 64 and 128 KiB.
 */
export class TableCursor implements Cursor {
  readonly #table: TableReader;
  readonly #reverse: boolean;
  readonly #chunkCount: number;
  #at: number;
  #span: ScanSpan | undefined;
  #readAhead = FIRST_READ_AHEAD_BYTES;
  /** Entries the caller expects to take; `Infinity` once the first read is done or if unknown. */
  #wanted: number;
  /** The chunk past which (in the cursor's direction) no key is within the caller's end bound. */
  readonly #stop: number;
  readonly #arena = new KeyArena(true);
  readonly #runs: ScanRuns | undefined;
  #keys: Uint8Array[] = [];
  #values: (Uint8Array | undefined)[] = [];
  #i = 0;
  current: Entry | undefined;

  /**
   * @param limit Entries the caller expects to take, if it knows.
   * @param end Where the caller stops: the upper bound forwards, the lower one in reverse.
   * @param runs Told of each chunk's keys and payload as they are decoded, for their strings.
   */
  constructor(
    table: TableReader,
    start: StartBound | undefined,
    reverse: boolean,
    limit = Infinity,
    end?: StartBound,
    runs?: ScanRuns,
  ) {
    this.#table = table;
    this.#runs = runs;
    this.#reverse = reverse;
    this.#wanted = limit;
    const sparse = table.sparse;
    this.#chunkCount = sparse.count;
    // The first chunk whose last key reaches the bound is the last one forwards that may hold keys
    // below it; in reverse the chunks before it hold only keys below the bound.
    const last = this.#chunkCount - 1;
    this.#stop = end ? Math.min(sparse.firstAtLeast(end.key), last) : reverse ? 0 : last;
    if (!start) this.#at = reverse ? last : 0;
    else {
      const at = sparse.firstAtLeast(start.key);
      this.#at = reverse ? Math.min(at, last) : at;
    }
    if (this.#at >= 0 && this.#at < this.#chunkCount) {
      this.#load();
      this.#i = startIndex(this.#keys, start, reverse);
    }
    this.#settle();
  }

  next(): void {
    this.#i += this.#reverse ? -1 : 1;
    this.#settle();
  }

  /** Moves to the next chunk while the position is past the current one, then sets `current`. */
  #settle(): void {
    for (;;) {
      if (this.#i >= 0 && this.#i < this.#keys.length) {
        this.current = { key: this.#keys[this.#i], value: this.#values[this.#i] };
        return;
      }
      if (this.#keys.length === 0) break;
      this.#at += this.#reverse ? -1 : 1;
      if (this.#at < 0 || this.#at >= this.#chunkCount) break;
      this.#load();
      this.#i = this.#reverse ? this.#keys.length - 1 : 0;
    }
    this.#keys = [];
    this.#values = [];
    this.#span = undefined;
    this.current = undefined;
  }

  /** Decodes chunk `#at`, first reading the chunks ahead of it in the cursor's direction if needed. */
  #load(): void {
    const at = this.#at;
    let span = this.#span;
    if (span === undefined || at < span.first || at > span.last) {
      const sparse = this.#table.sparse;
      const stop = this.#stop;
      // A caller's limit sets the first read: chunk `at` counts for nothing, as the start may be
      // anywhere in it.
      let wanted = this.#wanted;
      const budget = wanted === Infinity ? this.#readAhead : MAX_READ_AHEAD_BYTES;
      let first = at, last = at;
      let bytes = sparse.length(at);
      if (this.#reverse) {
        while (first > stop && wanted > 0 && bytes + sparse.length(first - 1) <= budget) {
          bytes += sparse.length(--first);
          wanted -= sparse.entryCount(first);
        }
      } else {
        while (last < stop && wanted > 0 && bytes + sparse.length(last + 1) <= budget) {
          bytes += sparse.length(++last);
          wanted -= sparse.entryCount(last);
        }
      }
      span = this.#span = this.#table.readScanSpan(first, last);
      this.#readAhead = Math.min(Math.max(this.#readAhead, bytes) * 2, MAX_READ_AHEAD_BYTES);
      this.#wanted = Infinity;
    }
    const chunk = this.#table.decodeScanChunk(span, at, this.#arena);
    const runs = this.#runs;
    if (runs?.values) {
      const sparse = this.#table.sparse;
      const start = sparse.offset(at) - span.offset;
      runs.values.register(span.bytes, start + CHUNK_HEADER_SIZE, start + sparse.length(at));
    }
    if (runs?.keys) {
      // The chunk's keys lie back to back in the arena, unless it started a new buffer midway.
      const first = chunk.keys[0], last = chunk.keys[chunk.keys.length - 1];
      if (first.buffer === last.buffer) {
        runs.keys.register(first, 0, last.byteOffset + last.length - first.byteOffset);
      }
    }
    this.#keys = chunk.keys;
    this.#values = chunk.values;
  }
}

/**
 * Cursor over a whole table in file order, reading its chunk file
 * sequentially: it needs neither the sparse index nor the Bloom filter, so
 * compaction and split work (and replace) a table whose derived files are
 * damaged.
 */
export class ScanCursor implements Cursor {
  readonly #chunks: Iterator<Chunk>;
  #chunk: Chunk | undefined;
  #i = 0;
  current: Entry | undefined;

  constructor(table: TableReader) {
    this.#chunks = table.scanChunks();
    this.#advanceChunk();
  }

  next(): void {
    if (!this.#chunk) return;
    if (++this.#i < this.#chunk.keys.length) this.#set();
    else this.#advanceChunk();
  }

  #advanceChunk(): void {
    const step = this.#chunks.next();
    this.#chunk = step.done ? undefined : step.value;
    this.#i = 0;
    if (this.#chunk) this.#set();
    else this.current = undefined;
  }

  #set(): void {
    this.current = { key: this.#chunk!.keys[this.#i], value: this.#chunk!.values[this.#i] };
  }
}

/**
 * Merges cursors given newest first: each key comes out once, with the
 * value of the newest source that has it. Tombstones are dropped unless
 * `keepTombstones` (a merge that is not the bottom of its segment must keep
 * them, or older values would show through).
 */
export class MergeCursor implements Cursor {
  readonly #cursors: Cursor[];
  readonly #reverse: boolean;
  readonly #keepTombstones: boolean;
  current: Entry | undefined;

  constructor(cursors: Cursor[], reverse: boolean, keepTombstones: boolean) {
    this.#cursors = cursors;
    this.#reverse = reverse;
    this.#keepTombstones = keepTombstones;
    this.next();
  }

  next(): void {
    const cursors = this.#cursors;
    for (;;) {
      let best: Entry | undefined;
      for (let i = 0; i < cursors.length; i++) {
        const c = cursors[i].current;
        if (c === undefined) continue;
        if (best === undefined) best = c;
        else {
          const cmp = compareBytes(c.key, best.key);
          if (this.#reverse ? cmp > 0 : cmp < 0) best = c;
        }
      }
      if (best === undefined) {
        this.current = undefined;
        return;
      }
      for (let i = 0; i < cursors.length; i++) {
        const c = cursors[i].current;
        if (c !== undefined && compareBytes(c.key, best.key) === 0) cursors[i].next();
      }
      if (best.value === undefined && !this.#keepTombstones) continue;
      this.current = best;
      return;
    }
  }
}
