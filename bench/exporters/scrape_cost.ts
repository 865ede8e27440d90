/**
 * What one scrape costs at scale (Stage B, reported, not gated): 100
 * indexes with 1,000 loaded segments each, rendered by our exporter and, in
 * the same run, by `prom-client` 15.1.3 producing the same series.
 *
 * The indexes are not real: building 100 indexes of 1,000 loaded segments
 * each would take minutes and gigabytes. Each is a `MetricsSource` whose
 * `metrics()` returns a frozen snapshot built once: the shape and histograms
 * of a real snapshot (taken from a small real index after some traffic),
 * with 1,000 `loadedSegments` entries and counters that differ per index.
 * Per-segment data is not exported, so those entries cost only the snapshot
 * they sit in.
 *
 * prom-client gets every catalog family the way its docs recommend for
 * snapshot data: gauges and counters with a `collect()` that resets and
 * sets (counters: `inc` by the total) one series per index. Its `Histogram`
 * cannot take precomputed buckets, so the latency histogram is a metric
 * object whose `get()` returns the buckets, `_sum` and `_count` in
 * prom-client's value format, rendered by prom-client's registry. Before
 * timing, the run checks that both produce the same set of samples (name,
 * labels, value) in text format 0.0.4.
 *
 *   deno run -A bench/exporters/scrape_cost.ts [--indexes 100] [--segments 1000] [--out FILE]
 *   node --import tsx bench/exporters/scrape_cost.ts
 *
 * Writes bench/results/exporter-scrape-<runtime>.json unless `--out` says otherwise.
 *
 * @module
 */
import { measure } from "mitata";
import { availableParallelism, loadavg } from "node:os";
import client from "prom-client";
import { arg, RUNTIME, writeResult } from "../_common.ts";
import {
  MemoryFileSystem,
  type MetricsSnapshot,
  SegmentIndex,
  type SegmentMetrics,
} from "../../engine/mod.ts";
import { deepFreeze } from "../../engine/metrics.ts";
import { createMetricsHandler, renderMetrics, VERSION } from "../../exporters/mod.ts";
import { BUILD_INFO_HELP, BUILD_INFO_NAME, FAMILIES } from "../../exporters/_catalog.ts";
import { detectRuntime } from "../../exporters/_build_info.ts";
import { canonicalLe } from "../../exporters/_exposition.ts";

/** One timed way of producing a scrape body. */
export interface ScrapeCase {
  name: string;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  minMs: number;
  /** Timed scrapes. */
  samples: number;
  bodyBytes: number;
}

/** What this benchmark writes. */
export interface ScrapeCostResult {
  benchmark: "exporter-scrape";
  runtime: string;
  runtimeVersion: string;
  date: string;
  indexes: number;
  loadedSegmentsPerIndex: number;
  /** Sample lines per scrape (identical for both libraries in text 0.0.4, checked before timing). */
  samplesPerScrape: number;
  /** Cores, and the one-minute load average when the run started and ended. */
  cores: number;
  loadAverage: [number, number];
  cases: ScrapeCase[];
}

const INDEXES = Number(arg("indexes", "100"));
const SEGMENTS = Number(arg("segments", "1000"));
const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const OM_ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;" +
  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

/** A snapshot of a small real index after some traffic: the template of every fake index. */
async function realSnapshot(): Promise<MetricsSnapshot> {
  const index = await SegmentIndex.create<string, string>("/db/template", {
    fs: new MemoryFileSystem(),
    metrics: { sampleEvery: 1 },
  });
  for (let i = 0; i < 20_000; i++) await index.put(`key-${i}`, "v".repeat(100));
  await index.flush();
  for (let i = 0; i < 20_000; i++) index.get(`key-${(i * 7919) % 40_000}`);
  const snapshot = index.metrics();
  await index.close();
  return snapshot;
}

