/**
 * {@linkcode createAgent}: the management agent of one node as a Hono app
 * built on `Request`/`Response` only. Everything it depends on is passed
 * in — the indexes, the security policy, the audit sink, the clock — so it
 * runs the same under `app.request()` in tests, `Deno.serve` and Node.
 *
 * @module
 */
import { type Context, type Handler, Hono, type MiddlewareHandler } from "hono";
import { createMetricsHandler, VERSION } from "../exporters/mod.ts";
import { ACTION_COMPACT, ACTION_FLUSH, CONFIG, METRICS } from "./api/paths.ts";
import { buildOpenApiDocument, type OpenApiDocument } from "./api/openapi.ts";
import { ROUTES, type RouteSpec } from "./api/routes.ts";
import { actionHandler } from "./_actions.ts";
import type { AuditSink } from "./audit_sink.ts";
import { auditPageHandler, auditVerifyHandler } from "./_audit_routes.ts";
import { auditTrail } from "./_audit_trail.ts";
import { Authenticator, requireRole } from "./_auth.ts";
import { getConfigHandler, patchConfigHandler } from "./_config_routes.ts";
import { defaultRemoteAddress, requestContext } from "./_context.ts";
import { cors } from "./_cors.ts";
import type { AgentBindings, AgentEnv } from "./_env.ts";
import { AgentError, createErrorHandler } from "./_errors.ts";
import { IdempotencyStore } from "./_idempotency.ts";
import { IndexDirectory } from "./_indexes.ts";
import { healthHandler, readyHandler } from "./_probes.ts";
import { MutationQuota } from "./_quota.ts";
import { RateLimiter } from "./_rate_limit.ts";
import { reportHandler } from "./_report.ts";
import type { TokenEntry } from "./tokens.ts";
import { requireTls } from "./_transport.ts";
import type { ManagedIndex } from "./managed_index.ts";

export type { AgentBindings, AgentEnv };

/** A token bucket: `capacity` requests at once, regained at `refillPerSecond`. */
export interface RateLimitOptions {
  capacity: number;
  refillPerSecond: number;
}

/** Who may call what, and how often. */
export interface AgentSecurity {
  /**
   * The accepted tokens (salted hashes; see `agent/token_new.ts`). None
   * makes the agent open: every caller is an anonymous ADMIN, and the
   * adapters then listen on loopback only unless told otherwise.
   */
  tokens: readonly TokenEntry[];
  /** Refuse requests that did not come over TLS with 400 TLS_REQUIRED. @default false */
  requireTls?: boolean;
  /** Serve `/metrics` without a token (scrapers often have none). @default false: READ */
  metricsOpen?: boolean;
  /** Origins allowed to call from a browser. @default no CORS */
  cors?: { origins: readonly string[] };
  /** Mutating calls per caller (token, or address when anonymous) and endpoint. @default 120 at once, 2/s */
  rateLimit?: RateLimitOptions;
  /** Requests failing authentication, per address; past it 429 instead of 401. @default 60 at once, 1/s */
  anonymousRateLimit?: RateLimitOptions;
  /**
   * Audit record pairs per address for mutating requests that executed
   * nothing (refused, or replayed); beyond it they are not recorded.
   * @default 120 at once, 1/s
   */
  auditRateLimit?: RateLimitOptions;
}

/** Who the node is, for the report. */
export interface NodeOptions {
  nodeId: string;
  nodeName?: string;
  /** @default the HestiaStore version */
  version?: string;
}

/** What {@linkcode createAgent} needs. */
export interface AgentDeps {
  /** The indexes by name, read on every request: add, remove or close one and the agent follows. */
  indexes: ReadonlyMap<string, ManagedIndex>;
  security: AgentSecurity;
  /** Where mutating requests are recorded; a failing sink makes them fail closed (503). */
  audit: AuditSink;
  node: NodeOptions;
  /** Epoch milliseconds, for timestamps and rate limits. @default Date.now */
  clock?: () => number;
  /** `false` turns `/metrics` off (then a 404 like any unknown path). */
  exporter?: false;
  /** The caller's address, for rate limits and the audit trail. @default what the adapter passes */
  remoteAddress?: (c: Context<AgentEnv>) => string;
  /** Largest request body accepted. @default 65536 */
  maxBodyBytes?: number;
  /** Action results kept for replay. @default 10000 */
  maxStoredResults?: number;
  /** Where unexpected errors are reported. @default console.error */
  log?: (message: string, error: unknown) => void;
}

