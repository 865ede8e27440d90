/**
 * The OpenTelemetry bridge: publishes the metric catalog through any
 * OpenTelemetry `Meter`, as observable instruments read from one snapshot
 * per index per collection. It depends on `@opentelemetry/api` only (a peer
 * dependency, a no-op until the application registers an SDK); the SDK,
 * readers and exporters belong to the application.
 *
 * Names. An application that exports through the OpenTelemetry Prometheus
 * exporter sees the same `hestiastore_*` sample names, labels and values as
 * our own `/metrics`. Instrument names use underscores, so the Prometheus
 * name is the instrument name in one spelling. Each counter drops the
 * catalog's `_total`: the conversion to Prometheus appends it to monotonic
 * sums, and OpenTelemetry naming keeps it out of instrument names. Units are
 * UCUM (`s`, `By`) and set only on families whose name already ends in that
 * unit: `@opentelemetry/exporter-prometheus` 0.223 writes the unit as a
 * `# UNIT` comment without touching the name, and converters that append
 * unit suffixes skip a name that already carries one.
 *
 * Latency. OpenTelemetry has no observable histogram, so the
 * `hestiastore_operation_duration_seconds` histogram is not bridged. Its
 * buckets cannot be replayed into a synchronous histogram without
 * inventing observations, a monotonic `_count`/`_sum` pair would be
 * renamed `_count_total`/`_sum_total`, and gauges or up-down counters named
 * `_bucket`/`_sum`/`_count` would mislabel a histogram as gauges. Scrape the
 * Prometheus handler for latency quantiles.
 *
 * Every observation carries the attribute `index` (plus `state` on
 * `hestiastore_index_state`); `hestiastore_build_info` carries `version` and
 * `runtime` instead. Of two indexes with the same name only the first is
 * observed. An index whose `metrics()` throws is skipped and reported
 * through the OpenTelemetry `diag` logger: unlike a scrape, a collection
 * has no way to fail visibly, and a throwing callback would lose every
 * index's observations.
 *
 * Stale series: the JavaScript SDK 2.x keeps reporting the last value of
 * an attribute set that a callback stopped observing (cumulative
 * temporality). Keep a closed index in `indexes()` for at least one
 * collection, so that its last reported `hestiastore_index_up` is 0.
 *
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
 * import { MeterProvider } from "@opentelemetry/sdk-metrics";
 * import { MemoryFileSystem, SegmentIndex } from "../engine/mod.ts";
 * import { bridgeToOpenTelemetry } from "./otel.ts";
 *
 * const index = await SegmentIndex.create("/db", { fs: new MemoryFileSystem(), name: "orders" });
 * await index.put("k", "v");
 *
 * // Application side: the SDK and an exporter.
 * const reader = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
 * const provider = new MeterProvider({ readers: [reader] });
 *
 * const unregister = bridgeToOpenTelemetry({
 *   meter: provider.getMeter("hestiastore"),
 *   indexes: () => [index],
 * });
 * const { resourceMetrics } = await reader.collect();
 * const text = new PrometheusSerializer("", false, undefined, true, true).serialize(resourceMetrics);
 * assertStringIncludes(text, 'hestiastore_ops_put_total{index="orders"} 1');
 *
 * unregister();
 * await provider.shutdown();
 * await index.close();
 * ```
 *
 * @module
 */
import {
  type BatchObservableCallback,
  type BatchObservableResult,
  diag,
  type Meter,
  type Observable,
} from "@opentelemetry/api";
import type { MetricsSnapshot } from "../engine/mod.ts";
import { resolveBuildInfo } from "./_build_info.ts";
import {
  BUILD_INFO_HELP,
  BUILD_INFO_NAME,
  FAMILIES,
  type ScalarFamily,
  type StateFamily,
} from "./_catalog.ts";
import type { MetricsSource } from "./metrics_handler.ts";

export type { MetricsSource };

