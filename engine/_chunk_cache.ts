/**
 * The chunk cache shared by every table of an index: verified, undecoded
 * chunks kept in reusable buffers, least recently used evicted first.
 *
 * A fresh array per chunk read cost more than the read itself (the backing
 * store allocation and the garbage collector's tracking of it), so once the
 * cache is full a miss reads straight into the buffer of the chunk it
 * evicts. Chunks of one index are of similar size (a chunk closes at a byte
 * target or key limit), so a buffer is allocated with a little headroom and
 * reused for any chunk it fits without wasting more than a quarter; other
 * chunks get a new buffer. Each cached chunk holds one buffer, so memory
 * stays bounded by the limit as with exact-size arrays: at most a quarter
 * (plus 128 bytes) above the chunks' own bytes, a sixteenth for new ones.
 *
 * Filling the cache still allocated one array per slot, which was a tenth of
 * a cold run; so while the cache grows to a size it never had, buffers are
 * cut from 128 KiB slabs (views into one `ArrayBuffer`), and only buffers
 * needed later (a chunk that fits no evicted buffer, or growth again after
 * the limit was lowered) are arrays of their own. A slab is freed only with
 * its last buffer, so a slab buffer that is dropped keeps its bytes until its
 * neighbours go too: on top of the bound above, at most the slab buffers ever
 * cut, which are one per slot of the largest size the cache reached (and one
 * claimed but not inserted), plus an eighth of the slabs for their ends. With chunks of similar size no buffer is dropped and
 * the slabs are exactly the cache's buffers.
 *
 * Because slots are reused, bytes read from a slot are valid only until the
 * next call that can evict (`claim`); copy what must live longer.
 *
 * @module
 */

/** Bytes a new buffer gets beyond the chunk and a sixteenth, so similar chunks fit it later. */
const HEADROOM = 64;
/** A reused buffer may exceed its chunk by a quarter plus this much. */
const REUSE_SLACK = 128;
/** Bytes of one slab. */
const SLAB_BYTES = 128 * 1024;
/** Larger buffers are never cut from a slab, so a slab's unused end is at most an eighth of it. */
const SLAB_MAX_BUFFER = SLAB_BYTES / 8;

/** One cached chunk: `bytes[0, length)` is the chunk, header included. */
export class ChunkSlot {
  bytes: Uint8Array;
  length = 0;
  key = -1;
  /** Neighbours in recency order; `newer` of the newest and `older` of the oldest are null. */
  newer: ChunkSlot | null = null;
  older: ChunkSlot | null = null;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
}

/** Bounded cache of chunks in reusable buffers, keyed by number. */
export class ChunkCache {
  readonly #slots = new Map<number, ChunkSlot>();
  #limit: number;
  #newest: ChunkSlot | null = null;
  #oldest: ChunkSlot | null = null;
  #bytes = 0;
  /** The slab new buffers are cut from, and how much of it is cut. */
  #slab = new ArrayBuffer(0);
  #slabUsed = 0;
  /** Buffers ever cut from slabs: only a cache larger than this cuts more, which bounds the slabs. */
  #slabBuffers = 0;
  /** Entries removed to respect the limit, since construction. */
  evictions = 0;

  /** @param limit Most chunks kept. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Chunks cached. */
  get size(): number {
    return this.#slots.size;
  }

  /** Bytes of the cached chunks (their buffers hold at most a quarter more). */
  get weight(): number {
    return this.#bytes;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Changes the limit, evicting at once if the cache is now over it. */
  set limit(value: number) {
    this.#limit = value;
    while (this.#slots.size > value) this.#evictOldest();
  }

  /** The chunk, marked as most recently used; `undefined` if absent. */
  get(key: number): ChunkSlot | undefined {
    const slot = this.#slots.get(key);
    if (slot !== undefined && slot !== this.#newest) {
      this.#unlink(slot);
      this.#pushNewest(slot);
    }
    return slot;
  }

  /** The chunk without touching its recency. */
  peek(key: number): ChunkSlot | undefined {
    return this.#slots.get(key);
  }

  /**
   * A slot with room for `length` bytes, not in the cache: when the cache is
   * full, the least recently used chunk's, evicted. Fill it, then hand it to
   * `insert`; a slot not inserted is simply dropped.
   */
  claim(length: number): ChunkSlot {
    if (this.#slots.size >= this.#limit && this.#oldest !== null) {
      const slot = this.#evictOldest();
      const capacity = slot.bytes.length;
      if (capacity >= length && capacity <= length + (length >>> 2) + REUSE_SLACK) return slot;
    }
    return new ChunkSlot(this.#newBuffer(length + (length >>> 4) + HEADROOM));
  }

  #newBuffer(size: number): Uint8Array {
    if (size > SLAB_MAX_BUFFER || this.#slabBuffers > this.#slots.size) return new Uint8Array(size);
    if (this.#slabUsed + size > this.#slab.byteLength) {
      this.#slab = new ArrayBuffer(SLAB_BYTES);
      this.#slabUsed = 0;
    }
    const buffer = new Uint8Array(this.#slab, this.#slabUsed, size);
    this.#slabUsed += size;
    this.#slabBuffers++;
    return buffer;
  }

  /** Caches a claimed slot holding `length` bytes of the chunk under `key`. */
  insert(key: number, slot: ChunkSlot, length: number): void {
    const old = this.#slots.get(key);
    if (old !== undefined) this.#remove(old);
    slot.key = key;
    slot.length = length;
    this.#slots.set(key, slot);
    this.#bytes += length;
    this.#pushNewest(slot);
    while (this.#slots.size > this.#limit) this.#evictOldest();
  }

  #evictOldest(): ChunkSlot {
    this.evictions++;
    const slot = this.#oldest!;
    this.#remove(slot);
    return slot;
  }

  #remove(slot: ChunkSlot): void {
    this.#slots.delete(slot.key);
    this.#bytes -= slot.length;
    this.#unlink(slot);
    slot.key = -1;
    slot.length = 0;
  }

  #pushNewest(slot: ChunkSlot): void {
    slot.older = this.#newest;
    slot.newer = null;
    if (this.#newest !== null) this.#newest.newer = slot;
    else this.#oldest = slot;
    this.#newest = slot;
  }

  #unlink(slot: ChunkSlot): void {
    if (slot.newer !== null) slot.newer.older = slot.older;
    else this.#newest = slot.older;
    if (slot.older !== null) slot.older.newer = slot.newer;
    else this.#oldest = slot.newer;
    slot.newer = slot.older = null;
  }
}
