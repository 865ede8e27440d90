/**
 * The exposition checked by strict outside tools: `promtool check metrics`
 * (exit 0 and no output) on text 0.0.4, and the strict parsers of Debian's
 * `python3-prometheus-client` on both formats, for the fixed two-index
 * snapshot and for a real index after a workload. Both formats must parse
 * to the same samples and families. Needs the Debian packages `prometheus`
 * and `python3-prometheus-client`; without them the tests fail saying so.
 *
 * @module
 */
import { assertEquals, assertGreater } from "@std/assert";
import { afterAll, beforeAll, describe, it } from "@std/testing/bdd";
import { MemoryFileSystem, type MetricsSnapshot, SegmentIndex } from "../../engine/mod.ts";
import { type ExpositionFormat, renderMetrics } from "../../exporters/mod.ts";
import { FAMILIES } from "../../exporters/_catalog.ts";
import { parseStrict, promtoolCheck, sampleSet } from "./_oracles.ts";
import { FIXED_BUILD, fixedSnapshot, READY_VALUES, twoIndexes } from "./_snapshots.ts";
import { prng } from "../_prng.ts";

/** The 0.0.4 text passes promtool with exit 0 and no output at all. */
function assertPromtoolClean(snapshots: readonly MetricsSnapshot[]): void {
  const result = promtoolCheck(renderMetrics(snapshots, "prometheus-0.0.4", FIXED_BUILD));
  assertEquals(result, { code: 0, output: "" }, "promtool check metrics must exit 0 with no output");
}

/** Both formats pass the strict parsers and carry the same samples and families. */
function assertParsersAgree(snapshots: readonly MetricsSnapshot[]): void {
  const fromText = parseStrict(renderMetrics(snapshots, "prometheus-0.0.4", FIXED_BUILD), "prometheus-0.0.4");
  const fromOm = parseStrict(renderMetrics(snapshots, "openmetrics-1.0.0", FIXED_BUILD), "openmetrics-1.0.0");
  assertEquals(fromOm.families.length, 1 + FAMILIES.length);
  assertEquals(sampleSet(fromOm), sampleSet(fromText));
  assertEquals(fromOm.families, fromText.families);
  assertGreater(fromOm.samples.length, FAMILIES.length * snapshots.length);
}

/** A real index after puts, gets, deletes, a batch and a range, with flushes, compactions and splits. */
async function workedIndex(name: string): Promise<SegmentIndex> {
  const index = await SegmentIndex.create(`/${name}`, {
    fs: new MemoryFileSystem(),
    name,
    segmentWriteCacheKeyLimit: 200,
    segmentSplitKeyThreshold: 1500,
    metrics: { sampleEvery: 1 },
  });
  const random = prng(7);
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 4000; i++) {
    const key = `k${Math.floor(random() * 3000).toString().padStart(5, "0")}`;
    if (i % 10 === 9) writes.push(index.delete(key));
    else writes.push(index.put(key, `value-${i}`));
    index.get(`k${(i * 7 % 3000).toString().padStart(5, "0")}`);
  }
  writes.push(index.batch([{ type: "put", key: "z", value: "1" }, { type: "delete", key: "k00001" }]));
  await Promise.all(writes);
  await index.compact();
  await index.put("after-compaction", "buffered");
  for (const _ of index.range({ gte: "k01000", lt: "k01010" })) {
    // Only counts a range.
  }
  return index;
}

describe("exposition oracles", () => {
  const open: SegmentIndex[] = [];
  let worked: MetricsSnapshot[] = [];
  let closed: MetricsSnapshot;
  const escapedNames = ["back\\slash", 'say "hi"', "two\nlines", "héllo ☃ 日本", ""];

  beforeAll(async () => {
    open.push(await workedIndex("orders"), await workedIndex("customers"));
    worked = open.map((index) => index.metrics());
    const index = await workedIndex("closed");
    await index.close();
    closed = index.metrics();
  });

  afterAll(async () => {
    for (const index of open) await index.close();
  });

  const cases: [name: string, snapshots: () => MetricsSnapshot[]][] = [
    ["the fixed two-index snapshot", twoIndexes],
    ["two real indexes after a workload", () => worked],
    ["a closed real index beside open ones", () => [closed, ...worked]],
    [
      "index names that need escaping",
      () => escapedNames.map((n) => fixedSnapshot(n, "READY", READY_VALUES)),
    ],
    ["no index", () => []],
  ];
  for (const [name, snapshots] of cases) {
    it(`promtool check metrics passes ${name} (0.0.4) with no output`, () => {
      assertPromtoolClean(snapshots());
    });

    it(`prometheus_client's strict parsers read ${name} in both formats, with the same samples`, () => {
      assertParsersAgree(snapshots());
    });
  }

  it("the real workload reached flushes, splits and latency samples", () => {
    const orders = worked.find((s) => s.indexName === "orders")!;
    assertGreater(orders.maintenance.flushes, 0);
    assertGreater(orders.split.scheduled, 0);
    assertGreater(orders.latency.write.count, 0);
    assertEquals(closed.state, "CLOSED");
  });

  for (const format of ["prometheus-0.0.4", "openmetrics-1.0.0"] as ExpositionFormat[]) {
    it(`prometheus_client reads the fixed snapshot's index_up series exactly (${format})`, () => {
      const parsed = parseStrict(renderMetrics(twoIndexes(), format, FIXED_BUILD), format);
      const up = parsed.samples.filter(([name]) => name === "hestiastore_index_up");
      assertEquals(up, [
        ["hestiastore_index_up", [["index", "customers"]], "1.0"],
        ["hestiastore_index_up", [["index", "orders"]], "1.0"],
      ]);
    });

    it(`escaped index names parse back to the exact names (${format})`, () => {
      const snapshots = escapedNames.map((n) => fixedSnapshot(n, "READY", READY_VALUES));
      const parsed = parseStrict(renderMetrics(snapshots, format, FIXED_BUILD), format);
      const indexes = parsed.samples.filter(([name]) => name === "hestiastore_ops_put_total")
        .map(([, labels]) => Object.fromEntries(labels).index);
      assertEquals(indexes, [...escapedNames].sort());
    });
  }
});
