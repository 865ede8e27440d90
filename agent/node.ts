/**
 * Serves the agent with `@hono/node-server`, over HTTPS (`node:https`)
 * when given a certificate.
 *
 * ```ts ignore
 * import { serveAgent } from "./node.ts";
 * const server = await serveAgent(app, { port: 9001, cert, key });
 * console.log(server.url);
 * ```
 *
 * @module
 */
import { serve } from "@hono/node-server";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { AgentApp } from "./agent.ts";
import { type AgentServer, resolveServeOptions, type ServeAgentOptions, serverUrl } from "./serve_options.ts";

export type { AgentServer, ServeAgentOptions };

/**
 * Listens with `app`. The peer address and whether the connection is TLS
 * come from the socket: the URL the adapter builds follows an absolute
 * request target, which a plain-HTTP client can set to `https://…`.
 *
 * Rejects when no tokens are configured and `hostname` is not loopback (see `allowInsecureRemote`).
 */
export async function serveAgent(app: AgentApp, options: ServeAgentOptions = {}): Promise<AgentServer> {
  const { hostname, port, tls } = resolveServeOptions(app, options);
  const secure = tls !== undefined;
  return await new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: (request, env) =>
          app.fetch(request, { remoteAddress: env.incoming.socket.remoteAddress ?? "unknown", secure }),
        hostname,
        port,
        ...(tls === undefined ? {} : { createServer: createHttpsServer, serverOptions: { ...tls } }),
      },
      (info: AddressInfo) => {
        server.off("error", reject);
        const finished = new Promise<void>((done) => server.once("close", () => done()));
        const shutdown = () =>
          new Promise<void>((done) => {
            server.close(() => done());
            if ("closeIdleConnections" in server) server.closeIdleConnections();
          });
        options.signal?.addEventListener("abort", () => shutdown(), { once: true });
        resolve({
          url: serverUrl(hostname, info.port, secure),
          hostname,
          port: info.port,
          shutdown,
          finished,
        });
      },
    );
    server.once("error", reject);
  });
}
