import { assert, assertEquals, assertInstanceOf, assertStrictEquals, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import { ChunkCache, type ChunkSlot } from "../../engine/_chunk_cache.ts";
import { CorruptionError, MemoryFileSystem, SegmentIndex } from "../../engine/mod.ts";

/** Claims a slot for `length` bytes, fills it with `fill`, and caches it under `key`. */
function put(cache: ChunkCache, key: number, length: number, fill = key & 0xff): ChunkSlot {
  const slot = cache.claim(length);
  assert(slot.bytes.length >= length);
  slot.bytes.fill(fill, 0, length);
  cache.insert(key, slot, length);
  return slot;
}

describe("ChunkCache", () => {
  it("reads a miss into the evicted chunk's buffer once full, so a full cache allocates nothing", () => {
    const cache = new ChunkCache(3);
    const slots = [put(cache, 1, 4200), put(cache, 2, 4150), put(cache, 3, 4210)];
    assertEquals([cache.size, cache.weight, cache.evictions], [3, 4200 + 4150 + 4210, 0]);
    const reused = put(cache, 4, 4190);
    assertStrictEquals(reused, slots[0]);
    assertEquals([cache.size, cache.weight, cache.evictions], [3, 4150 + 4210 + 4190, 1]);
    assertEquals(cache.peek(1), undefined);
    assertEquals(cache.get(4)?.bytes.subarray(0, 4190).every((b) => b === 4), true);
  });

  it("evicts the least recently used chunk; get() refreshes recency, peek() does not", () => {
    const cache = new ChunkCache(3);
    const [a, b] = [put(cache, 1, 100), put(cache, 2, 100), put(cache, 3, 100)];
    assertStrictEquals(cache.get(1), a);
    cache.peek(2);
    assertStrictEquals(put(cache, 4, 100), b);
    assertEquals([cache.peek(1) !== undefined, cache.peek(2), cache.peek(3) !== undefined], [
      true,
      undefined,
      true,
    ]);
  });

  it("gives a chunk a new buffer when the evicted one is too small or much too large", () => {
    const cache = new ChunkCache(1);
    const first = put(cache, 1, 4200);
    const small = put(cache, 2, 100);
    assert(small !== first && small.bytes.length < 200);
    const large = put(cache, 3, 9000);
    assert(large !== small && large.bytes.length >= 9000);
    assertEquals([cache.size, cache.weight, cache.evictions], [1, 9000, 2]);
  });

  it("a lower limit evicts at once; re-inserting a key replaces its chunk", () => {
    const cache = new ChunkCache(4);
    for (let k = 1; k <= 4; k++) put(cache, k, 50);
    // A full cache claims by evicting the oldest, even for a key it then replaces.
    put(cache, 4, 70);
    assertEquals([cache.size, cache.weight, cache.evictions], [3, 170, 1]);
    cache.limit = 2;
    assertEquals([cache.size, cache.weight, cache.evictions, cache.limit], [2, 120, 2, 2]);
    assertEquals(cache.peek(2), undefined);
    assertEquals([cache.peek(3)?.length, cache.peek(4)?.length], [50, 70]);
  });

  it("cuts the buffers of a growing cache from shared slabs without overlap, and no more once full", () => {
    const cache = new ChunkCache(100);
    const slots: ChunkSlot[] = [];
    for (let k = 0; k < 100; k++) slots.push(put(cache, k, 4000 + k, k));
    // 128 KiB slabs hold 30 buffers of about 4.3 KiB: the first 30 share one.
    assertStrictEquals(slots[29].bytes.buffer, slots[0].bytes.buffer);
    assert(slots[30].bytes.buffer !== slots[0].bytes.buffer);
    assertEquals(new Set(slots.map((s) => s.bytes.buffer)).size, 4);
    for (const [k, slot] of slots.entries()) {
      assertEquals(slot.bytes.subarray(0, slot.length).every((b) => b === k), true, `chunk ${k}`);
    }
    for (const slab of new Set(slots.map((s) => s.bytes.buffer))) {
      const views = slots.map((s) => s.bytes).filter((b) => b.buffer === slab);
      views.sort((a, b) => a.byteOffset - b.byteOffset);
      for (let i = 1; i < views.length; i++) {
        assert(views[i - 1].byteOffset + views[i - 1].byteLength <= views[i].byteOffset);
      }
    }
    // Full: a chunk that fits no evicted buffer gets an array of its own, so slabs stop growing.
    const big = put(cache, 100, 8000);
    assertEquals([big.bytes.byteOffset, big.bytes.buffer.byteLength], [0, big.bytes.length]);
    // So does one a slab would hardly hold.
    const huge = new ChunkCache(2).claim(20_000);
    assertEquals(huge.bytes.buffer.byteLength, huge.bytes.length);
  });

  it("cuts no more slab buffers than the largest size the cache reached", () => {
    const cache = new ChunkCache(4);
    for (let k = 1; k <= 4; k++) put(cache, k, 1000);
    cache.limit = 1;
    cache.limit = 4;
    const regrown = [put(cache, 5, 1000), put(cache, 6, 1000), put(cache, 7, 1000)];
    for (const slot of regrown) assertEquals(slot.bytes.buffer.byteLength, slot.bytes.length);
    const grown = new ChunkCache(8);
    for (let k = 1; k <= 4; k++) put(grown, k, 1000);
    assertEquals(put(grown, 5, 1000).bytes.buffer.byteLength, 128 * 1024);
  });

  it("keeps at most `limit` chunks in buffers at most a quarter over their bytes, under any use", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 15, max: 5000 }))),
        (limit, ops) => {
          const cache = new ChunkCache(limit);
          const live = new Map<number, ChunkSlot>();
          for (const [key, length] of ops) {
            const hit = cache.get(key);
            if (hit) {
              assertEquals(hit.bytes.subarray(0, hit.length).every((b) => b === key), true);
              continue;
            }
            put(cache, key, length, key);
            live.set(key, cache.peek(key)!);
            for (const k of live.keys()) if (!cache.peek(k)) live.delete(k);
            assert(cache.size <= limit);
            let bytes = 0, capacity = 0;
            for (const slot of live.values()) {
              bytes += slot.length;
              capacity += slot.bytes.length;
              assert(slot.bytes.length <= slot.length + (slot.length >>> 2) + 128);
            }
            assertEquals([cache.size, cache.weight], [live.size, bytes]);
            assert(new Set([...live.values()].map((s) => s.bytes)).size === live.size);
            assert(capacity <= bytes * 1.25 + 128 * live.size);
          }
        },
      ),
    );
  });
});

