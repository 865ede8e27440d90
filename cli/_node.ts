/**
 * The plain server of `hestiastore serve` on Node, with `@hono/node-server`
 * (and `node:https` when given a certificate).
 *
 * @module
 */
import { serve } from "@hono/node-server";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { type FetchHandler, type FetchServer, type FetchServerOptions, listenUrl } from "./_fetch_server.ts";

/** Listens with `handler` until `shutdown()`. */
export function serveFetch(handler: FetchHandler, options: FetchServerOptions): Promise<FetchServer> {
  const { hostname, port, tls } = options;
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: handler,
        hostname,
        port,
        ...(tls === undefined ? {} : { createServer: createHttpsServer, serverOptions: { ...tls } }),
      },
      (info: AddressInfo) => {
        server.off("error", reject);
        resolve({
          url: listenUrl(hostname, info.port, tls !== undefined),
          shutdown: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              // Idle keep-alive connections would hold close() open until they time out.
              if ("closeIdleConnections" in server) server.closeIdleConnections();
            }),
        });
      },
    );
    server.once("error", reject);
  });
}
