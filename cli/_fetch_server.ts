/**
 * The options and handle of the small plain server `hestiastore serve`
 * starts when the agent is off but the exporter is on (stage B alone): it
 * answers `/metrics` and nothing else. `_deno.ts` and `_node.ts` implement it.
 *
 * @module
 */

/** Where to listen. */
export interface FetchServerOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** PEM certificate chain and key: HTTPS only. */
  tls?: { cert: string; key: string };
}

/** A listening server. */
export interface FetchServer {
  readonly url: string;
  /** Stops accepting connections and resolves once in-flight requests are done. */
  shutdown(): Promise<void>;
}

/** The URL of a server listening on `hostname:port`. */
export function listenUrl(hostname: string, port: number, tls: boolean): string {
  const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
  return `${tls ? "https" : "http"}://${host}:${port}`;
}

/** A request handler of web-standard `Request` and `Response`. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;
