import { assert, assertEquals, assertMatch, assertNotMatch, assertThrows } from "@std/assert";
import { afterEach, describe, it } from "@std/testing/bdd";
import type { Meter } from "@opentelemetry/api";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { type IndexState, MemoryFileSystem, type MetricsSnapshot, SegmentIndex } from "../../engine/mod.ts";
import { BUILD_INFO_HELP, BUILD_INFO_NAME, FAMILIES } from "../../exporters/_catalog.ts";
import { renderMetrics } from "../../exporters/mod.ts";
import { bridgeToOpenTelemetry, type MetricsSource } from "../../exporters/otel.ts";

const BUILD = { version: "9.8.7", runtime: "test/1" };

/** The samples of an exposition by `name{labels}` (labels sorted), with their values. */
type Samples = Map<string, number>;

interface Otel {
  meter: Meter;
  scrape(): Promise<string>;
}

const providers: MeterProvider[] = [];

/** The application side of ecosystem.md §3: an SDK with the Prometheus exporter, no server. */
function otel(): Otel {
  const exporter = new PrometheusExporter({
    preventServerStart: true,
    withoutScopeInfo: true,
    withoutTargetInfo: true,
  });
  const provider = new MeterProvider({ readers: [exporter] });
  providers.push(provider);
  const serializer = new PrometheusSerializer("", false, undefined, true, true);
  return {
    meter: provider.getMeter("hestiastore", BUILD.version),
    async scrape() {
      const { resourceMetrics, errors } = await exporter.collect();
      assertEquals(errors, []);
      return serializer.serialize(resourceMetrics);
    },
  };
}

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => c === "n" ? "\n" : c);
}

function sampleKey(name: string, labels: Record<string, string>): string {
  const pairs = Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `${name}{${pairs.join(",")}}`;
}

/** Parses the samples of a 0.0.4 exposition; fails on a duplicate series. */
function parseSamples(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    assert(match, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[k] = unescapeLabel(v);
    }
    const key = sampleKey(match[1], labels);
    assert(!samples.has(key), `duplicate series ${key}`);
    samples.set(key, Number(match[3]));
  }
  return samples;
}

const HISTOGRAMS = FAMILIES.filter((f) => f.kind === "histogram").map((f) => f.name);

/** The series our Prometheus exporter renders for these snapshots, without the histograms. */
function ourSamples(snapshots: readonly MetricsSnapshot[]): Samples {
  const all = parseSamples(renderMetrics(snapshots, "prometheus-0.0.4", BUILD));
  return new Map([...all].filter(([key]) => !HISTOGRAMS.some((name) => key.startsWith(`${name}_`))));
}

/**
 * A copy of a real snapshot with a distinct value in every numeric field
 * (some fractional), so that a mix-up of two fields cannot go unnoticed.
 * The latency histograms stay as they are: they must remain cumulative.
 */
function distinctSnapshot(base: MetricsSnapshot, indexName: string, state: IndexState, seed: number) {
  let n = seed;
  const walk = (value: unknown, key: string): unknown => {
    if (key === "latency" || key === "loadedSegments") return value;
    if (typeof value === "number") return ++n + (n % 4) * 0.125;
    if (Array.isArray(value)) return value.map((v) => walk(v, ""));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
    }
    return value;
  };
  return { ...(walk(base, "") as MetricsSnapshot), indexName, state };
}

async function realSnapshot(): Promise<MetricsSnapshot> {
  const index = await SegmentIndex.create("/db", { fs: new MemoryFileSystem() });
  await index.close();
  return index.metrics();
}

/** Counts the calls of `metrics()`. */
class CountingSource implements MetricsSource {
  calls = 0;
  constructor(readonly snapshot: MetricsSnapshot) {}
  metrics(): MetricsSnapshot {
    this.calls++;
    return this.snapshot;
  }
}

