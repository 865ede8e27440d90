/**
 * Renders the catalog for a set of index snapshots in the Prometheus text
 * format 0.0.4 or OpenMetrics 1.0. The caller takes one snapshot per index
 * per scrape; rendering reads only those snapshots, so a scrape sees every
 * index at a single moment and costs the engine nothing else.
 *
 * Both formats carry the same samples (names, labels, values); they differ
 * only in metadata: OpenMetrics names a counter family without `_total`,
 * adds `# UNIT`, escapes `"` in HELP and ends with `# EOF`.
 *
 * @module
 */
import type { HistogramSnapshot, MetricsSnapshot } from "../engine/mod.ts";
import { BUILD_INFO_HELP, BUILD_INFO_NAME, FAMILIES, type Family } from "./_catalog.ts";
import type { BuildInfo } from "./_build_info.ts";

/** The two exposition formats. */
export type ExpositionFormat = "prometheus-0.0.4" | "openmetrics-1.0.0";

/** The exact `Content-Type` of each format. */
export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = Object.freeze({
  "prometheus-0.0.4": "text/plain; version=0.0.4; charset=utf-8",
  "openmetrics-1.0.0": "application/openmetrics-text; version=1.0.0; charset=utf-8",
});

/**
 * The exposition of `snapshots` in `format`: `hestiastore_build_info`
 * first, then the catalog's families in order, each one contiguous, with
 * one series per index sorted by name (code-unit order). When two snapshots
 * share an index name only the first given is rendered, because a repeated
 * series is undefined behaviour for Prometheus.
 */
export function renderExposition(
  snapshots: Iterable<MetricsSnapshot>,
  format: ExpositionFormat,
  build: BuildInfo,
): string {
  const om = format === "openmetrics-1.0.0";
  const indexes = uniqueByName(snapshots);
  const version = escapeLabelValue(build.version);
  const runtime = escapeLabelValue(build.runtime);
  const out: string[] = [
    om ? OM_BUILD_INFO_HEADER : TEXT_BUILD_INFO_HEADER,
    `${BUILD_INFO_NAME}{version="${version}",runtime="${runtime}"} 1\n`,
  ];
  for (let f = 0; f < FAMILIES.length; f++) {
    const family = FAMILIES[f];
    out.push(om ? OM_HEADERS[f] : TEXT_HEADERS[f]);
    switch (family.kind) {
      case "counter":
      case "gauge":
        for (const { label, snapshot } of indexes) {
          out.push(`${family.name}{${label}} ${formatValue(family.value(snapshot))}\n`);
        }
        break;
      case "histogram":
        for (const { label, snapshot } of indexes) {
          for (const { operation, value } of family.operations) {
            renderHistogram(
              out,
              family.name,
              `${label},operation="${escapeLabelValue(operation)}"`,
              value(snapshot),
            );
          }
        }
        break;
      case "state":
        for (const { label, snapshot } of indexes) {
          for (const state of family.states) {
            out.push(`${family.name}{${label},state="${state}"} ${snapshot.state === state ? 1 : 0}\n`);
          }
        }
        break;
    }
  }
  if (om) out.push("# EOF\n");
  return out.join("");
}

/** Buckets (cumulative, increasing `le`, `+Inf` last and equal to `_count`), then `_sum` and `_count`. */
function renderHistogram(out: string[], name: string, labels: string, h: HistogramSnapshot): void {
  for (const bucket of h.buckets) {
    // The +Inf bucket is written from `count` below, so the two agree by construction.
    if (bucket.le === Infinity) continue;
    out.push(`${name}_bucket{${labels},le="${canonicalLe(bucket.le)}"} ${formatValue(bucket.count)}\n`);
  }
  out.push(`${name}_bucket{${labels},le="+Inf"} ${formatValue(h.count)}\n`);
  out.push(`${name}_sum{${labels}} ${formatValue(h.sumSeconds)}\n`);
  out.push(`${name}_count{${labels}} ${formatValue(h.count)}\n`);
}

