/**
 * Stage B's scrape contract: the full exposition of a fixed two-index
 * snapshot in both formats (golden files), the reference exporter test's
 * nine series with their exact values and single `index` label before and
 * after the index closes (on fixed snapshots and on a real index), content
 * negotiation, gzip, methods, label escaping and the empty exposition.
 *
 * Regenerate the golden files with `HESTIA_UPDATE_GOLDEN=1` and review the diff.
 *
 * @module
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotMatch,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { readFileSync } from "node:fs";
import process from "node:process";
import { type IndexState, MemoryFileSystem, type MetricsSnapshot, SegmentIndex } from "../../engine/mod.ts";
import {
  CONTENT_TYPES,
  createMetricsHandler,
  type ExpositionFormat,
  type MetricsSource,
  renderMetrics,
  VERSION,
} from "../../exporters/mod.ts";
import { FAMILIES } from "../../exporters/_catalog.ts";
import { canonicalLe, escapeHelp, formatValue } from "../../exporters/_exposition.ts";
import { negotiateFormat } from "../../exporters/_negotiate.ts";
import { assertGolden } from "../_golden.ts";
import {
  CLOSED_VALUES,
  FIXED_BUILD,
  fixedSnapshot,
  READY_VALUES,
  REFERENCE_SERIES,
  type ReferenceValues,
  twoIndexes,
} from "./_snapshots.ts";

const FORMATS: readonly ExpositionFormat[] = ["prometheus-0.0.4", "openmetrics-1.0.0"];
const TEXT = CONTENT_TYPES["prometheus-0.0.4"];
const OPENMETRICS = CONTENT_TYPES["openmetrics-1.0.0"];
/** What Prometheus 2.42 sends (ecosystem.md §1.3, verified). */
const PROMETHEUS_2_ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;" +
  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/** What Prometheus 3 sends with its default scrape protocols. */
const PROMETHEUS_3_ACCEPT =
  "application/openmetrics-text;version=1.0.0;escaping=allow-utf8;q=0.5,application/openmetrics-text;" +
  "version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Each of the nine series has exactly one sample for the index, with only the `index` label and the value. */
function assertReferenceSeries(
  body: string,
  index: string,
  values: ReferenceValues,
  state: IndexState,
): void {
  for (const series of REFERENCE_SERIES) {
    const name = `hestiastore_${series.name}`;
    const expected = series.value(values, state);
    assertMatch(body, new RegExp(`^${name}\\{index="${escapeRegExp(index)}"\\} ${expected}$`, "m"));
    const lines = body.split("\n").filter((l) => l.startsWith(`${name}{`) && l.includes(`index="${index}"`));
    assertEquals(lines, [`${name}{index="${index}"} ${expected}`], name);
  }
}

function get(handler: (r: Request) => Promise<Response>, headers: HeadersInit = {}): Promise<Response> {
  return handler(new Request("http://localhost/metrics", { headers }));
}

/** A source whose snapshot the test swaps, like the reference test's AtomicReference. */
function swappable(initial: MetricsSnapshot): MetricsSource & { current: MetricsSnapshot } {
  return {
    current: initial,
    metrics() {
      return this.current;
    },
  };
}