/** The agent: a Hono app, plus what the adapters must know before they listen. */
export class AgentApp extends Hono<AgentEnv> {
  /** No tokens are configured: anyone who can connect is ADMIN. */
  readonly anonymousAccess: boolean;

  constructor(anonymousAccess: boolean) {
    super();
    this.anonymousAccess = anonymousAccess;
  }
}

const DEFAULT_RATE_LIMIT: RateLimitOptions = { capacity: 120, refillPerSecond: 2 };
const DEFAULT_ANONYMOUS_RATE_LIMIT: RateLimitOptions = { capacity: 60, refillPerSecond: 1 };
const DEFAULT_AUDIT_RATE_LIMIT: RateLimitOptions = { capacity: 120, refillPerSecond: 1 };
const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
const MAX_BODY_BYTES_LIMIT = 16 * 1024 * 1024;
const DEFAULT_MAX_STORED_RESULTS = 10_000;

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`Option '${name}' must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function checkOrigins(origins: readonly string[]): Set<string> {
  if (!Array.isArray(origins)) throw new TypeError("Option 'security.cors.origins' must be an array");
  for (const origin of origins) {
    let canonical: string | undefined;
    try {
      canonical = new URL(origin).origin;
    } catch {
      canonical = undefined;
    }
    if (canonical !== origin) {
      throw new TypeError(
        `Option 'security.cors.origins' must hold origins such as "https://console.example.com", got ` +
          JSON.stringify(origin),
      );
    }
  }
  return new Set(origins);
}

function checkDeps(deps: AgentDeps): void {
  if (typeof deps?.indexes?.get !== "function" || typeof deps.indexes[Symbol.iterator] !== "function") {
    throw new TypeError("Option 'indexes' must be a Map of index name to index");
  }
  if (!Array.isArray(deps.security?.tokens)) {
    throw new TypeError("Option 'security.tokens' must be an array (empty for an open agent)");
  }
  if (typeof deps.audit?.append !== "function") throw new TypeError("Option 'audit' must be an AuditSink");
  if (typeof deps.node?.nodeId !== "string" || deps.node.nodeId === "") {
    throw new TypeError("Option 'node.nodeId' must be a non-empty string");
  }
}

/**
 * Creates the agent. Options are checked here, once.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { MemoryFileSystem, SegmentIndex } from "../engine/mod.ts";
 * import { createAgent, MemoryAuditSink } from "./mod.ts";
 *
 * const orders = await SegmentIndex.create("/orders", { fs: new MemoryFileSystem() });
 * const app = createAgent({
 *   indexes: new Map([["orders", orders]]),
 *   security: { tokens: [] }, // open: serve it on loopback only
 *   audit: new MemoryAuditSink(),
 *   node: { nodeId: "node-1" },
 * });
 * const response = await app.request("/api/v1/actions/flush", {
 *   method: "POST",
 *   headers: { "Content-Type": "application/json" },
 *   body: JSON.stringify({ requestId: "r-1", indexName: "orders" }),
 * });
 * strictEqual(response.status, 200);
 * strictEqual((await response.json()).status, "COMPLETED");
 * await orders.close();
 * ```
 *
 * @throws {TypeError | RangeError} For a missing or invalid option, or a bad token entry.
 */
