import { assert, assertEquals, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import { type StartBound, TableCursor } from "../../engine/_cursor.ts";
import { type Entry, TableBuilder, tablePath, TableReader } from "../../engine/_table.ts";
import { ChunkCache } from "../../engine/_chunk_cache.ts";
import { CorruptionError } from "../../engine/errors.ts";
import { MemoryFileSystem } from "../../engine/fs/mem_fs.ts";
import { compareBytes } from "../../engine/type_descriptor.ts";

const DIR = "/t";
const LAYOUT = { chunkKeyLimit: 1000, chunkByteTarget: 512, bloomBitsPerKey: 0 };

function stats() {
  return {
    bloomChecks: 0,
    bloomNegatives: 0,
    bloomFalsePositives: 0,
    chunkCacheHits: 0,
    chunkCacheMisses: 0,
  };
}

/** Key `i` as 8 ASCII digits, so neighbours share long prefixes. */
function keyOf(i: number): Uint8Array {
  return new TextEncoder().encode(String(i).padStart(8, "0"));
}

/** Entries 0, 2, 4, … of `count`, every seventh a tombstone, values of varying size. */
function model(count: number): Entry[] {
  return Array.from({ length: count }, (_, n) => ({
    key: keyOf(2 * n),
    value: n % 7 === 3 ? undefined : new Uint8Array((n * 37) % 300).fill(n & 0xff),
  }));
}

function writeTable(
  entries: readonly Entry[],
): { fs: MemoryFileSystem; reader: TableReader; reads: number[] } {
  const fs = new MemoryFileSystem();
  fs.mkdir(DIR);
  const builder = new TableBuilder(fs, DIR, 1, LAYOUT);
  for (const e of entries) builder.add(e.key, e.value);
  const { meta, unsynced } = builder.finish();
  for (const handle of unsynced) handle.close();
  // The reader's handle records the length of every read.
  const reads: number[] = [];
  const recording = new Proxy(fs, {
    get(target, name) {
      if (name !== "open") {
        const member = Reflect.get(target, name, target);
        return typeof member === "function" ? member.bind(target) : member;
      }
      return (path: string, mode: "read") => {
        const handle = target.open(path, mode);
        return new Proxy(handle, {
          get(inner, key) {
            const member = Reflect.get(inner, key, inner);
            if (key !== "read") return typeof member === "function" ? member.bind(inner) : member;
            return (position: number, length: number) => {
              reads.push(length);
              return inner.read(position, length);
            };
          },
        });
      };
    },
  });
  return { fs, reader: new TableReader(recording, DIR, meta, LAYOUT, new ChunkCache(16), stats()), reads };
}

function collect(
  reader: TableReader,
  start: StartBound | undefined,
  reverse: boolean,
  limit = Infinity,
  end?: StartBound,
) {
  const out: Entry[] = [];
  for (
    const cursor = new TableCursor(reader, start, reverse, limit, end);
    cursor.current && out.length < limit;
    cursor.next()
  ) {
    out.push({ key: cursor.current.key, value: cursor.current.value });
  }
  return out;
}

/** What a cursor from `start` must return: the model filtered by the bound, in the cursor's direction. */
function expected(entries: readonly Entry[], start: StartBound | undefined, reverse: boolean): Entry[] {
  const inRange = entries.filter((e) => {
    if (!start) return true;
    const c = compareBytes(e.key, start.key);
    return reverse ? c < 0 || (c === 0 && !start.exclusive) : c > 0 || (c === 0 && !start.exclusive);
  });
  return reverse ? inRange.reverse() : inRange;
}

describe("TableCursor read-ahead", () => {
  // 5,000 entries in chunks of about 512 bytes: hundreds of chunks, so reads grow to the largest
  // read-ahead and chunk and read boundaries fall everywhere.
  const entries = model(5000);
  const { reader } = writeTable(entries);

  it("returns every entry forwards and backwards across many reads", () => {
    assertEquals(collect(reader, undefined, false), entries);
    assertEquals(collect(reader, undefined, true), [...entries].reverse());
  });

  it("starts at any key, present or not, inclusive or exclusive, in both directions", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1, max: 10_001 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 1200 }),
        (at, exclusive, reverse, limit) => {
          const start = { key: keyOf(Math.max(at, 0)), exclusive };
          assertEquals(
            collect(reader, start, reverse, limit),
            expected(entries, start, reverse).slice(0, limit),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it("reports a flipped byte deep inside a read-ahead block as corruption", () => {
    const { fs, reader: victim } = writeTable(entries);
    const chunks = victim.sparse.entries;
    const target = chunks[Math.floor(chunks.length * 0.7)];
    const path = tablePath(DIR, 1, ".chunks");
    const handle = fs.open(path, "write");
    const at = target.offset + Math.floor(target.length / 2);
    handle.write(at, new Uint8Array([handle.read(at, 1)[0] ^ 0x10]));
    handle.close();
    for (const reverse of [false, true]) {
      assertThrows(() => collect(victim, undefined, reverse), CorruptionError, "checksum");
    }
    // A cursor that stops before the damaged chunk reads past it only in its read-ahead, and that
    // is verified chunk by chunk as it is reached, so the early entries still come back.
    const before = entries.filter((e) => compareBytes(e.key, chunks[5].lastKey) <= 0);
    assertEquals(collect(victim, undefined, false, before.length), before);
  });
});

describe("TableCursor reads sized by its caller", () => {
  // No tombstones, so a limit of n entries is n entries of the table.
  const entries = model(5000).map((e, n) => ({ key: e.key, value: e.value ?? new Uint8Array(n % 50) }));
  const { reader, reads } = writeTable(entries);
  const chunks = reader.sparse.entries;

  /** Bytes of the chunks from the one holding `from` to the one holding `to`, both included. */
  function spanBytes(from: Uint8Array, to: Uint8Array): number {
    const chunkOf = (key: Uint8Array) => chunks.findIndex((c) => compareBytes(c.lastKey, key) >= 0);
    const [a, b] = [chunkOf(from), chunkOf(to)].sort((x, y) => x - y);
    let bytes = 0;
    for (let k = a; k <= b; k++) bytes += chunks[k].length;
    return bytes;
  }

  it("reads what a limit needs at once, and at most one chunk more", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4999 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 1000 }),
        (n, reverse, limit) => {
          const start = { key: entries[n].key, exclusive: false };
          reads.length = 0;
          const got = collect(reader, start, reverse, limit);
          const all = expected(entries, start, reverse);
          assertEquals(got, all.slice(0, limit));
          assertEquals(reads.length, 1);
          // The start's chunk, as the start may be anywhere in it, and the fewest chunks after it
          // that hold `limit` entries.
          const step = reverse ? -1 : 1;
          let at = chunks.findIndex((c) => compareBytes(c.lastKey, start.key) >= 0);
          let most = chunks[at].length;
          for (let left = limit; left > 0 && chunks[at + step]; left -= chunks[at].entryCount) {
            at += step;
            most += chunks[at].length;
          }
          assert(reads[0] <= most, `read ${reads[0]} bytes, at most ${most} needed`);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("reads no chunk past the one that holds the end bound", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4999 }),
        fc.integer({ min: 0, max: 300 }),
        fc.boolean(),
        fc.boolean(),
        (n, width, reverse, exclusive) => {
          const other = Math.min(4999, n + width);
          const [start, end] = reverse
            ? [{ key: entries[other].key, exclusive: false }, { key: entries[n].key, exclusive }]
            : [{ key: entries[n].key, exclusive: false }, { key: entries[other].key, exclusive }];
          reads.length = 0;
          const all = collect(reader, start, reverse, Infinity, end);
          const inRange = expected(entries, start, reverse).filter((e) => {
            const c = compareBytes(e.key, end.key);
            return reverse ? c > 0 || (c === 0 && !exclusive) : c < 0 || (c === 0 && !exclusive);
          });
          // The cursor goes on past the bound (its caller stops it), but its first read does not.
          assertEquals(all.slice(0, inRange.length), inRange);
          const span = spanBytes(start.key, end.key);
          assert(reads[0] <= span, `first read of ${reads[0]} bytes, the range spans ${span}`);
        },
      ),
      { numRuns: 150 },
    );
  });
});
