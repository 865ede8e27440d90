/**
 * The plain server of `hestiastore serve` on Deno, with `Deno.serve`.
 *
 * @module
 */
import { type FetchHandler, type FetchServer, type FetchServerOptions, listenUrl } from "./_fetch_server.ts";

/** Listens with `handler` until `shutdown()`. */
export async function serveFetch(handler: FetchHandler, options: FetchServerOptions): Promise<FetchServer> {
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { hostname: options.hostname, port: options.port, ...options.tls, onListen: listening.resolve },
    (request) => handler(request),
  );
  const addr = await listening.promise;
  return {
    url: listenUrl(options.hostname, addr.port, options.tls !== undefined),
    shutdown: () => server.shutdown(),
  };
}
