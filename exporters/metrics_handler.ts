/**
 * {@linkcode createMetricsHandler}: a web-standard `/metrics` handler
 * (`Request` in, `Response` out) for `Deno.serve`, Node adapters, any fetch
 * framework, and the management agent.
 *
 * @module
 */
import type { MetricsSnapshot } from "../engine/mod.ts";
import { resolveBuildInfo } from "./_build_info.ts";
import { CONTENT_TYPES, renderExposition } from "./_exposition.ts";
import { acceptsGzip, negotiateFormat } from "./_negotiate.ts";

/** Anything with a metrics snapshot; a `SegmentIndex` is one. */
export interface MetricsSource {
  /** Called once per scrape. */
  metrics(): MetricsSnapshot;
}

/** Options of {@linkcode createMetricsHandler}. */
export interface MetricsHandlerOptions {
  /**
   * The indexes to export, asked on every scrape, so indexes opened or
   * closed later are followed without re-creating the handler.
   */
  indexes: () => Iterable<MetricsSource>;
  /** `version` label of `hestiastore_build_info`. @default the package version */
  version?: string;
  /** `runtime` label of `hestiastore_build_info`. @default the detected runtime, e.g. `deno 2.9.6` */
  runtime?: string;
}

const TEXT_HEADERS = { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" };

/**
 * Creates the `/metrics` handler. Each GET takes one snapshot of every index
 * and answers in OpenMetrics 1.0 or text 0.0.4 as `Accept` prefers (0.0.4
 * by default), gzip-compressed when `Accept-Encoding` allows it, with
 * `Cache-Control: no-store` and `Vary: Accept, Accept-Encoding`. HEAD
 * answers the same headers without a body; other methods get 405. If an
 * index's `metrics()` throws, the scrape fails with 500 rather than
 * silently dropping the index. The handler does not look at the path.
 *
 * @example
 * ```ts
 * import { equal, match } from "node:assert/strict";
 * import { MemoryFileSystem, SegmentIndex } from "../engine/mod.ts";
 * import { createMetricsHandler } from "./mod.ts";
 *
 * const index = await SegmentIndex.create("/db", { fs: new MemoryFileSystem(), name: "orders" });
 * const handler = createMetricsHandler({ indexes: () => [index] });
 * // Serve it with e.g. Deno.serve({ port: 9464 }, handler).
 * const response = await handler(new Request("http://localhost/metrics"));
 * equal(response.headers.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
 * match(await response.text(), /^hestiastore_index_up\{index="orders"\} 1$/m);
 * await index.close();
 * ```
 *
 * @throws {TypeError} If `indexes` is not a function or a label is not a string.
 */
export function createMetricsHandler(
  options: MetricsHandlerOptions,
): (request: Request) => Promise<Response> {
  if (typeof options?.indexes !== "function") {
    throw new TypeError(`Option 'indexes' must be a function, got ${typeof options?.indexes}`);
  }
  const indexes = options.indexes;
  const build = resolveBuildInfo({ version: options.version, runtime: options.runtime });

  return async function metricsHandler(request: Request): Promise<Response> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method Not Allowed\n", {
        status: 405,
        headers: { ...TEXT_HEADERS, Allow: "GET, HEAD" },
      });
    }
    const format = negotiateFormat(request.headers.get("Accept"));
    let text: string;
    try {
      text = renderExposition(Array.from(indexes(), (source) => source.metrics()), format, build);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return new Response(`Cannot collect metrics: ${message}\n`, { status: 500, headers: TEXT_HEADERS });
    }
    const headers = new Headers({
      "Content-Type": CONTENT_TYPES[format],
      "Cache-Control": "no-store",
      Vary: "Accept, Accept-Encoding",
    });
    let body: string | Uint8Array<ArrayBuffer> = text;
    if (acceptsGzip(request.headers.get("Accept-Encoding"))) {
      headers.set("Content-Encoding", "gzip");
      if (request.method === "GET") body = await gzip(text);
    }
    return new Response(request.method === "HEAD" ? null : body, { status: 200, headers });
  };
}

async function gzip(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