function uniqueByName(
  snapshots: Iterable<MetricsSnapshot>,
): { label: string; snapshot: MetricsSnapshot }[] {
  // Array#sort is stable, so the first snapshot of a name comes first among equals.
  const sorted = [...snapshots].sort((a, b) =>
    a.indexName < b.indexName ? -1 : a.indexName > b.indexName ? 1 : 0
  );
  const out: { label: string; snapshot: MetricsSnapshot }[] = [];
  for (const snapshot of sorted) {
    if (out.length > 0 && out[out.length - 1].snapshot.indexName === snapshot.indexName) continue;
    out.push({ label: `index="${escapeLabelValue(snapshot.indexName)}"`, snapshot });
  }
  return out;
}

/** A label value with `\`, `"` and line feed escaped (the same rule in both formats). */
export function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** HELP text: 0.0.4 escapes `\` and line feed only; OpenMetrics also `"`. */
export function escapeHelp(help: string, format: ExpositionFormat): string {
  const text = help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
  return format === "openmetrics-1.0.0" ? text.replaceAll('"', '\\"') : text;
}

/**
 * A sample value: `NaN`, `+Inf`, `-Inf`, or the shortest decimal that reads
 * back as the same double. Integers below 1e21 have no decimal point, as
 * OpenMetrics requires; the exponent form (`1e+21`, `1e-7`) is valid Go
 * `ParseFloat` and OpenMetrics syntax.
 */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/**
 * A bucket bound as OpenMetrics wants it canonical: Go's
 * `strconv.FormatFloat(v, 'g', -1, 64)` with `.0` added to an integer
 * (`1e-06`, `0.00018`, `1.0`, `10.0`, `1e+06`, `+Inf`). The 0.0.4 output
 * uses the same text, so a bucket is one series whichever format scraped it.
 */
export function canonicalLe(value: number): string {
  if (!Number.isFinite(value)) return formatValue(value);
  const text = goShortestG(value);
  return /^-?\d+$/.test(text) ? `${text}.0` : text;
}

/** Go's `%g` with the shortest precision: exponent form below 1e-4 and from 1e6 up, two exponent digits at least. */
function goShortestG(value: number): string {
  // toExponential() without digits gives the shortest round-trip digits, as Go does.
  const [mantissa, exponent] = value.toExponential().split("e");
  const exp = Number(exponent);
  if (exp < -4 || exp >= 6) {
    return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  // Within [1e-4, 1e6) JavaScript prints the same digits in fixed notation.
  return String(value);
}

function typeOf(family: Family): string {
  return family.kind === "state" ? "gauge" : family.kind;
}

function textHeader(name: string, type: string, help: string): string {
  return `# HELP ${name} ${escapeHelp(help, "prometheus-0.0.4")}\n# TYPE ${name} ${type}\n`;
}

/** OpenMetrics metadata names the family, which for a counter is the sample name without `_total`. */
function omHeader(name: string, type: string, help: string, unit: string | undefined): string {
  const family = type === "counter" ? name.replace(/_total$/, "") : name;
  const unitLine = unit ? `# UNIT ${family} ${unit}\n` : "";
  return `# TYPE ${family} ${type}\n${unitLine}# HELP ${family} ${escapeHelp(help, "openmetrics-1.0.0")}\n`;
}

// Metadata lines do not depend on the snapshots: built once per process.
const TEXT_BUILD_INFO_HEADER = textHeader(BUILD_INFO_NAME, "gauge", BUILD_INFO_HELP);
const OM_BUILD_INFO_HEADER = omHeader(BUILD_INFO_NAME, "gauge", BUILD_INFO_HELP, undefined);
const TEXT_HEADERS = FAMILIES.map((f) => textHeader(f.name, typeOf(f), f.help));
const OM_HEADERS = FAMILIES.map((f) =>
  omHeader(f.name, typeOf(f), f.help, f.kind === "state" ? undefined : f.unit)
);