/** Options of {@linkcode bridgeToOpenTelemetry}. */
export interface OtelBridgeOptions {
  /** The meter that owns the instruments, e.g. `metrics.getMeter("hestiastore", version)`. */
  meter: Meter;
  /**
   * The indexes to publish, asked once per collection; each one's
   * `metrics()` is called once per collection.
   */
  indexes: () => Iterable<MetricsSource>;
  /** `version` label of `hestiastore_build_info`. @default the package version */
  version?: string;
  /** `runtime` label of `hestiastore_build_info`. @default the detected runtime, e.g. `deno 2.9.6` */
  runtime?: string;
}

/** UCUM spelling of the catalog's base units. */
const UCUM = { seconds: "s", bytes: "By" } as const;

/**
 * Registers the catalog's counters and gauges as observable instruments of
 * `options.meter`, with one batch callback that takes one snapshot per index
 * per collection.
 *
 * @param options The meter, the indexes and optional build labels.
 * @returns A function that removes the callback; call it before the indexes
 * go away. Calling it again does nothing.
 * @throws {TypeError} If `meter` is not a meter, `indexes` not a function, or a build label not a string.
 */
export function bridgeToOpenTelemetry(options: OtelBridgeOptions): () => void {
  const { meter, indexes } = options;
  if (typeof meter?.addBatchObservableCallback !== "function") {
    throw new TypeError("Option 'meter' must be an OpenTelemetry Meter");
  }
  if (typeof indexes !== "function") {
    throw new TypeError("Option 'indexes' must be a function returning the indexes");
  }
  const build = { ...resolveBuildInfo({ version: options.version, runtime: options.runtime }) };

  const scalars: [ScalarFamily, Observable][] = [];
  const stateSets: [StateFamily, Observable][] = [];
  for (const family of FAMILIES) {
    if (family.kind === "counter") {
      // The Prometheus side appends `_total` to a monotonic sum.
      const name = family.name.slice(0, -"_total".length);
      scalars.push([family, meter.createObservableCounter(name, describe(family))]);
    } else if (family.kind === "gauge") {
      scalars.push([family, meter.createObservableGauge(family.name, describe(family))]);
    } else if (family.kind === "state") {
      stateSets.push([family, meter.createObservableGauge(family.name, { description: family.help })]);
    }
    // The histogram is not bridged: see the module doc.
  }
  const buildInfo = meter.createObservableGauge(BUILD_INFO_NAME, { description: BUILD_INFO_HELP });

  const callback: BatchObservableCallback = (result) => {
    result.observe(buildInfo, 1, build);
    const seen = new Set<string>();
    for (const index of indexes()) {
      let snapshot: MetricsSnapshot;
      try {
        snapshot = index.metrics();
      } catch (error) {
        // A throwing callback loses the whole batch, so one failing index would hide the others.
        diag.error("hestiastore: cannot take a metrics snapshot", error);
        continue;
      }
      // Like the Prometheus exporter, the first index of a name wins.
      if (seen.has(snapshot.indexName)) continue;
      seen.add(snapshot.indexName);
      observe(result, snapshot, scalars, stateSets);
    }
  };
  const observables = [buildInfo, ...scalars.map(([, o]) => o), ...stateSets.map(([, o]) => o)];
  meter.addBatchObservableCallback(callback, observables);
  let registered = true;
  return () => {
    if (!registered) return;
    registered = false;
    meter.removeBatchObservableCallback(callback, observables);
  };
}

function observe(
  result: BatchObservableResult,
  snapshot: MetricsSnapshot,
  scalars: readonly [ScalarFamily, Observable][],
  stateSets: readonly [StateFamily, Observable][],
): void {
  const index = snapshot.indexName;
  const attributes = { index };
  for (const [family, observable] of scalars) result.observe(observable, family.value(snapshot), attributes);
  for (const [family, observable] of stateSets) {
    for (const state of family.states) {
      result.observe(observable, snapshot.state === state ? 1 : 0, { index, state });
    }
  }
}

function describe(family: ScalarFamily): { description: string; unit?: string } {
  return family.unit ? { description: family.help, unit: UCUM[family.unit] } : { description: family.help };
}
