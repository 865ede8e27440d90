/**
 * Serves the agent with `Deno.serve`, over HTTPS when given a certificate.
 *
 * ```ts ignore
 * import { serveAgent } from "./deno.ts";
 * const server = await serveAgent(app, { port: 9001, cert, key });
 * console.log(server.url);
 * ```
 *
 * @module
 */
import type { AgentApp } from "./agent.ts";
import { type AgentServer, resolveServeOptions, type ServeAgentOptions, serverUrl } from "./serve_options.ts";

export type { AgentServer, ServeAgentOptions };

/**
 * Listens with `app`. The peer address and whether the connection is TLS
 * are passed to the app from the listener itself.
 *
 * Rejects when no tokens are configured and `hostname` is not loopback (see `allowInsecureRemote`).
 */
export async function serveAgent(app: AgentApp, options: ServeAgentOptions = {}): Promise<AgentServer> {
  const { hostname, port, tls } = resolveServeOptions(app, options);
  const secure = tls !== undefined;
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { hostname, port, ...tls, signal: options.signal, onListen: listening.resolve },
    (request, info) => app.fetch(request, { remoteAddress: info.remoteAddr.hostname, secure }),
  );
  const addr = await listening.promise;
  return {
    url: serverUrl(hostname, addr.port, secure),
    hostname,
    port: addr.port,
    shutdown: () => server.shutdown(),
    finished: server.finished,
  };
}
