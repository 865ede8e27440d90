/**
 * What both runtime adapters share: the serve options, the handle they
 * return, and the rule that a console without login stays on loopback.
 *
 * @module
 */

/** Where to listen. */
export interface ServeOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port. @default 8090 */
  port?: number;
}

/** A console being served. */
export interface ServedConsole {
  readonly host: string;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** The URL to open in a browser. */
  readonly url: string;
  /** Stops accepting requests, then stops the console's polling. */
  shutdown(): Promise<void>;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/** Resolves the defaults; throws when a console nobody signs in to would listen beyond loopback. */
export function listenAddress(options: ServeOptions, loginRequired: boolean): { host: string; port: number } {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 8090;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`Invalid port ${port}`);
  if (!loginRequired && !isLoopback(host)) {
    throw new Error(
      `Refusing to listen on ${host}: without users or a console token the console serves loopback only. ` +
        `Add "users" (console/tools/password_hash.ts) to the configuration to serve beyond loopback.`,
    );
  }
  return { host, port };
}

/** True for a host name or address only this machine can reach (IPv6 without brackets). */
export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/** The browser URL of `host:port`. */
export function urlOf(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}/`;
}
