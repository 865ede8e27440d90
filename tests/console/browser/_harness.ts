/**
 * The fleet the console's browser gates run against: real agents (the
 * project's own, on loopback, with real on-disk indexes and file audit
 * trails), a port with nothing listening (DOWN), a server that accepts
 * requests and never answers (TIMEOUT), and an agent the console holds a
 * wrong token for (AUTH_FAILED); then the console on them, and headless
 * Debian Chromium through playwright-core.
 *
 * Every agent and the hanging server record when each request arrived and
 * when it was answered (or dropped), on one clock, so a test can prove that
 * the console's requests overlapped instead of timing the page.
 *
 * @module
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync, rmSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { SegmentIndex } from "../../../engine/mod.ts";
import {
  type AgentApp,
  type AuditEntry,
  createAgent,
  FileAuditSink,
  newToken,
  type RateLimitOptions,
} from "../../../agent/mod.ts";
import type { Role } from "../../../agent/api/mod.ts";
import { serveAgent } from "../../../agent/deno.ts";
import {
  buildClient,
  type ClientBundle,
  type ConsoleServer,
  createConsole,
  hashPassword,
} from "../../../console/mod.ts";
import { serveConsole, type ServedConsole } from "../../../console/deno.ts";
import { scratchDir } from "../_scratch.ts";

/** One request as a server saw it; times from `performance.now()`. */
export interface Span {
  path: string;
  start: number;
  /** When the answer was ready, or the client dropped the connection; null while open. */
  end: number | null;
  status: number | null;
}

/** A real agent on loopback. */
export interface AgentHandle {
  id: string;
  url: string;
  /** The token the console is configured with. */
  consoleToken: string;
  /** An ADMIN token (not a console token) for the test's own calls. */
  adminToken: string;
  indexes: Map<string, SegmentIndex>;
  auditFile: string;
  spans: Span[];
  /** Stops serving; the indexes stay open. */
  stop(): Promise<void>;
  /** Serves again on the same port. */
  start(): Promise<void>;
  /** The audit trail as written to its file. */
  auditEntries(): AuditEntry[];
  /** A direct call with the ADMIN token. */
  call(method: string, path: string, body?: unknown): Promise<Response>;
  close(): Promise<void>;
}

export interface AgentSpec {
  id: string;
  /** Index names, with the number of keys each gets. */
  indexes: Record<string, number>;
  /** Role of the console's token. @default "ADMIN" */
  consoleRole?: Role;
  rateLimit?: RateLimitOptions;
  /** @default 0 (a free port) */
  port?: number;
}

export const CHROMIUM_PATH = "/usr/bin/chromium";
export const USER = "alice";
export const PASSWORD = "correct horse battery staple";

let bundle: Promise<ClientBundle> | undefined;

/** Starts a real agent with real indexes filled with keys, some reads and deletes. */
export async function startAgent(dir: string, spec: AgentSpec): Promise<AgentHandle> {
  const indexes = new Map<string, SegmentIndex>();
  for (const [name, keys] of Object.entries(spec.indexes)) {
    const index = await SegmentIndex.create(`${dir}/${spec.id}/${name}`, { name, durability: "none" });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < keys; i++) writes.push(index.put(keyOf(i), `value-${i}`));
    await Promise.all(writes);
    await index.flush();
    for (let i = 0; i < keys; i += 3) index.get(keyOf(i));
    const deletes: Promise<void>[] = [];
    for (let i = 0; i < keys; i += 10) deletes.push(index.delete(keyOf(i)));
    await Promise.all(deletes);
    indexes.set(name, index);
  }
  const consoleToken = await newToken(`${spec.id}-console`, spec.consoleRole ?? "ADMIN", { console: true });
  const admin = await newToken(`${spec.id}-admin`, "ADMIN");
  const auditFile = `${dir}/${spec.id}/audit/audit.jsonl`;
  const audit = await FileAuditSink.open(auditFile);
  const app = createAgent({
    indexes,
    security: { tokens: [consoleToken.entry, admin.entry], rateLimit: spec.rateLimit },
    audit,
    node: { nodeId: spec.id, nodeName: spec.id },
  });
  const spans = recordSpans(app);
  let server = await serveAgent(app, { port: spec.port ?? 0 });
  const port = server.port;
  const url = server.url;
  let running = true;
  const stop = async () => {
    if (!running) return;
    running = false;
    await server.shutdown();
  };
  return {
    id: spec.id,
    url,
    consoleToken: consoleToken.token,
    adminToken: admin.token,
    indexes,
    auditFile,
    spans,
    stop,
    async start() {
      if (running) return;
      server = await serveAgent(app, { port });
      running = true;
    },
    auditEntries: () =>
      readFileSync(auditFile, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)),
    call: (method, path, body) =>
      fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    async close() {
      await stop();
      await audit.close();
      for (const index of indexes.values()) await index.close();
    },
  };
}

/** The key of the `i`th entry the harness writes. */
export function keyOf(i: number): string {
  return `key-${String(i).padStart(6, "0")}`;
}

