/**
 * HestiaStore for TypeScript — the Prometheus exporter: every index's
 * metrics snapshot as `hestiastore_*` series labelled `index`, in the text
 * format 0.0.4 or OpenMetrics 1.0 chosen by `Accept`, gzip when asked.
 * It reads snapshots at scrape time only: the engine never calls it, so an
 * application without it pays nothing. This module imports no package and
 * uses only web-standard APIs, so it runs unchanged on Deno, Node, Bun and
 * in any fetch framework.
 *
 * ```ts
 * import { equal, match } from "node:assert/strict";
 * import { MemoryFileSystem, SegmentIndex } from "../engine/mod.ts";
 * import { createMetricsHandler } from "./mod.ts";
 *
 * const orders = await SegmentIndex.create("/orders", { fs: new MemoryFileSystem(), name: "orders" });
 * await orders.put("o-1", "paid");
 * orders.get("o-1");
 *
 * const handler = createMetricsHandler({ indexes: () => [orders] });
 * // In a server: Deno.serve({ port: 9464 }, handler), or mount it on /metrics in any fetch framework.
 * const response = await handler(
 *   new Request("http://localhost/metrics", { headers: { Accept: "application/openmetrics-text" } }),
 * );
 * equal(response.headers.get("Content-Type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
 * const body = await response.text();
 * match(body, /^hestiastore_ops_get_total\{index="orders"\} 1$/m);
 * match(body, /^# EOF\n$/m);
 * await orders.close();
 * ```
 *
 * @module
 */
export { createMetricsHandler, type MetricsHandlerOptions, type MetricsSource } from "./metrics_handler.ts";
export { type BuildInfo, CONTENT_TYPES, type ExpositionFormat, renderMetrics } from "./render_metrics.ts";
export { VERSION } from "./version.ts";
