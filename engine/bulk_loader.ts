/**
 * Sorted ingest: entries given in increasing key order above every key of
 * the index are written straight into new tables, one per new segment,
 * without the write-ahead log, the write cache, flushes or compactions. The
 * tables are synced and then installed and committed in one manifest
 * commit, so a load is all or nothing: a crash or an error before the
 * commit leaves the index as it was (unreferenced table files are removed
 * at the next open).
 *
 * @module
 */
import { ClosedError } from "./errors.ts";
import type { FileHandle } from "./fs/file_system.ts";
import type { TableBuilder, TableMeta } from "./_table.ts";
import { compareBytes, encodeCopiedValue, encodeLookupKey, type TypeDescriptor } from "./type_descriptor.ts";

/** A finished table of a load, with the keys that bound it. */
export interface LoadedTable {
  readonly meta: TableMeta;
  readonly firstKey: Uint8Array;
  readonly lastKey: Uint8Array;
}

/** What a {@linkcode BulkLoader} needs of its index. */
export interface BulkLoadHost<K, V> {
  keyType(): TypeDescriptor<K>;
  valueType(): TypeDescriptor<V>;
  /** Throws unless the index takes writes. */
  check(): void;
  /** A builder for a new table under a fresh file number. */
  newTable(): TableBuilder;
  /** Entries per loaded table; each table becomes one segment. */
  tableKeys(): number;
  /** The bound every loaded key must lie above, with what it is, or `undefined` when there is none. */
  floor(): { key: Uint8Array; what: string } | undefined;
  /** Makes the names of the synced table files durable. */
  syncDir(): Promise<void>;
  /** Counts one loaded entry as a put. */
  counted(): void;
  /**
   * Appends the tables as new segments after the last one, at once; throws
   * (changing nothing) when a key of the index now lies at or above the
   * first loaded key.
   */
  install(tables: readonly LoadedTable[]): void;
  /** Makes the index's current state durable. */
  persist(): Promise<void>;
  /** Removes the files of a table no manifest names. */
  remove(fileNo: number): void;
  /** The loader is finished (committed or aborted). */
  done(loader: BulkLoader<K, V>): void;
}

type LoadState = "open" | "committing" | "committed" | "aborted";

/**
 * A bulk load into an index, from {@linkcode SegmentIndex.bulkLoad}: call
 * `add` with keys in strictly increasing order (the key type's byte order),
 * all above every key the index holds, then `commit()`. Nothing is visible
 * to reads until the commit; after it resolves every entry is durable.
 *
 * Loaded entries skip the write-ahead log: writes of other callers during
 * the load go on as usual, but one at or above the load's first key makes
 * the commit fail with `RangeError`, loading nothing.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { MemoryFileSystem, SegmentIndex } from "./mod.ts";
 * const index = await SegmentIndex.create("/db", { fs: new MemoryFileSystem() });
 * const loader = index.bulkLoad();
 * for (const k of ["a", "b", "c"]) loader.add(k, k.toUpperCase());
 * await loader.commit();
 * assertEquals([...index.range()], [["a", "A"], ["b", "B"], ["c", "C"]]);
 * await index.close();
 * ```
 */
export class BulkLoader<K, V> {
  readonly #host: BulkLoadHost<K, V>;
  #state: LoadState = "open";
  #builder: TableBuilder | undefined;
  readonly #tables: LoadedTable[] = [];
  /** One per finished table: its files synced, then closed. */
  readonly #syncs: Promise<void>[] = [];
  #count = 0;

  /** @internal Created by {@linkcode SegmentIndex.bulkLoad}. */
  constructor(host: BulkLoadHost<K, V>) {
    this.#host = host;
  }

  /** Entries added so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * Adds one entry. A key or value the index's types reject, or a key not
   * above the previous one (or, for the first, not above every key of the
   * index), throws `TypeError` or `RangeError` and changes nothing; the
   * load goes on. Any other error aborts the load.
   */
  add(key: K, value: V): void {
    if (this.#state !== "open") throw new ClosedError(`Bulk load is ${this.#state}; add() needs an open one`);
    this.#host.check();
    // Reused memory: the table builder copies both before the next add.
    const kb = encodeLookupKey(this.#host.keyType(), key);
    const vb = encodeCopiedValue(this.#host.valueType(), value);
    let builder = this.#builder;
    if (builder === undefined) {
      const previous = this.#tables.at(-1);
      const floor = previous ? { key: previous.lastKey, what: "the previous key" } : this.#host.floor();
      if (floor !== undefined && compareBytes(kb, floor.key) <= 0) {
        throw new RangeError(`Bulk load keys must lie above ${floor.what}; got a key at or below it`);
      }
    }
    let added: boolean;
    try {
      builder ??= this.#builder = this.#host.newTable();
      // The builder checks the order as it writes the key, rather than in a pass of its own.
      added = builder.addNext(kb, vb);
      if (added) {
        this.#count++;
        this.#host.counted();
        if (builder.entryCount >= this.#host.tableKeys()) this.#finishTable();
      }
    } catch (e) {
      this.abort();
      throw e;
    }
    if (!added) {
      throw new RangeError("Bulk load keys must strictly increase; got a key at or below the previous one");
    }
  }

  /**
   * Syncs the loaded tables, then installs them as new segments and commits
   * the index; resolves once every entry is durable. On failure before the
   * install nothing was loaded and the files are gone; a failing commit
   * after it puts the index in ERROR, as any failing commit does.
   */
  async commit(): Promise<void> {
    if (this.#state !== "open") {
      throw new ClosedError(`Bulk load is ${this.#state}; commit() needs an open one`);
    }
    this.#state = "committing";
    try {
      if (this.#builder) this.#finishTable();
      await Promise.all(this.#syncs);
      if (this.#tables.length > 0) {
        await this.#host.syncDir();
        this.#checkCommitting();
        this.#host.install(this.#tables);
        this.#state = "committed";
        await this.#host.persist();
      }
      this.#state = "committed";
    } catch (e) {
      if (this.#state === "committing") this.#discard();
      throw e;
    } finally {
      this.#host.done(this);
    }
  }

  /** Drops everything added; the index stays as it was. A no-op once committed or aborted. */
  abort(): void {
    if (this.#state !== "open" && this.#state !== "committing") return;
    this.#discard();
    this.#host.done(this);
  }

  #checkCommitting(): void {
    if (this.#state !== "committing") throw new ClosedError("Bulk load was aborted (the index closed)");
  }

  #finishTable(): void {
    const builder = this.#builder!;
    this.#builder = undefined;
    const { meta, unsynced, firstKey, lastKey } = builder.finish();
    this.#tables.push({ meta, firstKey: firstKey!, lastKey: lastKey! });
    const synced = syncAndClose(unsynced);
    // Awaited by commit(); marked handled so an abort before it leaves no unhandled rejection.
    synced.catch(() => {});
    this.#syncs.push(synced);
  }

  #discard(): void {
    this.#state = "aborted";
    this.#builder?.abort();
    this.#builder = undefined;
    for (const t of this.#tables) this.#host.remove(t.meta.fileNo);
  }
}

async function syncAndClose(handles: FileHandle[]): Promise<void> {
  try {
    for (const h of handles) await h.sync();
  } finally {
    for (const h of handles) h.close();
  }
}
