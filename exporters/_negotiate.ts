/**
 * Content negotiation for a scrape: which exposition format the `Accept`
 * header prefers, and whether `Accept-Encoding` allows gzip.
 *
 * The rule follows Prometheus' content_negotiation.md for the two formats
 * served here: OpenMetrics 1.0 when the client names
 * `application/openmetrics-text` (no version, 1.0.0, or 0.0.1, whose
 * readers parse 1.0.0) with a weight above zero and at least the weight of
 * `text/plain` (no version, or 0.0.4); otherwise, including a missing or
 * unparsable header, text 0.0.4. Wildcard ranges never select
 * OpenMetrics: they mean "anything", and 0.0.4 is what every scraper reads.
 *
 * @module
 */
import type { ExpositionFormat } from "./_exposition.ts";

interface MediaRange {
  readonly type: string;
  readonly params: ReadonlyMap<string, string>;
  readonly q: number;
}

/** The format to serve for an `Accept` header value (`null` when absent). */
export function negotiateFormat(accept: string | null): ExpositionFormat {
  if (!accept) return "prometheus-0.0.4";
  let openMetricsQ = 0;
  let textQ = 0;
  for (const range of parseList(accept)) {
    const version = range.params.get("version");
    if (
      range.type === "application/openmetrics-text" &&
      (version === undefined || version === "1.0.0" || version === "0.0.1")
    ) {
      openMetricsQ = Math.max(openMetricsQ, range.q);
    } else if (range.type === "text/plain" && (version === undefined || version === "0.0.4")) {
      textQ = Math.max(textQ, range.q);
    }
  }
  return openMetricsQ > 0 && openMetricsQ >= textQ ? "openmetrics-1.0.0" : "prometheus-0.0.4";
}

/** True when an `Accept-Encoding` value allows gzip: `gzip`/`x-gzip`, or `*`, with a weight above zero. */
export function acceptsGzip(acceptEncoding: string | null): boolean {
  if (!acceptEncoding) return false;
  let gzipQ: number | undefined;
  let anyQ: number | undefined;
  for (const coding of parseList(acceptEncoding)) {
    if (coding.type === "gzip" || coding.type === "x-gzip") gzipQ = Math.max(gzipQ ?? 0, coding.q);
    else if (coding.type === "*") anyQ = coding.q;
  }
  // An explicit gzip entry wins over the wildcard, even `gzip;q=0` (a refusal).
  return (gzipQ ?? anyQ ?? 0) > 0;
}

/** Comma-separated entries `token;name=value;q=0.5`, lower-cased; an entry with a malformed weight is dropped. */
function parseList(header: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const entry of header.split(",")) {
    const [head, ...rest] = entry.split(";");
    const type = head.trim().toLowerCase();
    if (type === "") continue;
    const params = new Map<string, string>();
    for (const param of rest) {
      const eq = param.indexOf("=");
      if (eq < 0) continue;
      const name = param.slice(0, eq).trim().toLowerCase();
      params.set(name, param.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1"));
    }
    const weight = params.get("q");
    params.delete("q");
    const q = weight === undefined ? 1 : parseWeight(weight);
    if (q === undefined) continue;
    out.push({ type, params, q });
  }
  return out;
}

/** RFC 9110 `qvalue`: 0 to 1 with at most three decimals. */
function parseWeight(text: string): number | undefined {
  return /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(text) ? Number(text) : undefined;
}
