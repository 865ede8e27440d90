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
  // Deno 2.9's shutdown() makes the body of a request still arriving unreadable (denoland/deno#36809), so
  // shutdown() first lets the requests in flight finish, answering new ones 503, and only then shuts down.
  let inFlight = 0;
  let draining = false;
  const drained = Promise.withResolvers<void>();
  const server = Deno.serve(
    { hostname, port, ...tls, signal: options.signal, onListen: listening.resolve },
    async (request, info) => {
      if (draining) return shuttingDown();
      inFlight++;
      try {
        return await app.fetch(request, { remoteAddress: info.remoteAddr.hostname, secure });
      } finally {
        if (--inFlight === 0 && draining) drained.resolve();
      }
    },
  );
  const addr = await listening.promise;
  return {
    url: serverUrl(hostname, addr.port, secure),
    hostname,
    port: addr.port,
    shutdown: async () => {
      draining = true;
      if (inFlight === 0) drained.resolve();
      await drained.promise;
      await server.shutdown();
    },
    finished: server.finished,
  };
}

/** The answer to a request that arrives while the server drains. */
function shuttingDown(): Response {
  const body = {
    code: "INVALID_STATE",
    message: "The node is shutting down",
    requestId: null,
    capturedAt: new Date().toISOString(),
  };
  return Response.json(body, { status: 503, headers: { connection: "close", "retry-after": "1" } });
}