describe("HestiaStorePrometheusExporterTest", () => {
  it("renders the fixed two-index snapshot as the golden text 0.0.4 exposition", () => {
    assertGolden(
      new URL("./testdata/exposition_0.0.4.txt", import.meta.url),
      renderMetrics(twoIndexes(), "prometheus-0.0.4", FIXED_BUILD),
    );
  });

  it("renders the fixed two-index snapshot as the golden OpenMetrics exposition", () => {
    assertGolden(
      new URL("./testdata/exposition_openmetrics.txt", import.meta.url),
      renderMetrics(twoIndexes(), "openmetrics-1.0.0", FIXED_BUILD),
    );
  });

  it("exports the reference's nine series with exact values, then the new values after CLOSED", async () => {
    const source = swappable(fixedSnapshot("orders", "READY", READY_VALUES));
    const handler = createMetricsHandler({ indexes: () => [source] });
    for (const accept of ["text/plain", "application/openmetrics-text"]) {
      source.current = fixedSnapshot("orders", "READY", READY_VALUES);
      const ready = await (await get(handler, { Accept: accept })).text();
      assertReferenceSeries(ready, "orders", READY_VALUES, "READY");
      assertMatch(ready, /^hestiastore_index_state\{index="orders",state="READY"\} 1$/m);

      source.current = fixedSnapshot("orders", "CLOSED", CLOSED_VALUES);
      const closed = await (await get(handler, { Accept: accept })).text();
      assertReferenceSeries(closed, "orders", CLOSED_VALUES, "CLOSED");
      assertMatch(closed, /^hestiastore_index_up\{index="orders"\} 0$/m);
      assertMatch(closed, /^hestiastore_index_state\{index="orders",state="CLOSED"\} 1$/m);
      assertMatch(closed, /^hestiastore_index_state\{index="orders",state="READY"\} 0$/m);
    }
  });

  it("exports a real index's operations and limits, and index_up 0 once it is closed", async () => {
    const index = await SegmentIndex.create("/orders", {
      fs: new MemoryFileSystem(),
      name: "orders",
      segmentWriteCacheKeyLimit: 7,
      segmentWriteCacheKeyLimitDuringMaintenance: 11,
      indexBufferedWriteKeyLimit: 29,
    });
    const handler = createMetricsHandler({ indexes: () => [index] });
    await index.put("a", "1");
    await index.put("b", "2");
    assertEquals(index.get("a"), "1");
    await index.delete("a");
    await index.delete("b");
    await index.delete("c");
    const done = { ...READY_VALUES, splitScheduled: 0, splitInFlight: 0 };
    assertReferenceSeries(await (await get(handler)).text(), "orders", done, "READY");

    await index.close();
    for (const accept of ["text/plain", PROMETHEUS_2_ACCEPT]) {
      const closed = await (await get(handler, { Accept: accept })).text();
      assertReferenceSeries(closed, "orders", done, "CLOSED");
      assertMatch(closed, /^hestiastore_index_state\{index="orders",state="CLOSED"\} 1$/m);
    }
  });

  it("takes one snapshot per index per scrape", async () => {
    let calls = 0;
    const snapshot = fixedSnapshot("orders", "READY", READY_VALUES);
    const handler = createMetricsHandler({
      indexes: () => [{
        metrics: () => {
          calls++;
          return snapshot;
        },
      }],
    });
    await (await get(handler)).text();
    assertEquals(calls, 1);
  });

  describe("content negotiation", () => {
    const cases: [string, string | undefined, string][] = [
      ["Prometheus 2.42's Accept", PROMETHEUS_2_ACCEPT, OPENMETRICS],
      ["Prometheus 3's Accept", PROMETHEUS_3_ACCEPT, OPENMETRICS],
      ["text/plain only", "text/plain", TEXT],
      ["text/plain version 0.0.4", "text/plain; version=0.0.4", TEXT],
      ["no Accept", undefined, TEXT],
      ["*/*", "*/*", TEXT],
      ["garbage", "garbage;;,=q=;x", TEXT],
      ["OpenMetrics alone", "application/openmetrics-text", OPENMETRICS],
      ["OpenMetrics weighted below text", "application/openmetrics-text;q=0.4, text/plain;q=0.5", TEXT],
      [
        "OpenMetrics and text weighted equal",
        "text/plain;q=0.5, application/openmetrics-text;q=0.5",
        OPENMETRICS,
      ],
      ["OpenMetrics refused", "application/openmetrics-text;q=0", TEXT],
      ["an unknown OpenMetrics version", "application/openmetrics-text;version=2.0.0", TEXT],
      ["a malformed weight", "application/openmetrics-text;q=high", TEXT],
      ["upper case", "Application/OpenMetrics-Text; Version=1.0.0", OPENMETRICS],
    ];
    for (const [name, accept, contentType] of cases) {
      it(`${name} gets ${contentType}`, async () => {
        const response = await get(
          createMetricsHandler({ indexes: () => [] }),
          accept ? { Accept: accept } : {},
        );
        assertEquals(response.status, 200);
        assertEquals(response.headers.get("Content-Type"), contentType);
        const body = await response.text();
        if (contentType === OPENMETRICS) assert(body.endsWith("\n# EOF\n"), "OpenMetrics ends with # EOF");
        else assertNotMatch(body, /# EOF/);
      });
    }

    it("negotiateFormat() treats an empty header like a missing one", () => {
      assertEquals(negotiateFormat(""), "prometheus-0.0.4");
      assertEquals(negotiateFormat(null), "prometheus-0.0.4");
    });
  });

  describe("gzip", () => {
    for (const format of FORMATS) {
      it(`round-trips the ${format} body through gzip`, async () => {
        const handler = createMetricsHandler({
          indexes: () => [...twoIndexes()].map((s) => ({ metrics: () => s })),
        });
        const accept = format === "openmetrics-1.0.0" ? PROMETHEUS_2_ACCEPT : "text/plain";
        const plain = await get(handler, { Accept: accept });
        assertEquals(plain.headers.get("Content-Encoding"), null);
        const zipped = await get(handler, { Accept: accept, "Accept-Encoding": "gzip, deflate" });
        assertEquals(zipped.headers.get("Content-Encoding"), "gzip");
        assertEquals(zipped.headers.get("Vary"), "Accept, Accept-Encoding");
        assertEquals(zipped.headers.get("Content-Type"), CONTENT_TYPES[format]);
        const bytes = new Uint8Array(await zipped.arrayBuffer());
        assertEquals([bytes[0], bytes[1]], [0x1f, 0x8b]);
        const unzipped = await new Response(
          new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")),
        ).text();
        assertEquals(unzipped, await plain.text());
      });
    }

    it("honours weights: gzip;q=0 and identity-only get no compression, * gets gzip", async () => {
      const handler = createMetricsHandler({ indexes: () => [] });
      for (
        const [encoding, expected] of [["gzip;q=0", null], ["identity", null], ["*", "gzip"], [
          "*, gzip;q=0",
          null,
        ]]
      ) {
        const response = await get(handler, { "Accept-Encoding": encoding! });
        assertEquals(response.headers.get("Content-Encoding"), expected, encoding!);
        await response.arrayBuffer();
      }
    });
  });

  describe("HTTP methods", () => {
    it("HEAD answers GET's headers without a body", async () => {
      const handler = createMetricsHandler({
        indexes: () => twoIndexes().map((s) => ({ metrics: () => s })),
      });
      const response = await handler(
        new Request("http://localhost/metrics", {
          method: "HEAD",
          headers: { Accept: PROMETHEUS_2_ACCEPT, "Accept-Encoding": "gzip" },
        }),
      );
      assertEquals(response.status, 200);
      assertEquals(response.body, null);
      assertEquals(response.headers.get("Content-Type"), OPENMETRICS);
      assertEquals(response.headers.get("Content-Encoding"), "gzip");
      assertEquals(response.headers.get("Cache-Control"), "no-store");
      assertEquals(response.headers.get("Vary"), "Accept, Accept-Encoding");
    });

    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      it(`${method} gets 405 with Allow: GET, HEAD`, async () => {
        const response = await createMetricsHandler({ indexes: () => [] })(
          new Request("http://localhost/metrics", { method }),
        );
        assertEquals(response.status, 405);
        assertEquals(response.headers.get("Allow"), "GET, HEAD");
        await response.text();
      });
    }

    it("GET answers 200 with Cache-Control: no-store and Vary", async () => {
      const response = await get(createMetricsHandler({ indexes: () => [] }));
      assertEquals(response.status, 200);
      assertEquals(response.headers.get("Cache-Control"), "no-store");
      assertEquals(response.headers.get("Vary"), "Accept, Accept-Encoding");
      await response.text();
    });

    it("fails the scrape with 500 when an index's metrics() throws", async () => {
      const handler = createMetricsHandler({
        indexes: () => [{
          metrics: () => {
            throw new Error("snapshot unavailable");
          },
        }],
      });
      const response = await get(handler);
      assertEquals(response.status, 500);
      assertEquals(response.headers.get("Cache-Control"), "no-store");
      assertStringIncludes(await response.text(), "snapshot unavailable");
    });

    it("createMetricsHandler() rejects options without an indexes function", () => {
      assertThrows(
        () => createMetricsHandler({} as unknown as Parameters<typeof createMetricsHandler>[0]),
        TypeError,
        "indexes",
      );
      assertThrows(
        () => createMetricsHandler({ indexes: () => [], version: 1 as unknown as string }),
        TypeError,
        "version",
      );
    });
  });

  describe("labels and indexes", () => {
    const names = ["back\\slash", 'say "hi"', "two\nlines", "héllo ☃ 日本"];
    const escaped = ["back\\\\slash", 'say \\"hi\\"', "two\\nlines", "héllo ☃ 日本"];

    for (const format of FORMATS) {
      it(`escapes \\, " and line feed in index names (${format}), UTF-8 as is`, () => {
        const body = renderMetrics(
          names.map((n) => fixedSnapshot(n, "READY", READY_VALUES)),
          format,
          FIXED_BUILD,
        );
        for (const label of escaped) {
          assertStringIncludes(body, `\nhestiastore_ops_put_total{index="${label}"} 2\n`);
        }
        // No raw line feed inside a sample: every line starts with a name or '#'.
        for (const line of body.slice(0, -1).split("\n")) assertMatch(line, /^(#|hestiastore_)/);
      });
    }

    it('escapes HELP per format: \\ and line feed in 0.0.4, also " in OpenMetrics', () => {
      const help = 'a\\b "c"\nd';
      assertEquals(escapeHelp(help, "prometheus-0.0.4"), 'a\\\\b "c"\\nd');
      assertEquals(escapeHelp(help, "openmetrics-1.0.0"), 'a\\\\b \\"c\\"\\nd');
    });

    it("sorts indexes by name and renders a repeated name once (the first given)", () => {
      const body = renderMetrics(
        [
          fixedSnapshot("b", "READY", READY_VALUES),
          fixedSnapshot("a", "READY", READY_VALUES),
          fixedSnapshot("b", "CLOSED", CLOSED_VALUES),
        ],
        "prometheus-0.0.4",
        FIXED_BUILD,
      );
      const up = body.split("\n").filter((l) => l.startsWith("hestiastore_index_up{"));
      assertEquals(up, ['hestiastore_index_up{index="a"} 1', 'hestiastore_index_up{index="b"} 1']);
    });

    it("renders an empty index list as build_info only, valid in both formats", () => {
      const help = "Build of the HestiaStore exporter: version and runtime, value always 1.";
      const sample = 'hestiastore_build_info{version="0.1.0",runtime="test 1.0.0"} 1\n';
      const text = renderMetrics([], "prometheus-0.0.4", FIXED_BUILD);
      assert(
        text.startsWith(
          `# HELP hestiastore_build_info ${help}\n# TYPE hestiastore_build_info gauge\n${sample}`,
        ),
      );
      assertEquals(text.split("\n").filter((l) => l !== "" && !l.startsWith("#")), [sample.trim()]);
      assertEquals(text.match(/^# TYPE /gm)?.length, 1 + FAMILIES.length);
      assert(text.endsWith("\n"));
      const om = renderMetrics([], "openmetrics-1.0.0", FIXED_BUILD);
      assert(
        om.startsWith(
          `# TYPE hestiastore_build_info gauge\n# HELP hestiastore_build_info ${help}\n${sample}`,
        ),
      );
      assert(om.endsWith("\n# EOF\n"));
    });

    it("labels build_info with the package version and the detected runtime by default", async () => {
      const body = await (await get(createMetricsHandler({ indexes: () => [] }))).text();
      const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
      const runtime = deno ? `deno ${deno.version.deno}` : `node ${process.versions.node}`;
      assertStringIncludes(body, `hestiastore_build_info{version="${VERSION}",runtime="${runtime}"} 1\n`);
      const custom =
        await (await get(createMetricsHandler({ indexes: () => [], version: "9", runtime: "x" })))
          .text();
      assertStringIncludes(custom, 'hestiastore_build_info{version="9",runtime="x"} 1\n');
    });

    it("VERSION is the version of deno.json and package.json", () => {
      for (const file of ["../../deno.json", "../../package.json"]) {
        const manifest = JSON.parse(readFileSync(new URL(file, import.meta.url), "utf8")) as {
          version: string;
        };
        assertEquals(VERSION, manifest.version, file);
      }
    });

    it("renderMetrics() rejects an unknown format", () => {
      assertThrows(() => renderMetrics([], "json" as ExpositionFormat), TypeError, "format");
    });
  });

  describe("numbers", () => {
    it("formats sample values: NaN, ±Inf, integers without a decimal point, shortest round trip", () => {
      const cases: [number, string][] = [
        [NaN, "NaN"],
        [Infinity, "+Inf"],
        [-Infinity, "-Inf"],
        [0, "0"],
        [-0, "0"],
        [7, "7"],
        [2 ** 53, "9007199254740992"],
        [1e21, "1e+21"],
        [0.1, "0.1"],
        [1e-7, "1e-7"],
        [-2.5, "-2.5"],
      ];
      for (const [value, text] of cases) assertEquals(formatValue(value), text, String(value));
    });

    it("writes le canonically, as Go's %g with .0 on integers", () => {
      const cases: [number, string][] = [
        [1e-6, "1e-06"],
        [1.8e-6, "1.8e-06"],
        [1e-5, "1e-05"],
        [0.0001, "0.0001"],
        [0.00056, "0.00056"],
        [0.25, "0.25"],
        [1, "1.0"],
        [10, "10.0"],
        [100000, "100000.0"],
        [1e6, "1e+06"],
        [1.5e7, "1.5e+07"],
        [1e300, "1e+300"],
        [Infinity, "+Inf"],
      ];
      for (const [value, text] of cases) assertEquals(canonicalLe(value), text, String(value));
    });

    for (const format of FORMATS) {
      it(`histogram buckets are cumulative and end with +Inf equal to _count (${format})`, () => {
        const body = renderMetrics(twoIndexes(), format, FIXED_BUILD);
        const name = "hestiastore_operation_duration_seconds";
        for (const index of ["customers", "orders"]) {
          for (const operation of ["get", "write"]) {
            const labels = `index="${index}",operation="${operation}"`;
            const buckets = body.split("\n").filter((l) => l.startsWith(`${name}_bucket{${labels},`));
            assertEquals(buckets.length, 30);
            const counts = buckets.map((l) => Number(l.split(" ")[1]));
            for (let i = 1; i < counts.length; i++) assert(counts[i] >= counts[i - 1], "cumulative");
            const les = buckets.map((l) => l.match(/le="([^"]+)"/)![1]);
            assertEquals(les.at(-1), "+Inf");
            const bounds = les.map((le) => le === "+Inf" ? Infinity : Number(le));
            for (let i = 1; i < bounds.length; i++) assert(bounds[i] > bounds[i - 1], "increasing le");
            const count = body.match(new RegExp(`^${name}_count\\{${labels}\\} (\\d+)$`, "m"))![1];
            assertEquals(String(counts.at(-1)), count);
            assertMatch(body, new RegExp(`^${name}_sum\\{${labels}\\} [0-9.e+-]+$`, "m"));
          }
        }
      });
    }
  });
});