function recordSpans(app: AgentApp): Span[] {
  const spans: Span[] = [];
  const original = app.fetch;
  app.fetch = async (request, ...rest) => {
    const span: Span = {
      path: new URL(request.url).pathname,
      start: performance.now(),
      end: null,
      status: null,
    };
    spans.push(span);
    const response = await original(request, ...rest);
    span.end = performance.now();
    span.status = response.status;
    return response;
  };
  return spans;
}

/** A server that takes every request and never answers; a span ends when the client gives up. */
export async function startHangingServer(
  port = 0,
): Promise<{ url: string; spans: Span[]; close(): Promise<void> }> {
  const spans: Span[] = [];
  const server: Server = createServer((request) => {
    const span: Span = { path: request.url ?? "", start: performance.now(), end: null, status: null };
    spans.push(span);
    request.socket.once("close", () => span.end = performance.now());
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A loopback port nobody listens on (bound once, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The browser bundle, built once per test process. */
export function clientBundle(): Promise<ClientBundle> {
  bundle ??= buildClient();
  return bundle;
}

/** The standard fleet and a console watching it. */
export interface Fleet {
  dir: string;
  alpha: AgentHandle;
  beta: AgentHandle;
  gamma: AgentHandle;
  badauth: AgentHandle;
  hanging: { url: string; spans: Span[]; close(): Promise<void> };
  downUrl: string;
  console: ConsoleServer;
  served: ServedConsole;
  /** The console's URL, ending in "/". */
  url: string;
  requestTimeoutMs: number;
  close(): Promise<void>;
}

/**
 * alpha (two indexes, ADMIN console token), beta (one index, ADMIN, one
 * action per hour allowed), gamma (READ console token), badauth (the
 * console holds a token it does not know), down (nothing listens), slow
 * (never answers); one user, alice.
 */
export async function startFleet(name: string): Promise<Fleet> {
  const dir = scratchDir(name);
  const alpha = await startAgent(dir, { id: "alpha", indexes: { orders: 3000, users: 400 } });
  const beta = await startAgent(dir, {
    id: "beta",
    indexes: { events: 500 },
    rateLimit: { capacity: 1, refillPerSecond: 1 / 3600 },
  });
  const gamma = await startAgent(dir, { id: "gamma", indexes: { archive: 200 }, consoleRole: "READ" });
  const badauth = await startAgent(dir, { id: "badauth", indexes: {} });
  const stranger = await newToken("stranger", "ADMIN", { console: true });
  const hanging = await startHangingServer();
  const downUrl = `http://127.0.0.1:${await freePort()}`;
  // The console's documented default. The agents answer from this process, whose event loop a loaded
  // 2-core CI machine (Chromium included) can hold up for more than a second: a shorter timeout turned
  // real agents TIMEOUT for a round, and a configuration call failed. The hanging node still shows TIMEOUT
  // well within the 10 s that failure_modes_test.ts allows.
  const requestTimeoutMs = 3000;
  const consoleServer = await createConsole({
    nodes: [
      { id: "alpha", name: "Alpha", baseUrl: alpha.url, token: alpha.consoleToken },
      { id: "beta", name: "Beta", baseUrl: beta.url, token: beta.consoleToken },
      { id: "gamma", name: "Gamma", baseUrl: gamma.url, token: gamma.consoleToken },
      { id: "down", name: "Down", baseUrl: downUrl, token: alpha.consoleToken },
      { id: "slow", name: "Slow", baseUrl: hanging.url, token: alpha.consoleToken },
      { id: "badauth", name: "Bad auth", baseUrl: badauth.url, token: stranger.token },
    ],
    users: [{ name: USER, passwordHash: await hashPassword(PASSWORD, 100_000) }],
    pollIntervalMs: 400,
    requestTimeoutMs,
    actionTimeoutMs: 8000,
    client: await clientBundle(),
  });
  const served = await serveConsole(consoleServer, { port: 0 });
  return {
    dir,
    alpha,
    beta,
    gamma,
    badauth,
    hanging,
    downUrl,
    console: consoleServer,
    served,
    url: served.url,
    requestTimeoutMs,
    async close() {
      await served.shutdown();
      await hanging.close();
      for (const agent of [alpha, beta, gamma, badauth]) await agent.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Headless Debian Chromium. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // --no-sandbox: we run as root; the rest keep Chromium off the network.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A page signed in as alice, on the dashboard, hydrated. Page errors are collected into `errors`. */
export async function signedInPage(
  browser: Browser,
  fleet: Fleet,
  errors: string[],
  viewport = { width: 1280, height: 900 },
): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on("pageerror", (e) => errors.push(String(e)));
  // An error status the page handles (a refused action, a node that is down) is not an error of the page.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  await page.goto(fleet.url);
  await page.getByLabel("User name").fill(USER);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(fleet.url);
  await waitHydrated(page);
  return page;
}

/** Waits until the client bundle hydrated every island of the page. */
export async function waitHydrated(page: Page): Promise<void> {
  await page.waitForFunction(() => document.documentElement.dataset.hydrated === "true");
}

/**
 * Runs `check` (assertions) until it passes, every 100 ms; once `timeoutMs`
 * has passed, its last failure is thrown. For what the page shows of the
 * real agents: on a loaded machine one poll of one of them can time out, and
 * its row is stale (last known) until the next poll, 400 ms later.
 */
export async function settles(check: () => Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (performance.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`Not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