describe("bridgeToOpenTelemetry()", () => {
  afterEach(async () => {
    for (const provider of providers.splice(0)) await provider.shutdown();
  });

  it("gives the OpenTelemetry Prometheus exporter our sample names, labels and values", async () => {
    const base = await realSnapshot();
    const snapshots = [
      distinctSnapshot(base, "orders", "READY", 0),
      distinctSnapshot(base, 'odd "name" \\ with\nnewline', "CLOSING", 1000),
    ];
    const { meter, scrape } = otel();
    bridgeToOpenTelemetry({
      meter,
      indexes: () => snapshots.map((s) => ({ metrics: () => s })),
      ...BUILD,
    });

    const actual = parseSamples(await scrape());
    const expected = ourSamples(snapshots);
    assertEquals([...actual.keys()].sort(), [...expected.keys()].sort());
    for (const [key, value] of expected) assertEquals(actual.get(key), value, key);
  });

  it("writes each family's type and help as our catalog does, and never `_total_total`", async () => {
    const base = await realSnapshot();
    const { meter, scrape } = otel();
    bridgeToOpenTelemetry({ meter, indexes: () => [{ metrics: () => base }], ...BUILD });
    const text = await scrape();

    assertNotMatch(text, /_total_total/);
    for (const family of FAMILIES) {
      if (family.kind === "histogram") continue;
      const type = family.kind === "counter" ? "counter" : "gauge";
      assertMatch(text, new RegExp(`^# TYPE ${family.name} ${type}$`, "m"));
      assertMatch(text, new RegExp(`^# HELP ${family.name} ${escapeRegExp(family.help)}$`, "m"));
    }
    assertMatch(text, new RegExp(`^# HELP ${BUILD_INFO_NAME} ${escapeRegExp(BUILD_INFO_HELP)}$`, "m"));
    // A unit only ever shows as a comment, never as a name suffix.
    for (const [, name, unit] of text.matchAll(/^# UNIT (\S+) (\S+)$/gm)) {
      assertMatch(`${name} ${unit}`, /_seconds(_total)? s$|_bytes(_total)? By$/);
    }
  });

  it("does not bridge the latency histogram", async () => {
    const base = await realSnapshot();
    const { meter, scrape } = otel();
    bridgeToOpenTelemetry({ meter, indexes: () => [{ metrics: () => base }] });
    assertNotMatch(await scrape(), /operation_duration/);
  });

  it("takes one snapshot per index per collection", async () => {
    const base = await realSnapshot();
    const sources = [
      new CountingSource(distinctSnapshot(base, "a", "READY", 0)),
      new CountingSource(distinctSnapshot(base, "b", "READY", 100)),
    ];
    let listed = 0;
    const { meter, scrape } = otel();
    bridgeToOpenTelemetry({
      meter,
      indexes: () => {
        listed++;
        return sources;
      },
    });
    for (let collection = 1; collection <= 3; collection++) {
      await scrape();
      assertEquals(listed, collection);
      assertEquals(sources.map((s) => s.calls), [collection, collection]);
    }
  });

  it("stops observing once unregistered", async () => {
    const source = new CountingSource(await realSnapshot());
    const { meter, scrape } = otel();
    const unregister = bridgeToOpenTelemetry({ meter, indexes: () => [source] });
    await scrape();
    assertEquals(source.calls, 1);

    unregister();
    unregister();
    await scrape();
    await scrape();
    assertEquals(source.calls, 1);
  });

  it("still observes the other indexes when one snapshot throws", async () => {
    const base = await realSnapshot();
    const good = distinctSnapshot(base, "good", "READY", 0);
    const { meter, scrape } = otel();
    bridgeToOpenTelemetry({
      meter,
      indexes: () => [
        {
          metrics(): MetricsSnapshot {
            throw new Error("broken");
          },
        },
        { metrics: () => good },
      ],
      ...BUILD,
    });
    assertEquals(parseSamples(await scrape()), ourSamples([good]));
  });

  it("labels build info as the Prometheus exporter does by default", async () => {
    const { meter, scrape } = otel();
    bridgeToOpenTelemetry({ meter, indexes: () => [] });
    const actual = parseSamples(await scrape());
    assertEquals(actual, parseSamples(renderMetrics([], "prometheus-0.0.4")));
    assertEquals(actual.size, 1);
  });

  it("observes only the first of two indexes with the same name, as the Prometheus exporter renders", async () => {
    const base = await realSnapshot();
    const first = distinctSnapshot(base, "twin", "READY", 0);
    const second = distinctSnapshot(base, "twin", "ERROR", 500);
    const { meter, scrape } = otel();
    bridgeToOpenTelemetry({
      meter,
      indexes: () => [{ metrics: () => first }, { metrics: () => second }],
      ...BUILD,
    });
    const actual = parseSamples(await scrape());
    assertEquals(actual, ourSamples([first, second]));
    assertEquals(actual, ourSamples([first]));
  });

  it("rejects a missing meter or index list", () => {
    const { meter } = otel();
    assertThrows(
      () => bridgeToOpenTelemetry({ meter: undefined as unknown as Meter, indexes: () => [] }),
      TypeError,
      "meter",
    );
    assertThrows(
      () => bridgeToOpenTelemetry({ meter, indexes: undefined as unknown as () => [] }),
      TypeError,
      "indexes",
    );
  });

  it("follows two live engine indexes, through close", async () => {
    const fs = new MemoryFileSystem();
    const orders = await SegmentIndex.create<string, string>("/orders", { fs, name: "orders" });
    const users = await SegmentIndex.create<string, string>("/users", { fs, name: "users" });
    await orders.put("a", "1");
    await orders.put("b", "2");
    await orders.delete("a");
    orders.get("b");
    await users.put("x", "y");
    users.get("x");
    users.get("missing");

    const { meter, scrape } = otel();
    const indexes = [orders, users];
    bridgeToOpenTelemetry({ meter, indexes: () => indexes, ...BUILD });
    let actual = parseSamples(await scrape());
    assertEquals(actual, ourSamples(indexes.map((i) => i.metrics())));
    assertEquals(actual.get(sampleKey("hestiastore_ops_put_total", { index: "orders" })), 2);
    assertEquals(actual.get(sampleKey("hestiastore_ops_delete_total", { index: "orders" })), 1);
    assertEquals(actual.get(sampleKey("hestiastore_ops_get_total", { index: "users" })), 2);

    await users.close();
    actual = parseSamples(await scrape());
    assertEquals(actual, ourSamples(indexes.map((i) => i.metrics())));
    assertEquals(actual.get(sampleKey("hestiastore_index_up", { index: "users" })), 0);
    assertEquals(actual.get(sampleKey("hestiastore_index_state", { index: "users", state: "CLOSED" })), 1);
    assertEquals(actual.get(sampleKey("hestiastore_index_up", { index: "orders" })), 1);
    await orders.close();
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
