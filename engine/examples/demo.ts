/**
 * `deno task serve` until the management agent exists: opens (or creates)
 * the index `./data/demo`, writes a batch of records, reads some back, scans
 * a range, makes everything durable, prints what happened, and exits.
 * Run it again and it reopens the same index and adds to it.
 *
 * @module
 */
import { JSON_VALUE, type JsonValue, SegmentIndex, STRING } from "../mod.ts";

const DIRECTORY = "./data/demo";
const RECORDS = 20_000;

const existing = await SegmentIndex.tryOpen<string, JsonValue>(DIRECTORY, {
  keyType: STRING,
  valueType: JSON_VALUE,
});
const index = existing ?? await SegmentIndex.create<string, JsonValue>(DIRECTORY, {
  keyType: STRING,
  valueType: JSON_VALUE,
});
console.log(`${existing ? "Reopened" : "Created"} index '${index.name}' in ${DIRECTORY}`);

const round = (index.get("meta:runs") as number | undefined ?? 0) + 1;
const started = performance.now();
const ops = [];
for (let i = 0; i < RECORDS; i++) {
  const id = `user:${String(i).padStart(6, "0")}`;
  ops.push({
    type: "put" as const,
    key: id,
    value: { name: `User ${i}`, visits: round, score: (i * 7919) % 1000 },
  });
}
ops.push({ type: "put" as const, key: "meta:runs", value: round });
await index.batch(ops);
const writeMs = performance.now() - started;
console.log(
  `Wrote ${RECORDS} records in one batch: ${writeMs.toFixed(1)} ms (${
    (RECORDS / writeMs * 1000).toFixed(0)
  }/s)`,
);

const readStart = performance.now();
let found = 0;
for (let i = 0; i < RECORDS; i += 7) {
  if (index.get(`user:${String(i).padStart(6, "0")}`) !== undefined) found++;
}
console.log(`Read back ${found} records: ${(performance.now() - readStart).toFixed(1)} ms`);
console.log("user:000042 =", JSON.stringify(index.get("user:000042")));

console.log("The first three users with a key from user:010000:");
for (const [key, value] of index.range({ gte: "user:010000", limit: 3 })) {
  console.log(`  ${key} → ${JSON.stringify(value)}`);
}

await index.flush();
const m = index.metrics();
console.log(
  `Durable. Run ${round}: ${m.segments.count} segment(s), ${m.segments.totalKeys} entries in tables, ` +
    `${m.maintenance.flushes} flush(es), ${m.maintenance.compactions} compaction(s), ${m.split.completed} split(s); ` +
    `write-ahead log ${m.wal.durability}, ${m.wal.syncs} fsync(s).`,
);
await index.close();
console.log("Closed. Run `deno task serve` again to reopen and add to it.");
