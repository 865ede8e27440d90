/**
 * Serves a console on Deno with `Deno.serve`.
 *
 * @module
 */
import type { ConsoleServer } from "./create_console.ts";
import { listenAddress, type ServedConsole, type ServeOptions, urlOf } from "./_listen.ts";

export type { ServedConsole, ServeOptions };

/** Listens on `options.host:options.port` (loopback:8090 by default) until `shutdown()`. */
export function serveConsole(console: ConsoleServer, options: ServeOptions = {}): Promise<ServedConsole> {
  const { host, port } = listenAddress(options, console.loginRequired);
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: host,
      port,
      onListen: (addr) => {
        resolve({
          host,
          port: addr.port,
          url: urlOf(host, addr.port),
          shutdown: async () => {
            await server.shutdown();
            await console.close();
          },
        });
      },
    }, (request) => console.fetch(request));
  });
}
