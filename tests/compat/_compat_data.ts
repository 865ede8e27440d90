/** The data the compatibility test writes with today's engine and reads back with the previous release. */
import type { JsonValue } from "../../engine/mod.ts";

/** Entries flushed and compacted into segment files (enough keys for several splits). */
export function tableEntries(): [string, JsonValue][] {
  return Array.from({ length: 3000 }, (_, i) => [
    `k${String(i).padStart(5, "0")}`,
    { n: i, text: "é☃".repeat(i % 5), list: [i % 3, null, i % 2 === 0] },
  ]);
}

/** Keys deleted after the table entries were written: tombstones in delta files. */
export function deletedKeys(): string[] {
  return Array.from({ length: 300 }, (_, i) => `k${String(i * 10).padStart(5, "0")}`);
}

/** Entries that reach only the write-ahead log before the writer exits. */
export function logOnlyEntries(): [string, JsonValue][] {
  return Array.from({ length: 200 }, (_, i) => [`w${String(i).padStart(4, "0")}`, { wal: i }]);
}

/** What every reader must see after the three steps above, in key order. */
export function expectedEntries(): [string, JsonValue][] {
  const deleted = new Set(deletedKeys());
  return [...tableEntries().filter(([k]) => !deleted.has(k)), ...logOnlyEntries()];
}
