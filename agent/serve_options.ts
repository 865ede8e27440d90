/**
 * Options of the adapters that put the agent on a socket (`agent/deno.ts`,
 * `agent/node.ts`), checked the same way for both.
 *
 * @module
 */
import type { AgentApp } from "./agent.ts";

/** Options of `serveAgent()`. */
export interface ServeAgentOptions {
  /** Address to listen on. @default "127.0.0.1" */
  hostname?: string;
  /** Port to listen on; 0 picks a free one. @default 9001 */
  port?: number;
  /** PEM certificate chain; with `key`, the agent serves HTTPS only. */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
  /**
   * Listen beyond loopback even though no tokens are configured, which lets
   * anyone who can connect act as ADMIN. @default false
   */
  allowInsecureRemote?: boolean;
  /** Aborting it shuts the server down. */
  signal?: AbortSignal;
}

/** A listening agent. */
export interface AgentServer {
  /** Where it listens, e.g. `https://127.0.0.1:9001`. */
  readonly url: string;
  readonly hostname: string;
  readonly port: number;
  /** Stops accepting connections and resolves once in-flight requests are done. */
  shutdown(): Promise<void>;
  /** Resolves once the server has stopped. */
  readonly finished: Promise<void>;
}

/** The checked options. */
export interface ResolvedServeOptions {
  hostname: string;
  port: number;
  tls?: { cert: string; key: string };
}

const DEFAULT_PORT = 9001;

/** True for addresses only this machine can reach. */
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || hostname === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Checks `options` against `app`.
 *
 * @throws {TypeError | RangeError} For a bad port or half a certificate.
 * @throws {Error} When `app` has no tokens and `hostname` is not loopback, unless `allowInsecureRemote`.
 */
export function resolveServeOptions(app: AgentApp, options: ServeAgentOptions): ResolvedServeOptions {
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Option 'port' must be an integer from 0 to 65535, got ${port}`);
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new TypeError("Options 'cert' and 'key' must be given together");
  }
  if (app.anonymousAccess && !isLoopback(hostname) && !options.allowInsecureRemote) {
    throw new Error(
      `Cannot listen on ${hostname}: no tokens are configured, so any caller would be ADMIN; ` +
        "configure tokens, listen on loopback, or set allowInsecureRemote",
    );
  }
  const tls = options.cert === undefined ? undefined : { cert: options.cert, key: options.key! };
  return tls === undefined ? { hostname, port } : { hostname, port, tls };
}

/** The URL of a server listening on `hostname:port`. */
export function serverUrl(hostname: string, port: number, tls: boolean): string {
  const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
  return `${tls ? "https" : "http"}://${host}:${port}`;
}
