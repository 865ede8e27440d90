/**
 * `createConsole(options)`: the web console as a `fetch` handler, with its
 * background poller. A runtime adapter (console/deno.ts, console/node.ts)
 * serves it.
 *
 * @module
 */
import { ACTOR_PATTERN } from "../agent/api/mod.ts";
import { ActionRunner } from "./_actions.ts";
import { buildApp } from "./_app.tsx";
import { Poller } from "./_poller.ts";
import { LoginThrottle, Sessions } from "./_sessions.ts";
import { buildClient, type ClientBundle } from "./bundle.ts";
import type { NodeConfig, UserConfig } from "./config.ts";
import { checkPasswordHash } from "./password.ts";

/** Options of {@linkcode createConsole}. A configuration file read by `parseConsoleConfig` fits in directly. */
export interface ConsoleOptions {
  /** The nodes to watch, in the order the pages list them. */
  nodes: NodeConfig[];
  /** People who may sign in. With users or a console token, every page needs a sign-in. */
  users?: UserConfig[];
  /** PBKDF2 hash of a shared console token, accepted by the sign-in page instead of a user and password. */
  consoleTokenHash?: string;
  /** Time between polls of each node. @default 2000 */
  pollIntervalMs?: number;
  /** Timeout of a report or configuration request to a node. @default 3000 */
  requestTimeoutMs?: number;
  /** Timeout of one attempt of an action; a timed-out action is asked for again with its requestId. @default 10000 */
  actionTimeoutMs?: number;
  /** No new attempt of an action starts after this long. @default 600000 */
  actionDeadlineMs?: number;
  /** Reports fetched at the same time at most. @default 32 */
  maxConcurrentPolls?: number;
  /** Polls kept per node for the sparklines. @default 60 */
  seriesLength?: number;
  /** Finished actions kept for the history panel. @default 200 */
  historyLimit?: number;
  /** A session ends after this long without a request. @default 28800000 (8 h) */
  sessionIdleMs?: number;
  /** Failed sign-ins per user name within `loginWindowMs` before further tries are refused. @default 5 */
  loginAttempts?: number;
  /** @default 300000 (5 min) */
  loginWindowMs?: number;
  /** The actor named to agents when nobody signs in (loopback use without users). @default "local" */
  localActor?: string;
  /** A prebuilt browser bundle; built with esbuild when absent. */
  client?: ClientBundle;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Epoch milliseconds. @default Date.now */
  now?: () => number;
}

/** The running console. */
export interface ConsoleServer {
  /** Handles one HTTP request. */
  fetch(request: Request): Promise<Response>;
  /** True when people must sign in: users or a console token are configured. Without it, serve on loopback only. */
  readonly loginRequired: boolean;
  /** Polls every node now; resolves when every poll settled. */
  refresh(): Promise<void>;
  /** Stops polling and abandons running actions. */
  close(): Promise<void>;
}

const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Validates the options, builds the browser bundle if none is given, and
 * starts polling the nodes.
 *
 * @throws {TypeError} A node, user or hash is malformed or repeated.
 * @throws {RangeError} A duration or count is not a positive integer.
 */
export async function createConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const o = validate(options);
  const client = options.client ?? await buildClient();
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const now = options.now ?? Date.now;
  const poller = new Poller({
    nodes: o.nodes,
    fetch: fetchFn,
    now,
    pollIntervalMs: o.pollIntervalMs,
    requestTimeoutMs: o.requestTimeoutMs,
    maxConcurrentPolls: o.maxConcurrentPolls,
    seriesLength: o.seriesLength,
  });
  const actions = new ActionRunner({
    fetch: fetchFn,
    now,
    actionTimeoutMs: o.actionTimeoutMs,
    actionDeadlineMs: o.actionDeadlineMs,
    historyLimit: o.historyLimit,
  });
  const loginRequired = o.users.length > 0 || o.consoleTokenHash !== undefined;
  const app = buildApp({
    poller,
    actions,
    client,
    fetch: fetchFn,
    sessions: new Sessions(now, o.sessionIdleMs),
    throttle: new LoginThrottle(now, o.loginAttempts, o.loginWindowMs),
    users: o.users,
    consoleTokenHash: o.consoleTokenHash,
    loginRequired,
    localActor: o.localActor,
    requestTimeoutMs: o.requestTimeoutMs,
    actionTimeoutMs: o.actionTimeoutMs,
  });
  poller.start();
  return {
    fetch: async (request) => await app.fetch(request),
    loginRequired,
    refresh: () => poller.refresh(),
    close: async () => {
      await Promise.all([poller.stop(), actions.close()]);
    },
  };
}

function validate(options: ConsoleOptions) {
  if (!Array.isArray(options.nodes) || options.nodes.length === 0) {
    throw new TypeError("Cannot create the console: list at least one node");
  }
  const ids = new Set<string>();
  for (const node of options.nodes) {
    if (!NODE_ID.test(node.id)) {
      throw new TypeError(`Node id "${node.id}" must be 1–64 characters of [A-Za-z0-9._-]`);
    }
    if (ids.has(node.id)) throw new TypeError(`Node id "${node.id}" is listed twice`);
    ids.add(node.id);
    const url = URL.canParse(node.baseUrl) ? new URL(node.baseUrl) : null;
    if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
      throw new TypeError(`Node "${node.id}": baseUrl must be an http or https URL, got "${node.baseUrl}"`);
    }
    if (node.token === "") throw new TypeError(`Node "${node.id}": the token is empty`);
  }
  const users = options.users ?? [];
  const names = new Set<string>();
  for (const user of users) {
    if (!ACTOR_PATTERN.test(user.name)) {
      throw new TypeError(
        `User name "${user.name}" must be 1–128 printable ASCII characters (it names the audit actor)`,
      );
    }
    if (names.has(user.name)) throw new TypeError(`User "${user.name}" is listed twice`);
    names.add(user.name);
    checkPasswordHash(user.passwordHash, `User "${user.name}"`);
  }
  if (options.consoleTokenHash !== undefined) checkPasswordHash(options.consoleTokenHash, "consoleTokenHash");
  const localActor = options.localActor ?? "local";
  if (!ACTOR_PATTERN.test(localActor)) {
    throw new TypeError(`localActor "${localActor}" is not a valid actor name`);
  }
  return {
    nodes: options.nodes.map((n) => ({ ...n, baseUrl: n.baseUrl.replace(/\/+$/, "") })),
    users,
    consoleTokenHash: options.consoleTokenHash,
    pollIntervalMs: positive("pollIntervalMs", options.pollIntervalMs, 2000),
    requestTimeoutMs: positive("requestTimeoutMs", options.requestTimeoutMs, 3000),
    actionTimeoutMs: positive("actionTimeoutMs", options.actionTimeoutMs, 10_000),
    actionDeadlineMs: positive("actionDeadlineMs", options.actionDeadlineMs, 600_000),
    maxConcurrentPolls: positive("maxConcurrentPolls", options.maxConcurrentPolls, 32),
    seriesLength: positive("seriesLength", options.seriesLength, 60),
    historyLimit: positive("historyLimit", options.historyLimit, 200),
    sessionIdleMs: positive("sessionIdleMs", options.sessionIdleMs, 8 * 3600_000),
    loginAttempts: positive("loginAttempts", options.loginAttempts, 5),
    loginWindowMs: positive("loginWindowMs", options.loginWindowMs, 300_000),
    localActor,
  };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`Option ${name} must be a positive integer, got ${value}`);
  }
  return value;
}
