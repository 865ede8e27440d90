/**
 * String keys and values of scans decoded a chunk at a time (`engine/_text_runs.ts`):
 * the same strings as decoding each value, whether a chunk's payload is
 * ASCII or not, for values in and outside the registered chunks, through
 * merges of several sources, forwards and in reverse.
 *
 * @module
 */
import { assertEquals } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import { MemoryFileSystem, SegmentIndex, STRING } from "../../engine/mod.ts";
import { TextRuns } from "../../engine/_text_runs.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const isAscii = (s: string) => [...s].every((c) => c.charCodeAt(0) < 0x80);

/** `parts` back to back in one buffer, and where each lies. */
function layout(parts: string[]): { bytes: Uint8Array; at: [number, number][] } {
  const encoded = parts.map(utf8);
  const bytes = new Uint8Array(encoded.reduce((n, e) => n + e.length, 0) + 8).subarray(4);
  const at: [number, number][] = [];
  let offset = 0;
  for (const e of encoded) {
    bytes.set(e, offset);
    at.push([offset, offset + e.length]);
    offset += e.length;
  }
  return { bytes, at };
}

describe("TextRuns", () => {
  it("gives each value's own decoding, from ASCII runs, other runs and no run", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string({ unit: "grapheme", maxLength: 12 }), { minLength: 1, maxLength: 6 }), {
          maxLength: 12,
        }),
        (chunks) => {
          let decoded = 0;
          const runs = new TextRuns((b) => {
            decoded++;
            return STRING.decode(b);
          });
          const values: [Uint8Array, string][] = [];
          for (const parts of chunks) {
            const { bytes, at } = layout(parts);
            runs.register(bytes, 0, at.at(-1)![1]);
            parts.forEach((p, i) => values.push([bytes.subarray(at[i][0], at[i][1]), p]));
          }
          // Values of the last 8 chunks come from runs; older ones, and bytes of no chunk, fall back.
          values.push([utf8("elsewhere"), "elsewhere"]);
          decoded = 0;
          for (const [bytes, text] of values) assertEquals(runs.decode(bytes), text);
          const ascii = chunks.slice(-8).filter((parts) => parts.every(isAscii));
          const fromRuns = ascii.reduce((n, parts) => n + parts.length, 0);
          assertEquals(decoded, values.length - fromRuns);
        },
      ),
    );
  });

  it("decodes per value any run with a byte of 0x80 or above, even one that decodes to as many units", () => {
    // 0x81 0x01 is a two-byte varint; 0xff a byte no UTF-8 has; each decodes to one U+FFFD, so the
    // run's text is as long as its bytes, yet its values must not be cut from that text.
    const bytes = new Uint8Array([0x81, 0x01, 0x61, 0x62, 0xff, 0x63, 0x41, 0xc3, 0x42]);
    const seen: number[][] = [];
    const runs = new TextRuns((b) => {
      seen.push([...b]);
      return `decoded ${b.length}`;
    });
    runs.register(bytes, 0, bytes.length);
    assertEquals(runs.decode(bytes.subarray(2, 4)), "decoded 2");
    assertEquals(runs.decode(bytes.subarray(4, 6)), "decoded 2");
    assertEquals(runs.decode(bytes.subarray(6, 9)), "decoded 3");
    assertEquals(seen, [[0x61, 0x62], [0xff, 0x63], [0x41, 0xc3, 0x42]]);
  });
});

describe("SegmentIndex scans of STRING values", () => {
  it("return exactly the keys and values put, across ASCII and non-ASCII chunks, long values and merged sources", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create<string, string>("/db", {
      fs,
      chunkKeyLimit: 4,
      segmentWriteCacheKeyLimit: 50,
      deltaFileLimit: 8,
    });
    const model = new Map<string, string>();
    const value = (i: number, round: number) =>
      i % 11 === 0 ? `é${i}-${round}` : i % 13 === 0
        ? "x".repeat(130 + i % 7) // a value tag of two varint bytes, 0x80 and above
        : `v${i}-${round}`;
    for (let round = 0; round < 3; round++) {
      for (let i = round; i < 300; i += round + 1) {
        // Some keys not ASCII, so some chunks' keys decode one by one.
        const k = `k${String(i).padStart(4, "0")}${i % 17 === 0 ? "é" : ""}`;
        model.set(k, value(i, round));
        await index.put(k, value(i, round));
      }
      // Round 0 ends compacted, round 1 in delta tables, round 2 in the write cache.
      if (round === 0) await index.compact();
      if (round === 1) await index.flush();
    }
    const expected = [...model].sort(([a], [b]) => (a < b ? -1 : 1));
    assertEquals([...index.range()], expected);
    assertEquals([...index.range({ reverse: true })], [...expected].reverse());
    assertEquals(
      [...index.range({ gte: "k0100", limit: 37 })],
      expected.filter(([k]) => k >= "k0100").slice(0, 37),
    );
    await index.compact();
    assertEquals([...index.range()], expected);
    await index.close();
  });
});
