/**
 * Serves a console on Node with `@hono/node-server`.
 *
 * @module
 */
import { serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import type { ConsoleServer } from "./create_console.ts";
import { listenAddress, type ServedConsole, type ServeOptions, urlOf } from "./_listen.ts";

export type { ServedConsole, ServeOptions };

/** Listens on `options.host:options.port` (loopback:8090 by default) until `shutdown()`. */
export function serveConsole(console: ConsoleServer, options: ServeOptions = {}): Promise<ServedConsole> {
  const { host, port } = listenAddress(options, console.loginRequired);
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: (request) => console.fetch(request), hostname: host, port },
      (info: AddressInfo) => {
        resolve({
          host,
          port: info.port,
          url: urlOf(host, info.port),
          shutdown: async () => {
            await new Promise<void>((done) => {
              server.close(() => done());
              // Idle keep-alive connections would hold close() open until they time out.
              (server as { closeAllConnections?: () => void }).closeAllConnections?.();
            });
            await console.close();
          },
        });
      },
    );
    server.once("error", reject);
  });
}
