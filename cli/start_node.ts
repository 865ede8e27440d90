/**
 * {@linkcode startNode}: one complete node — the engine's indexes under a
 * data folder, the exporter, the management agent and the console pointed
 * at the node itself — with a switch per rollout stage, so each can be
 * rolled back on its own while the stages below keep running:
 *
 * | switches                          | runs                                      | stages  |
 * | --------------------------------- | ----------------------------------------- | ------- |
 * | (none)                            | engine, agent with `/metrics`, console    | A B C D |
 * | `console: false`                  | engine, agent with `/metrics`             | A B C   |
 * | `exporter: false`                 | engine, agent (`/metrics` 404), console   | A C D   |
 * | `agent: false`                    | engine, `/metrics` alone                  | A B     |
 * | `agent: false, exporter: false`   | engine alone: nothing listens             | A       |
 *
 * The agent's and the console's modules, with their npm packages, are
 * imported only when those stages run, so a release whose agent or console
 * fails as soon as it loads can still run the stages below.
 *
 * @module
 */
import { rmSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import type { SegmentIndex } from "../engine/mod.ts";
import type { AgentApp, AuditSink } from "../agent/mod.ts";
import type { ConsoleConfig, ConsoleServer } from "../console/mod.ts";
import { closeIndexes, openIndexes, serveAgentOnRuntime } from "../agent/host.ts";
import { type DemoLoad, startDemoLoad } from "./_demo_load.ts";
import type { FetchHandler, FetchServer, FetchServerOptions } from "./_fetch_server.ts";
import type { NodeTokens } from "./_tokens_file.ts";

/** Options of {@linkcode startNode}. */
export interface StartNodeOptions {
  /** Folder of the indexes, the tokens file and the audit trail; created if missing. @default "./data" */
  data?: string;
  /** Indexes to open, or create, as `<data>/<name>`. @default ["default"] */
  indexes?: readonly string[];
  /** Address the agent and the console listen on. @default "127.0.0.1" */
  host?: string;
  /** Port of the agent, or of `/metrics` alone when the agent is off; 0 picks a free one. @default 9001 */
  port?: number;
  /** Port of the console; 0 picks a free one. @default 8090 */
  consolePort?: number;
  /** The tokens file (see `deno task token:new`), created on the first start. @default "<data>/tokens.json" */
  tokensFile?: string;
  /** PEM certificate chain and key: the agent (or `/metrics` alone) serves HTTPS only. */
  tls?: { cert: string; key: string };
  /** The console watches these nodes instead of this one. */
  consoleNodes?: ConsoleConfig;
  /** Drive a mixed read, write and scan workload on the indexes. @default false */
  demoLoad?: boolean;
  /** Stage D, the console. @default true; off whenever the agent is */
  console?: boolean;
  /** Stage C, the management agent (the console needs it). @default true */
  agent?: boolean;
  /** Stage B, `/metrics`. @default true */
  exporter?: boolean;
  /** The node's id in the agent's report and the console. @default the host name */
  nodeId?: string;
}

/** A running node. Fields of stages that are off are absent. */
export interface RunningNode {
  readonly indexes: ReadonlyMap<string, SegmentIndex>;
  /** The management agent, e.g. `http://127.0.0.1:9001`. */
  readonly agentUrl?: string;
  /** Where Prometheus scrapes: the agent's `/metrics`, or the exporter alone. */
  readonly metricsUrl?: string;
  /** The console, e.g. `http://127.0.0.1:8090/`. */
  readonly consoleUrl?: string;
  /**
   * How people sign in to the console: with the admin token, as the users or
   * token of `consoleNodes` say, or not at all (then it answers on loopback only).
   */
  readonly consoleSignIn: "admin-token" | "configured" | "none";
  /** The tokens file and what this start did with it; absent when the agent is off. */
  readonly tokens?: {
    file: string;
    /** Entries the agent accepts, the console's included. */
    count: number;
    /** The ADMIN token, when this start created the tokens file: show it once. */
    adminToken?: string;
  };
  /** What the demo load does, when it runs. */
  readonly demoLoad?: string;
  /**
   * Stops accepting requests, lets the ones in flight finish, stops the demo
   * load, then flushes and closes every index and the audit trail.
   *
   * @returns True when everything closed cleanly.
   */
  close(): Promise<boolean>;
}

const DEFAULT_INDEX = "default";
// Files and folders of the node itself inside the data folder.
const AUDIT_FOLDER = "audit";
const TOKENS_FILE = "tokens.json";
const CONSOLE_NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Opens the indexes and starts the stages that are on. Options are checked
 * before anything is opened; if a stage fails to start, what had started is
 * closed again and the error is thrown.
 *
 * @throws {TypeError | RangeError} For an invalid option.
 */
export async function startNode(options: StartNodeOptions = {}): Promise<RunningNode> {
  const o = validate(options);
  // Creating the first index creates the data folder too.
  const indexes = await openIndexes(o.data, o.indexes);
  const closers: (() => Promise<unknown>)[] = [];
  let closing: Promise<boolean> | undefined;
  const close = () =>
    closing ??= (async () => {
      let ok = true;
      // Last started, first stopped: listeners before the audit trail and the load, all before the indexes.
      for (const closer of closers.reverse()) {
        try {
          await closer();
        } catch (error) {
          ok = false;
          console.error(error);
        }
      }
      return await closeIndexes(indexes.values()) && ok;
    })();
  try {
    const running = await startStages(o, indexes, closers);
    return { ...running, indexes, close };
  } catch (error) {
    await close();
    throw error;
  }
}

type Resolved = ReturnType<typeof validate>;
type Started = Omit<RunningNode, "indexes" | "close">;

async function startStages(
  o: Resolved,
  indexes: Map<string, SegmentIndex>,
  closers: (() => Promise<unknown>)[],
): Promise<Started> {
  let demoLoad: DemoLoad | undefined;
  if (o.demoLoad) {
    demoLoad = startDemoLoad(indexes);
    closers.push(demoLoad.stop);
  }
  const started: Started = { consoleSignIn: "none", ...(demoLoad ? { demoLoad: demoLoad.description } : {}) };
  if (!o.agent) {
    if (!o.exporter) return started;
    const { createMetricsHandler } = await import("../exporters/mod.ts");
    const metrics = createMetricsHandler({ indexes: () => indexes.values() });
    const server = await serveFetch((request) => {
      const found = new URL(request.url).pathname === "/metrics";
      return found
        ? metrics(request)
        : new Response("Not found: this node serves /metrics only\n", { status: 404 });
    }, { hostname: o.host, port: o.port, ...(o.tls ? { tls: o.tls } : {}) });
    closers.push(server.shutdown);
    return { ...started, metricsUrl: `${server.url}/metrics` };
  }

  const { prepareTokens } = await import("./_tokens_file.ts");
  const tokens = await prepareTokens(o.tokensFile, {
    consoleToken: o.console && o.consoleNodes === undefined,
  });
  try {
    return await startAgentAndConsole(o, indexes, closers, started, tokens);
  } catch (error) {
    // A first start's admin token is shown once the node runs. A start that fails must not keep a file whose
    // token nobody saw, or the next start would not make another.
    if (tokens.adminToken !== undefined) rmSync(o.tokensFile, { force: true });
    throw error;
  }
}

async function startAgentAndConsole(
  o: Resolved,
  indexes: Map<string, SegmentIndex>,
  closers: (() => Promise<unknown>)[],
  started: Started,
  tokens: NodeTokens,
): Promise<Started> {
  const { createAgent, FileAuditSink } = await import("../agent/mod.ts");
  const audit: AuditSink = await FileAuditSink.open(join(o.data, AUDIT_FOLDER, "audit.jsonl"));
  closers.push(() => audit.close());
  const app = createAgent({
    indexes,
    audit,
    node: { nodeId: o.nodeId },
    security: { tokens: tokens.entries },
    ...(o.exporter ? {} : { exporter: false as const }),
  });
  const agent = await serveAgentOnRuntime(app, { hostname: o.host, port: o.port, ...o.tls });
  closers.push(agent.shutdown);
  const withAgent: Started = {
    ...started,
    agentUrl: agent.url,
    ...(o.exporter ? { metricsUrl: `${agent.url}/metrics` } : {}),
    tokens: {
      file: o.tokensFile,
      count: tokens.entries.length,
      ...(tokens.adminToken ? { adminToken: tokens.adminToken } : {}),
    },
  };
  if (!o.console) return withAgent;

  const consoleServer = await createNodeConsole(o, app, agent.url, tokens);
  const { serveConsole } = "Deno" in globalThis
    ? await import("../console/deno.ts")
    : await import("../console/node.ts");
  const served = await serveConsole(consoleServer, { host: o.host, port: o.consolePort }).catch(
    async (error) => {
      await consoleServer.close();
      throw error;
    },
  );
  closers.push(served.shutdown);
  const signIn = !consoleServer.loginRequired
    ? "none"
    : o.consoleNodes === undefined
    ? "admin-token"
    : "configured";
  return { ...withAgent, consoleUrl: served.url, consoleSignIn: signIn };
}

/** The console on `o.consoleNodes`, or on this node alone, signed in to with the admin token. */
async function createNodeConsole(
  o: Resolved,
  app: AgentApp,
  agentUrl: string,
  tokens: NodeTokens,
): Promise<ConsoleServer> {
  const { createConsole } = await import("../console/mod.ts");
  if (o.consoleNodes !== undefined) return await createConsole(o.consoleNodes);
  const id = CONSOLE_NODE_ID.test(o.nodeId) ? o.nodeId : "local";
  return await createConsole({
    nodes: [{ id, name: o.nodeId, baseUrl: agentUrl, token: tokens.consoleToken! }],
    ...(tokens.consoleTokenHash === undefined ? {} : { consoleTokenHash: tokens.consoleTokenHash }),
    fetch: inProcessFetch(app, o.tls !== undefined),
  });
}

/**
 * A `fetch` that hands each request straight to the agent in this process:
 * the console then needs no trust in a self-signed certificate and no
 * reachable address for a wildcard listen such as 0.0.0.0. It goes through
 * the whole app (tokens, roles, rate limits, audit) like a request from
 * loopback, and honours the request's abort signal as a socket would.
 */
function inProcessFetch(app: AgentApp, secure: boolean): typeof fetch {
  return (input, init) => {
    const request = new Request(input, init);
    return new Promise<Response>((resolve, reject) => {
      if (request.signal.aborted) return reject(request.signal.reason);
      request.signal.addEventListener("abort", () => reject(request.signal.reason), { once: true });
      Promise.resolve(app.fetch(request, { remoteAddress: "127.0.0.1", secure })).then(resolve, reject);
    });
  };
}

async function serveFetch(handler: FetchHandler, options: FetchServerOptions): Promise<FetchServer> {
  const adapter = "Deno" in globalThis ? await import("./_deno.ts") : await import("./_node.ts");
  return await adapter.serveFetch(handler, options);
}

function validate(options: StartNodeOptions) {
  const data = resolve(options.data ?? "./data");
  const indexes = options.indexes ?? [DEFAULT_INDEX];
  if (!Array.isArray(indexes) || indexes.length === 0) {
    throw new TypeError("Option 'indexes' must list at least one index name");
  }
  for (const name of indexes) {
    if (name === AUDIT_FOLDER || name === TOKENS_FILE) {
      throw new TypeError(`Index name '${name}' is reserved: the node keeps its ${name} in the data folder`);
    }
  }
  const host = options.host ?? "127.0.0.1";
  const port = checkPort("port", options.port ?? 9001);
  const consolePort = checkPort("consolePort", options.consolePort ?? 8090);
  if (
    options.tls !== undefined && (typeof options.tls.cert !== "string" || typeof options.tls.key !== "string")
  ) {
    throw new TypeError("Option 'tls' must hold the PEM text of 'cert' and 'key'");
  }
  const agent = options.agent ?? true;
  return {
    data,
    indexes,
    host,
    port,
    consolePort,
    tokensFile: resolve(options.tokensFile ?? join(data, TOKENS_FILE)),
    tls: options.tls,
    consoleNodes: options.consoleNodes,
    demoLoad: options.demoLoad ?? false,
    agent,
    console: agent && (options.console ?? true),
    exporter: options.exporter ?? true,
    nodeId: options.nodeId ?? hostname(),
  };
}

function checkPort(name: string, port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Option '${name}' must be an integer from 0 to 65535, got ${port}`);
  }
  return port;
}