/** Index `n` of the fake fleet: the template renamed, with `SEGMENTS` loaded segments and its own counters. */
function fakeSnapshot(template: MetricsSnapshot, n: number): MetricsSnapshot {
  const s = structuredClone(template) as Mutable<MetricsSnapshot>;
  const k = n + 1;
  s.indexName = `index-${String(n).padStart(3, "0")}`;
  s.operations = {
    gets: 1_000_003 * k,
    puts: 250_001 * k,
    deletes: 1_009 * k,
    batches: 97 * k,
    ranges: 13 * k,
  };
  const segments: SegmentMetrics[] = [];
  for (let id = 0; id < SEGMENTS; id++) {
    segments.push({
      id: id + 1,
      state: id % 97 === 0 ? "FLUSHING" : "READY",
      mainKeys: 4_000 + (id * 31) % 1_000,
      deltaKeys: (id * 17) % 500,
      deltaFiles: id % 4,
      bufferedKeys: (id * 13) % 200,
      flushRequests: id % 9,
      compactRequests: id % 5,
      bloomRequests: 10_000 + id,
      bloomRefused: 9_000 + id,
      bloomFalsePositives: id % 11,
    });
  }
  s.segments.count = SEGMENTS;
  s.segments.loaded = SEGMENTS;
  s.segments.unloaded = 0;
  s.segments.ready = SEGMENTS - segments.filter((x) => x.state !== "READY").length;
  s.segments.maintenance = SEGMENTS - s.segments.ready;
  s.segments.totalKeys = segments.reduce((t, x) => t + x.mainKeys + x.deltaKeys, 0);
  s.segments.deltaFiles = segments.reduce((t, x) => t + x.deltaFiles, 0);
  s.segments.loadedSegments = segments;
  s.segments.diskBytes = s.segments.totalKeys * 130;
  s.segmentCache = {
    ...s.segmentCache,
    hits: 5_000_011 * k,
    misses: 1_201 * k,
    loads: 1_201 * k,
    size: SEGMENTS,
  };
  s.chunkCache = { ...s.chunkCache, hits: 3_000_017 * k, misses: 40_009 * k, loads: 40_009 * k };
  return deepFreeze(s as MetricsSnapshot);
}

/** A prom-client registry holding every catalog family, each read from `snapshots()` on collection. */
function promClientRegistry(
  contentType: client.RegistryContentType,
  snapshots: () => MetricsSnapshot[],
): client.Registry<client.RegistryContentType> {
  const registry = new client.Registry<client.RegistryContentType>();
  registry.setContentType(contentType);
  new client.Gauge({
    name: BUILD_INFO_NAME,
    help: BUILD_INFO_HELP,
    labelNames: ["version", "runtime"],
    registers: [registry],
    collect() {
      this.set({ version: VERSION, runtime: detectRuntime() }, 1);
    },
  });
  for (const family of FAMILIES) {
    switch (family.kind) {
      case "counter":
        new client.Counter({
          name: family.name,
          help: family.help,
          labelNames: ["index"],
          registers: [registry],
          collect() {
            this.reset();
            for (const s of snapshots()) this.inc({ index: s.indexName }, family.value(s));
          },
        });
        break;
      case "gauge":
        new client.Gauge({
          name: family.name,
          help: family.help,
          labelNames: ["index"],
          registers: [registry],
          collect() {
            this.reset();
            for (const s of snapshots()) this.set({ index: s.indexName }, family.value(s));
          },
        });
        break;
      case "state":
        new client.Gauge({
          name: family.name,
          help: family.help,
          labelNames: ["index", "state"],
          registers: [registry],
          collect() {
            this.reset();
            for (const s of snapshots()) {
              for (const state of family.states) {
                this.set({ index: s.indexName, state }, s.state === state ? 1 : 0);
              }
            }
          },
        });
        break;
      case "histogram": {
        // prom-client's Histogram only observes; this object hands its registry the precomputed buckets.
        const precomputed = {
          name: family.name,
          help: family.help,
          type: "histogram",
          aggregator: "sum",
          get() {
            const values = [];
            for (const s of snapshots()) {
              for (const { operation, value } of family.operations) {
                const h = value(s);
                const labels = { index: s.indexName, operation };
                for (const b of h.buckets) {
                  values.push({
                    metricName: `${family.name}_bucket`,
                    labels: { ...labels, le: canonicalLe(b.le) },
                    value: b.le === Infinity ? h.count : b.count,
                  });
                }
                values.push({ metricName: `${family.name}_sum`, labels, value: h.sumSeconds });
                values.push({ metricName: `${family.name}_count`, labels, value: h.count });
              }
            }
            return Promise.resolve({
              name: family.name,
              help: family.help,
              type: "histogram",
              values,
              aggregator: "sum",
            });
          },
        };
        registry.registerMetric(precomputed as unknown as client.Metric);
        break;
      }
    }
  }
  return registry;
}