export function createAgent(deps: AgentDeps): AgentApp {
  checkDeps(deps);
  const { security } = deps;
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? ((message: string, error: unknown) => console.error(message, error));
  const maxBodyBytes = checkInteger(
    "maxBodyBytes",
    deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    1,
    MAX_BODY_BYTES_LIMIT,
  );
  const maxStoredResults = checkInteger(
    "maxStoredResults",
    deps.maxStoredResults ?? DEFAULT_MAX_STORED_RESULTS,
    1,
    10_000_000,
  );
  const limiter = (name: string, options: RateLimitOptions) => new RateLimiter({ ...options, name }, clock);
  const authenticator = new Authenticator(
    security.tokens,
    limiter("unauthenticated", security.anonymousRateLimit ?? DEFAULT_ANONYMOUS_RATE_LIMIT),
  );
  const quota = new MutationQuota(limiter("mutating", security.rateLimit ?? DEFAULT_RATE_LIMIT));
  const trail = auditTrail({
    sink: deps.audit,
    unexecuted: limiter("audit", security.auditRateLimit ?? DEFAULT_AUDIT_RATE_LIMIT),
    maxBodyBytes,
    log,
  });
  const origins = security.cors === undefined ? undefined : checkOrigins(security.cors.origins);
  const version = deps.node.version ?? VERSION;
  const indexes = new IndexDirectory(deps.indexes);
  const results = new IdempotencyStore(maxStoredResults);

  const routes: RouteSpec[] = ROUTES
    .filter((route) => route.path !== METRICS || deps.exporter !== false)
    .map((route) => route.path === METRICS && security.metricsOpen ? { ...route, role: null } : route);
  let openApi: OpenApiDocument | undefined;
  const metrics = createMetricsHandler({ indexes: () => indexes.open().map(([, index]) => index), version });

  const handlers: Record<string, Handler<AgentEnv>> = {
    getReport: reportHandler({ ...deps.node, version }, indexes, clock),
    flush: actionHandler("FLUSH", ACTION_FLUSH, { indexes, results, quota, clock }),
    compact: actionHandler("COMPACT", ACTION_COMPACT, { indexes, results, quota, clock }),
    getConfig: getConfigHandler(indexes, clock),
    patchConfig: patchConfigHandler(indexes, quota, CONFIG, clock),
    getAudit: auditPageHandler(deps.audit),
    verifyAudit: auditVerifyHandler(deps.audit),
    // Built on first request: generating the JSON Schemas takes a few milliseconds nobody needs at startup.
    getOpenApi: (c) => c.json(openApi ??= buildOpenApiDocument({ version, routes })),
    getHealth: healthHandler(),
    getReady: readyHandler(indexes, clock),
    getMetrics: async (c) => {
      const response = await metrics(c.req.raw);
      if (!response.ok) throw new AgentError("INTERNAL_ERROR", "Cannot render the metrics");
      return response;
    },
  };

  const app = new AgentApp(authenticator.open);
  const handleError = createErrorHandler(clock, log);
  app.onError(handleError);
  app.notFound((c) =>
    handleError(new AgentError("NOT_FOUND", `No such path: ${c.req.path.slice(0, 200)}`), c)
  );
  app.use(requestContext(deps.remoteAddress ?? defaultRemoteAddress));

  const methods = new Map<string, string[]>();
  for (const route of routes) {
    methods.set(route.path, [...methods.get(route.path) ?? [], route.method]);
  }
  for (const list of methods.values()) if (list.includes("GET")) list.push("HEAD");
  if (origins !== undefined) app.use(cors(origins, (path) => methods.get(path)));

  const tls = requireTls();
  for (const route of routes) {
    const chain: MiddlewareHandler<AgentEnv>[] = [];
    if (route.mutating) chain.push(trail);
    if (security.requireTls) chain.push(tls);
    if (route.role !== null) chain.push(requireRole(route.role, authenticator));
    chain.push(handlers[route.operationId] as MiddlewareHandler<AgentEnv>);
    app.on(route.method, route.path, ...chain as [MiddlewareHandler<AgentEnv>]);
  }
  for (const [path, list] of methods) {
    const allow = list.join(", ");
    app.all(path, (c) => {
      throw new AgentError("METHOD_NOT_ALLOWED", `${c.req.method} is not allowed on ${path}; use ${allow}`, {
        headers: { Allow: allow },
      });
    });
  }
  return app;
}
