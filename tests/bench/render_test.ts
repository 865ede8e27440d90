/**
 * The peers tables of docs/benchmarks.md and the README's performance summary, rendered from a small fixed
 * result: ratios against the best peer, targets judged met or unmet, the memory target across the 1M and 10M
 * runs, and the exact text (golden files).
 *
 * @module
 */
import { assert, assertStringIncludes } from "@std/assert";
import { renderPeers, renderReadmeSummary } from "../../bench/render.ts";
import type { EngineInfo, PeersResult, RunMeasure, WorkloadInfo } from "../../bench/peers/harness.ts";
import { assertGolden } from "../_golden.ts";

const MIB = 2 ** 20;

const ENGINES: EngineInfo[] = [
  { id: "hestia-node", label: "HestiaStore (Node)", kind: "hestia", runtime: "node", options: "defaults" },
  { id: "hestia-node-25", label: "HestiaStore 25% (Node)", kind: "hestia", runtime: "node", options: "25%" },
  { id: "alpha", label: "alpha", kind: "peer", runtime: "node", options: "defaults" },
  { id: "beta", label: "beta", kind: "peer", runtime: "node", options: "defaults" },
];

// Workload ids no real profile is ever kept under, so the profile column reads "none kept".
const WORKLOADS: WorkloadInfo[] = [
  {
    id: "fixture-bulk",
    label: "bulk",
    unit: "puts",
    latency: false,
    target: { ratio: 1.0, against: "best peer" },
    apis: { HestiaStore: "batch()", alpha: "a", beta: "b" },
  },
  {
    id: "fixture-scan",
    label: "scan",
    unit: "entries",
    latency: true,
    target: { ratio: 2.0, against: "best peer" },
    apis: { HestiaStore: "range()", alpha: "a", beta: "b" },
  },
];

function measure(ops: number, hwmMiB: number): RunMeasure {
  return {
    opsPerSecond: ops,
    ops,
    seconds: 1,
    p50Us: 1,
    p99Us: 2,
    vmHwmBytes: hwmMiB * MIB,
    rssAnonPeakBytes: (hwmMiB / 2) * MIB,
    rssFilePeakBytes: (hwmMiB / 4) * MIB,
    diskBytes: 10 * MIB,
    diskApparentBytes: 10 * MIB,
    loadAverage: 0.1,
  };
}

function result(
  mode: PeersResult["mode"],
  keys: number,
  table: Record<string, [number, number][]>,
): PeersResult {
  return {
    benchmark: "peers",
    mode,
    date: "2026-11-30T00:00:00.000Z",
    keys,
    keyBytes: 16,
    valueBytes: 100,
    runs: 3,
    secondsPerWorkload: 5,
    durableOps: 10_000,
    command: "node --import tsx bench/peers/harness.ts",
    machine: {
      cpu: "test CPU",
      cores: 2,
      memoryBytes: 8 * 2 ** 30,
      kernel: "6.0",
      fileSystem: "ext4",
      loadAverageStart: [0.1],
      loadAverageEnd: [0.2],
    },
    versions: { node: "20" },
    engines: ENGINES,
    workloads: WORKLOADS,
    cells: Object.entries(table).flatMap(([engine, rows]) =>
      rows.map(([ops, hwm], i) => {
        const m = measure(ops, hwm);
        return { engine, workload: WORKLOADS[i].id, runs: [m], median: m };
      })
    ),
    totalSeconds: 60,
  };
}

// [ops per second, VmHWM MiB] per workload (bulk, scan).
const FULL = result("full", 1_000_000, {
  "hestia-node": [[300, 100], [500, 80]],
  "hestia-node-25": [[250, 90], [200, 70]],
  alpha: [[200, 120], [300, 60]],
  beta: [[100, 110], [100, 50]],
});
const BIG = result("10m", 10_000_000, {
  "hestia-node": [[280, 120], [450, 90]],
  "hestia-node-25": [[240, 140], [180, 75]],
  alpha: [[190, 130], [280, 100]],
  beta: [[90, 115], [90, 85]],
});

Deno.test("renderPeers() judges each workload against the best peer and its own target", () => {
  const md = renderPeers([FULL]);
  // bulk: 300 ÷ alpha's 200 = 1.50× against ≥ 1.0×; scan: 500 ÷ 300 = 1.67× against ≥ 2.0×.
  assertStringIncludes(md, "| bulk | alpha 200 | 1.50× ✓ | ≥ 1.0× | – | – |");
  assertStringIncludes(md, "| scan | alpha 300 | 1.67× ✗ (unmet) | ≥ 2.0× | – | none kept |");
  assert(!md.includes("Memory target"), "no memory target without a 10M run");
});

Deno.test("renderPeers() judges the 10M run's memory against the 1M run and the lowest peer", () => {
  const md = renderPeers([FULL, BIG]);
  // 120 ÷ 100 = 1.20× (within 1.25×), and 120 > beta's 115: above the lowest peer.
  assertStringIncludes(
    md,
    "| HestiaStore (Node) | bulk | 100 MiB | 120 MiB | 1.20× ✓ | beta 115 MiB | ✗ (unmet) |",
  );
  // 140 ÷ 90 = 1.56×.
  assertStringIncludes(md, "| HestiaStore 25% (Node) | bulk | 90 MiB | 140 MiB | 1.56× ✗ (unmet) |");
  assertGolden(new URL("./testdata/peers_tables.golden.md", import.meta.url), md);
});

Deno.test("renderReadmeSummary() gives one line per workload, or says how to run the comparison", () => {
  const md = renderReadmeSummary([BIG, FULL]);
  assertStringIncludes(md, "1,000,000 keys, 3 runs (medians)");
  assertStringIncludes(md, "| scan | alpha 300 | 1.67× ✗ | ≥ 2.0× |");
  assertGolden(new URL("./testdata/readme_summary.golden.md", import.meta.url), md);
  assertStringIncludes(renderReadmeSummary([]), "deno task bench:peers");
});
