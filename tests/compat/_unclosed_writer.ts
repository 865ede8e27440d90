/**
 * Child process of the compatibility test: writes with today's engine and
 * exits without closing, so the data folder keeps records only in the
 * write-ahead log for the previous release to recover.
 *
 * Usage: _unclosed_writer.ts DIR
 */
import process from "node:process";
import { JSON_VALUE, SegmentIndex, STRING } from "../../engine/mod.ts";
import { logOnlyEntries } from "./_compat_data.ts";

const index = await SegmentIndex.open(process.argv.at(-1)!, {
  keyType: STRING,
  valueType: JSON_VALUE,
  durability: "sync",
});
await index.batch(logOnlyEntries().map(([key, value]) => ({ type: "put" as const, key, value })));
process.exit(0);
