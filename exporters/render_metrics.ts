/**
 * {@linkcode renderMetrics}: the exposition text, for embedders that serve
 * `/metrics` themselves instead of mounting the handler.
 *
 * @module
 */
import type { MetricsSnapshot } from "../engine/mod.ts";
import { type BuildInfo, resolveBuildInfo } from "./_build_info.ts";
import { CONTENT_TYPES, type ExpositionFormat, renderExposition } from "./_exposition.ts";

export type { BuildInfo, ExpositionFormat };
export { CONTENT_TYPES };

/**
 * Renders index snapshots as a complete exposition: `hestiastore_build_info`
 * and every `hestiastore_*` family, one series per index (sorted by name;
 * of two snapshots with the same name only the first is rendered). An
 * empty list still gives a valid exposition.
 *
 * Take each snapshot once per scrape (`index.metrics()`) and pass them all,
 * so one scrape describes one moment. Serve the text with
 * `CONTENT_TYPES[format]` as `Content-Type`.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { MemoryFileSystem, SegmentIndex } from "../engine/mod.ts";
 * import { renderMetrics } from "./mod.ts";
 *
 * const index = await SegmentIndex.create("/db", { fs: new MemoryFileSystem(), name: "orders" });
 * await index.put("a", "1");
 * const text = renderMetrics([index.metrics()], "prometheus-0.0.4", { version: "1.0.0", runtime: "test" });
 * ok(text.includes('hestiastore_ops_put_total{index="orders"} 1\n'));
 * await index.close();
 * ```
 *
 * @param snapshots One snapshot per index.
 * @param format `prometheus-0.0.4` (text) or `openmetrics-1.0.0`.
 * @param build Labels of `hestiastore_build_info`; by default the package version and the detected runtime.
 * @returns The exposition, ending with a line feed (`# EOF\n` in OpenMetrics).
 */
export function renderMetrics(
  snapshots: Iterable<MetricsSnapshot>,
  format: ExpositionFormat,
  build?: Partial<BuildInfo>,
): string {
  if (!Object.hasOwn(CONTENT_TYPES, format)) {
    throw new TypeError(`Exposition format must be "prometheus-0.0.4" or "openmetrics-1.0.0", got ${format}`);
  }
  return renderExposition(snapshots, format, resolveBuildInfo(build));
}