describe("chunk cache in an index", () => {
  async function loaded(chunkCacheLimit: number) {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create<string, string>("/db", {
      fs,
      chunkCacheLimit,
      chunkKeyLimit: 4,
      segmentSplitKeyThreshold: 100_000,
    });
    for (let i = 0; i < 400; i++) index.put(`k${String(i).padStart(4, "0")}`, `value-${i}`);
    await index.compact();
    await index.close();
    return { fs, index: await SegmentIndex.open<string, string>("/db", { fs }) };
  }

  it("serves every key right while slots are evicted and reused, and counts hits, misses and evictions", async () => {
    const { index } = await loaded(8);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 400; i += 7) {
        assertEquals(index.get(`k${String(i).padStart(4, "0")}`), `value-${i}`);
      }
    }
    assertEquals(index.get("k0001"), "value-1");
    assertEquals(index.get("k0001"), "value-1");
    const c = index.metrics().chunkCache;
    assertEquals(c.loads, c.misses);
    assertEquals(c.hits + c.misses, 2 * 58 + 2);
    assert(c.hits >= 1 && c.misses >= 58);
    assertEquals(c.size, 8);
    assertEquals(c.evictions, c.misses - 8);
    assert(c.bytes > 0 && c.bytes < 8 * 200);
    await index.close();
  });

  it("keeps a scan's values intact while gets reuse the cached chunks it was decoded from", async () => {
    const { index } = await loaded(2);
    index.get("k0000");
    const seen: string[] = [];
    let i = 0;
    for (const [k, v] of index.range()) {
      seen.push(`${k}=${v}`);
      index.get(`k${String((i++ * 37) % 400).padStart(4, "0")}`);
    }
    assertEquals(seen, Array.from({ length: 400 }, (_, n) => `k${String(n).padStart(4, "0")}=value-${n}`));
    await index.close();
  });

  it("detects a flipped byte in a chunk on a cache miss, and caches nothing of it", async () => {
    const { fs, index } = await loaded(8);
    await index.close();
    const path = fs.list("/db").map((n) => `/db/${n}`).find((p) => p.endsWith(".chunks"));
    assert(path !== undefined);
    const good = fs.readFile(path);
    const bad = good.slice();
    bad[40] ^= 0x10;
    const handle = fs.open(path, "write");
    handle.write(0, bad);
    handle.close();
    const reopened = await SegmentIndex.open<string, string>("/db", { fs });
    const error = assertThrows(() => reopened.get("k0000"));
    assertInstanceOf(error, CorruptionError);
    assertEquals(reopened.metrics().chunkCache.size, 0);
    await reopened.close().catch(() => {});
  });
});