/** The samples of a 0.0.4 body as `name{sorted labels} value`, sorted, to compare two renderings. */
function samples(body: string): string[] {
  const out: string[] = [];
  for (const line of body.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`Cannot parse sample line: ${line}`);
    const labels = m[2] ? m[2].split('",').map((p) => p.endsWith('"') ? p : p + '"').sort().join(",") : "";
    out.push(`${m[1]}{${labels}} ${Number(m[3])}`);
  }
  return out.sort();
}

async function main(): Promise<ScrapeCostResult> {
  const loadAtStart = loadavg()[0];
  const template = await realSnapshot();
  const sources = Array.from({ length: INDEXES }, (_, n) => {
    const snapshot = fakeSnapshot(template, n);
    return { metrics: () => snapshot };
  });
  const snapshots = () => sources.map((s) => s.metrics());
  const text = promClientRegistry(client.Registry.PROMETHEUS_CONTENT_TYPE, snapshots);
  const om = promClientRegistry(client.Registry.OPENMETRICS_CONTENT_TYPE, snapshots);
  const handler = createMetricsHandler({ indexes: () => sources });
  const request = (headers: Record<string, string>) => new Request("http://127.0.0.1/metrics", { headers });

  const ours = samples(renderMetrics(snapshots(), "prometheus-0.0.4"));
  const theirs = samples(await text.metrics());
  const differ = ours.filter((s, i) => s !== theirs[i]);
  if (ours.length !== theirs.length || differ.length > 0) {
    throw new Error(
      `The two renderings differ (${ours.length} vs ${theirs.length} samples); first: ${differ.slice(0, 3)}`,
    );
  }

  const cases: [string, () => Promise<number>][] = [
    [
      "HestiaStore renderMetrics(), text 0.0.4",
      () => Promise.resolve(renderMetrics(snapshots(), "prometheus-0.0.4").length),
    ],
    [
      "HestiaStore renderMetrics(), OpenMetrics 1.0",
      () => Promise.resolve(renderMetrics(snapshots(), "openmetrics-1.0.0").length),
    ],
    [
      "HestiaStore handler, OpenMetrics (Request to body bytes)",
      async () => (await (await handler(request({ accept: OM_ACCEPT }))).arrayBuffer()).byteLength,
    ],
    [
      "HestiaStore handler, OpenMetrics, gzip",
      async () =>
        (await (await handler(request({ accept: OM_ACCEPT, "accept-encoding": "gzip" }))).arrayBuffer())
          .byteLength,
    ],
    ["prom-client 15.1.3 registry.metrics(), text 0.0.4", async () => (await text.metrics()).length],
    ["prom-client 15.1.3 registry.metrics(), OpenMetrics 1.0", async () => (await om.metrics()).length],
  ];
  // Untimed rounds of every case first: they share code (snapshots, the catalog), and the first case
  // measured must not pay for warming it up.
  for (let round = 0; round < 5; round++) for (const [, scrape] of cases) await scrape();
  const results: ScrapeCase[] = [];
  for (const [name, scrape] of cases) {
    const bodyBytes = await scrape();
    let sink = 0;
    // At least 30 scrapes each, so the p99 is more than the maximum of a handful.
    const stats = await measure(async () => {
      sink += await scrape();
    }, { min_samples: 30, min_cpu_time: 1e9 });
    if (sink === 0) throw new Error(`${name} produced nothing`);
    const ms = (ns: number) => Number((ns / 1e6).toFixed(3));
    results.push({
      name,
      meanMs: ms(stats.avg),
      p50Ms: ms(stats.p50),
      p99Ms: ms(stats.p99),
      minMs: ms(stats.min),
      samples: stats.samples.length,
      bodyBytes,
    });
    console.log(`${name.padEnd(56)} mean ${ms(stats.avg)} ms, p99 ${ms(stats.p99)} ms, ${bodyBytes} bytes`);
  }
  return {
    benchmark: "exporter-scrape",
    runtime: RUNTIME.name,
    runtimeVersion: RUNTIME.version,
    date: new Date().toISOString(),
    indexes: INDEXES,
    loadedSegmentsPerIndex: SEGMENTS,
    samplesPerScrape: ours.length,
    cores: availableParallelism(),
    loadAverage: [Number(loadAtStart.toFixed(2)), Number(loadavg()[0].toFixed(2))],
    cases: results,
  };
}

writeResult(arg("out", `${ROOT}bench/results/exporter-scrape-${RUNTIME.name}.json`), await main());
