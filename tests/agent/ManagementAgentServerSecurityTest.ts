/**
 * Stage C gate: the management agent's security model, in process on real
 * engine indexes: every route × every kind of caller, TLS, rate limits and
 * the audit trail. HTTPS over a real socket, on Deno and on Node, is in
 * `agent_socket_test.ts` (its "over HTTPS" suite and "requireTls accepts
 * HTTPS"); here TLS is what the adapter reports, as `app.fetch`'s `secure`.
 *
 * Every mutating request of this file goes through {@linkcode Client.send},
 * which keeps it in a ledger. When a case ends, its agents' audit trails are
 * read back, and the last case checks that each of those requests left an
 * intent and then an outcome record with its caller, actor, address,
 * endpoint, body digest, status and code. The only requests allowed to leave
 * none are marked so by the case that sends them: those refused because the
 * trail could not be written, and rejected ones past the per-address audit
 * budget.
 */
import { assert, assertEquals, assertGreater, assertMatch } from "@std/assert";
import { afterEach, describe, it } from "@std/testing/bdd";
import {
  ACTION_COMPACT,
  ACTION_FLUSH,
  ACTOR_HEADER,
  ACTOR_PATTERN,
  AUDIT,
  AUDIT_VERIFY,
  AuditPageSchema,
  AuditVerificationSchema,
  CONFIG,
  type ErrorCode,
  METRICS,
  REPLAYED_HEADER,
  REPORT,
  REQUEST_ID_HEADER,
  ROUTES,
  type RouteSpec,
} from "../../agent/api/mod.ts";
import {
  type AuditEntry,
  type AuditSink,
  FileAuditSink,
  sha256Hex,
  verifyAuditFiles,
} from "../../agent/audit_sink.ts";
import { FaultFileSystem } from "../../engine/fs/fault_fs.ts";
import { type FileSystem, MemoryFileSystem } from "../../engine/mod.ts";
import {
  assertError,
  assertRan,
  createFixture,
  type Fixture,
  type FixtureOptions,
  json,
  jsonRequest,
  work,
} from "./_agent_fixture.ts";

const REALM = 'Bearer realm="hestiastore"';
const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
/** Well-formed secret that no token has: the ADMIN token's id with it is the "bad token" of the matrix. */
const WRONG_SECRET = "A".repeat(43);

/** A mutating request as sent and answered, and what its audit records must say. */
interface Sent {
  method: string;
  endpoint: string;
  body: Uint8Array;
  /** The X-Request-Id header, and the body's requestId when it has one: the records carry one of them. */
  requestIds: string[];
  tokenId: string | null;
  actor: string | null;
  remote: string;
  status: number;
  code: string | undefined;
  replayed: boolean;
  /** Why the request must leave no record; undefined for every request that must. */
  unaudited?: string;
}

interface SendOptions {
  /** A token id of the agent; `"bad"` for the ADMIN id with a wrong secret; another id for an unknown token. */
  token?: string;
  /** The peer address the adapter reports. @default none ("unknown") */
  remote?: string;
  /** TLS as the adapter reports it. @default from the URL scheme (http) */
  secure?: boolean;
  actor?: string;
  /** Why this request must leave no audit record. */
  unaudited?: string;
}

/** An agent under test whose mutating requests are kept for the final audit check. */
class Client {
  readonly label: string;
  readonly fixture: Fixture;
  readonly sink: AuditSink;
  readonly sent: Sent[] = [];
  readonly #consoleTokens: Set<string>;
  readonly #maxBodyBytes: number;

  constructor(label: string, fixture: Fixture, options: FixtureOptions) {
    this.label = label;
    this.fixture = fixture;
    this.sink = options.audit ?? fixture.audit;
    this.#consoleTokens = new Set(
      Object.entries(options.tokens ?? {}).filter(([, spec]) => spec.console).map(([id]) => id),
    );
    this.#maxBodyBytes = options.deps?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  }

  async send(path: string, init: RequestInit = {}, options: SendOptions = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has(REQUEST_ID_HEADER)) headers.set(REQUEST_ID_HEADER, nextId());
    if (options.token !== undefined) headers.set("Authorization", `Bearer ${this.#bearer(options.token)}`);
    if (options.actor !== undefined) headers.set(ACTOR_HEADER, options.actor);
    const request = new Request(new URL(path, "http://localhost"), { ...init, headers });
    const url = new URL(request.url);
    const response = await this.fixture.app.fetch(request, {
      remoteAddress: options.remote,
      secure: options.secure,
    });
    const mutating = ROUTES.some((r) => r.mutating && r.method === request.method && r.path === url.pathname);
    if (mutating) await this.#record(request, url, init.body, response, options);
    return response;
  }

  #bearer(token: string): string {
    return this.fixture.tokens[token] ?? `hst_${token === "bad" ? "admin" : token}_${WRONG_SECRET}`;
  }

  async #record(
    request: Request,
    url: URL,
    body: RequestInit["body"],
    response: Response,
    options: SendOptions,
  ): Promise<void> {
    const bytes = typeof body === "string"
      ? new TextEncoder().encode(body)
      : body instanceof Uint8Array
      ? body
      : new Uint8Array(0);
    let parsed: Record<string, unknown> = {};
    let sentJson: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(await response.clone().text());
    } catch {
      // Not JSON: no code to expect.
    }
    try {
      sentJson = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      // A malformed body on purpose.
    }
    const code = response.status >= 400 && typeof parsed?.code === "string" ? parsed.code : undefined;
    const known = options.token !== undefined && options.token in this.fixture.tokens;
    // TLS is checked before the token is looked at.
    const tokenId = known && code !== "TLS_REQUIRED" ? options.token! : null;
    const sentActor = request.headers.get(ACTOR_HEADER);
    const actor = tokenId !== null && this.#consoleTokens.has(tokenId) && sentActor !== null &&
        ACTOR_PATTERN.test(sentActor)
      ? sentActor
      : null;
    const requestIds = [request.headers.get(REQUEST_ID_HEADER)!];
    if (typeof sentJson?.requestId === "string") requestIds.push(sentJson.requestId);
    this.sent.push({
      method: request.method,
      endpoint: `${url.pathname}${url.search}`,
      body: bytes.subarray(0, this.#maxBodyBytes),
      requestIds,
      tokenId,
      actor,
      remote: options.remote ?? "unknown",
      status: response.status,
      code,
      replayed: response.headers.get(REPLAYED_HEADER) === "true",
      unaudited: options.unaudited,
    });
  }
}

let idCount = 0;
function nextId(): string {
  return `sec-${++idCount}`;
}

/** The agents of the running case, settled when it ends. */
let clients: Client[] = [];
/** Every agent of the run, with its audit trail as read when its case ended. */
const ledger: { client: Client; entries: AuditEntry[] }[] = [];

async function agent(label: string, options: FixtureOptions = {}): Promise<Client> {
  const client = new Client(label, await createFixture(options), options);
  clients.push(client);
  return client;
}

async function settle(): Promise<void> {
  for (const client of clients) {
    const { total } = await client.sink.page(0, 0);
    const { entries } = await client.sink.page(0, total);
    ledger.push({ client, entries });
    await client.sink.close();
    await client.fixture.close();
  }
  clients = [];
}

const flushBody = (requestId: string, indexName?: string) =>
  jsonRequest("POST", indexName === undefined ? { requestId } : { requestId, indexName });

const admin: SendOptions = { token: "admin" };

/** The named headers of a response whose body does not matter. */
async function headersOf(response: Response, ...names: string[]): Promise<(string | null)[]> {
  await response.body?.cancel();
  return names.map((name) => response.headers.get(name));
}

/** Replaces (or recreates) a whole file. */
function replaceFile(fs: FileSystem, path: string, bytes: Uint8Array): void {
  const handle = fs.open(path, "append");
  handle.truncate(0);
  handle.append(bytes);
  handle.close();
}

/** The files of the trail under `/audit`, oldest first. */
function trailFiles(fs: FileSystem): string[] {
  const number = (name: string) => Number(name.slice("audit.jsonl.".length) || 0);
  return fs.list("/audit").filter((name) => name.startsWith("audit.jsonl"))
    .sort((a, b) => (number(b) || 0) - (number(a) || 0)).map((name) => `/audit/${name}`);
}

/** An agent whose trail is a FileAuditSink rotated every three lines or so. */
async function rotatingAgent(
  label: string,
  fs: FileSystem = new MemoryFileSystem(),
  log?: (message: string) => void,
): Promise<{ c: Client; fs: FileSystem; sink: FileAuditSink }> {
  const sink = await FileAuditSink.open("/audit/audit.jsonl", { fs, maxFileBytes: 1500, maxFiles: 1000 });
  const c = await agent(label, {
    tokens: { admin: { role: "ADMIN" }, ops: { role: "OPERATE" }, read: { role: "READ" } },
    audit: sink,
    deps: log === undefined ? {} : { log },
  });
  return { c, fs, sink };
}

/** One mutating request of every kind the trail records: run, replayed, failed, and refused at each check. */
async function everyKindOfMutation(c: Client): Promise<void> {
  const ops = { token: "ops" };
  const config = `${CONFIG}?indexName=index-1`;
  await json(await c.send(ACTION_FLUSH, flushBody("k-1"), ops));
  await json(await c.send(ACTION_FLUSH, flushBody("k-1"), ops));
  await json(await c.send(ACTION_COMPACT, flushBody("k-2", "index-2"), ops));
  c.fixture.b.failFlush = new Error("disk on fire");
  await assertError(await c.send(ACTION_FLUSH, flushBody("k-3"), ops), 500, "INTERNAL_ERROR");
  await assertError(await c.send(ACTION_FLUSH, flushBody("k-3"), ops), 500, "INTERNAL_ERROR");
  c.fixture.b.failFlush = undefined;
  await assertError(await c.send(ACTION_FLUSH, flushBody("k-3", "index-1"), ops), 409, "REQUEST_ID_CONFLICT");
  await assertError(await c.send(ACTION_COMPACT, flushBody("k-4", "nope"), ops), 404, "INDEX_NOT_FOUND");
  await assertError(await c.send(ACTION_FLUSH, flushBody("k-5")), 401, "UNAUTHORIZED");
  await assertError(await c.send(ACTION_FLUSH, flushBody("k-6"), { token: "read" }), 403, "FORBIDDEN");
  const plain = { method: "POST", body: '{"requestId":"k-7"}', headers: { "Content-Type": "text/plain" } };
  await assertError(await c.send(ACTION_FLUSH, plain, ops), 415, "UNSUPPORTED_MEDIA_TYPE");
  await assertError(
    await c.send(ACTION_FLUSH, jsonRequest("POST", '{"requestId":'), ops),
    400,
    "INVALID_REQUEST",
  );
  const huge = JSON.stringify({ requestId: "k-8", padding: "x".repeat(70_000) });
  await assertError(await c.send(ACTION_FLUSH, jsonRequest("POST", huge), ops), 413, "REQUEST_TOO_LARGE");
  const patch = (values: Record<string, number>, extra: Record<string, unknown> = {}) =>
    jsonRequest("PATCH", { values, ...extra });
  await json(await c.send(config, patch({ segmentCacheLimit: 4 }, { expectedRevision: 0 }), admin));
  await json(await c.send(config, patch({ segmentCacheLimit: 5 }, { dryRun: true }), admin));
  await assertError(
    await c.send(config, patch({ segmentCacheLimit: 6 }, { expectedRevision: 0 }), admin),
    409,
    "REVISION_CONFLICT",
  );
  await assertError(await c.send(config, patch({ nope: 1 }), admin), 400, "CONFIG_KEY_NOT_SUPPORTED");
  await assertError(await c.send(config, patch({ segmentCacheLimit: 0 }), admin), 400, "INVALID_REQUEST");
  await assertError(await c.send(config, patch({ segmentCacheLimit: 4 }), ops), 403, "FORBIDDEN");
}

interface Column {
  name: string;
  token?: string;
}

const COLUMNS: readonly Column[] = [
  { name: "no token" },
  { name: "bad token", token: "bad" },
  { name: "READ", token: "read" },
  { name: "OPERATE", token: "operate" },
  { name: "ADMIN", token: "admin" },
];

const ROLE_TOKENS = {
  read: { role: "READ" },
  operate: { role: "OPERATE" },
  admin: { role: "ADMIN" },
} as const;

/** Expected status of each route, by operationId, for the columns above, on an agent with tokens. */
const EXPECTED: Record<string, readonly number[]> = {
  getReport: [401, 401, 200, 200, 200],
  flush: [401, 401, 403, 200, 200],
  compact: [401, 401, 403, 200, 200],
  getConfig: [401, 401, 200, 200, 200],
  patchConfig: [401, 401, 403, 403, 200],
  getAudit: [401, 401, 403, 403, 200],
  verifyAudit: [401, 401, 403, 403, 200],
  getOpenApi: [401, 401, 200, 200, 200],
  getHealth: [200, 200, 200, 200, 200],
  getReady: [200, 200, 200, 200, 200],
  getMetrics: [401, 401, 200, 200, 200],
};

const ALL_OK = [200, 200, 200, 200, 200];
const MATRIX_CODES: Record<number, ErrorCode> = {
  400: "TLS_REQUIRED",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
};

/** A request that succeeds on each route, given a fresh id and the cell's number. */
const SAMPLES: Record<string, (id: string, cell: number) => { path: string; init: RequestInit }> = {
  flush: (id) => ({ path: ACTION_FLUSH, init: flushBody(id) }),
  compact: (id) => ({ path: ACTION_COMPACT, init: flushBody(id, "index-1") }),
  getConfig: () => ({ path: `${CONFIG}?indexName=index-1`, init: {} }),
  patchConfig: (_, cell) => ({
    path: `${CONFIG}?indexName=index-1`,
    init: jsonRequest("PATCH", { values: { segmentCacheLimit: 8 + cell } }),
  }),
  getAudit: () => ({ path: `${AUDIT}?limit=10`, init: {} }),
};

interface Variant {
  name: string;
  options: FixtureOptions;
  secure?: boolean;
  row(route: RouteSpec): readonly number[];
}

const VARIANTS: readonly Variant[] = [
  { name: "tokens", options: { tokens: ROLE_TOKENS }, row: (route) => EXPECTED[route.operationId] },
  {
    name: "tokens, metricsOpen",
    options: { tokens: ROLE_TOKENS, security: { metricsOpen: true } },
    row: (route) => route.path === METRICS ? ALL_OK : EXPECTED[route.operationId],
  },
  {
    name: "tokens, requireTls, over TLS",
    options: { tokens: ROLE_TOKENS, security: { requireTls: true } },
    secure: true,
    row: (route) => EXPECTED[route.operationId],
  },
  {
    name: "tokens, requireTls, over plain HTTP",
    options: { tokens: ROLE_TOKENS, security: { requireTls: true } },
    secure: false,
    row: () => [400, 400, 400, 400, 400],
  },
  { name: "no tokens (open agent)", options: {}, row: () => ALL_OK },
];

/** Checks one cell of the matrix: status, headers, and the error shape or the route's response schema. */
async function checkCell(
  response: Response,
  route: RouteSpec,
  method: string,
  column: Column,
  status: number,
  id: string,
): Promise<void> {
  const cell = `${method} ${route.path} with ${column.name}`;
  assertEquals(response.headers.get("X-Content-Type-Options"), "nosniff", cell);
  assertEquals(
    response.headers.get("WWW-Authenticate"),
    status !== 401 ? null : column.token === undefined ? REALM : `${REALM}, error="invalid_token"`,
    cell,
  );
  if (method === "HEAD") {
    assertEquals(response.status, status, cell);
    assertEquals(await response.text(), "", cell);
    return;
  }
  if (status >= 400) {
    const body = await assertError(response, status, MATRIX_CODES[status]);
    assertEquals(body.requestId, id, `${cell}: the error echoes X-Request-Id`);
    return;
  }
  const spec = route.responses[200];
  if (spec.schema === undefined) {
    assertEquals(response.status, 200, cell);
    assertMatch(response.headers.get("Content-Type")!, /^text\/plain; version=0\.0\.4/, cell);
    assertMatch(await response.text(), /^hestiastore_index_up\{index="index-1"\} 1$/m, cell);
  } else {
    spec.schema.parse(await json(response));
  }
}

describe("ManagementAgentServerSecurity", () => {
  afterEach(settle);

  it("the expectation table names every route and a sample request for each mutating one", () => {
    assertEquals(Object.keys(EXPECTED).sort(), ROUTES.map((r) => r.operationId).sort());
    for (const route of ROUTES) {
      assert(!route.mutating || route.operationId in SAMPLES, `${route.operationId} needs a sample body`);
    }
  });

  for (const variant of VARIANTS) {
    describe(`matrix, ${variant.name}`, () => {
      for (const route of ROUTES) {
        for (const method of route.method === "GET" ? ["GET", "HEAD"] : [route.method]) {
          const row = variant.row(route);
          it(`${method} ${route.path}: ${row.join(" ")}`, async () => {
            const client = await agent(`${variant.name}: ${method} ${route.path}`, variant.options);
            const before = work(client.fixture);
            let ran = 0;
            for (const [i, column] of COLUMNS.entries()) {
              const id = nextId();
              const sample = SAMPLES[route.operationId]?.(id, i) ?? { path: route.path, init: {} };
              const init = {
                ...sample.init,
                method,
                headers: { ...sample.init.headers, [REQUEST_ID_HEADER]: id },
              };
              const response = await client.send(sample.path, init, {
                token: column.token,
                secure: variant.secure,
              });
              await checkCell(response, route, method, column, row[i], id);
              if (row[i] === 200) ran++;
            }
            // Refused cells ran nothing, and reads change nothing.
            const targets = route.operationId === "flush" ? [ran, ran] : [ran, 0];
            assertRan(client.fixture, before, {
              flushes: route.operationId === "flush" ? targets : undefined,
              compactions: route.operationId === "compact" ? targets : undefined,
              revisions: route.operationId === "patchConfig" ? targets : undefined,
            });
          });
        }
      }
    });
  }

  describe("TLS", () => {
    it("requireTls refuses plain HTTP before the token is looked at, trusting only the adapter", async () => {
      const c = await agent("requireTls before the token", {
        tokens: { read: { role: "READ" }, ops: { role: "OPERATE" } },
        security: { requireTls: true, anonymousRateLimit: { capacity: 1, refillPerSecond: 1 / 60 } },
      });
      const start = work(c.fixture);
      // Neither an https:// URL nor X-Forwarded-Proto counts, and no failed authentication is charged.
      for (let i = 0; i < 5; i++) {
        const response = await c.send(`https://localhost${REPORT}`, {
          headers: { "X-Forwarded-Proto": "https" },
        }, { token: "bad", secure: false });
        assertEquals(response.headers.get("WWW-Authenticate"), null);
        await assertError(response, 400, "TLS_REQUIRED");
      }
      await assertError(
        await c.send(ACTION_FLUSH, flushBody("plain"), { token: "ops", secure: false }),
        400,
        "TLS_REQUIRED",
      );
      assertRan(c.fixture, start, {});
      await assertError(await c.send(REPORT, {}, { token: "bad", secure: true }), 401, "UNAUTHORIZED");
      await assertError(await c.send(REPORT, {}, { token: "bad", secure: true }), 429, "RATE_LIMITED");
      await json(await c.send(REPORT, {}, { token: "read", secure: true }));
      await json(await c.send(ACTION_FLUSH, flushBody("tls"), { token: "ops", secure: true }));
      assertRan(c.fixture, start, { flushes: [1, 1] });
    });
  });

  describe("rate limits", () => {
    it("mutating calls are 429 RATE_LIMITED past the bucket, which refills exactly on the clock", async () => {
      const c = await agent("mutating limit", {
        tokens: { ops: { role: "OPERATE" }, other: { role: "OPERATE" } },
        security: { rateLimit: { capacity: 3, refillPerSecond: 1 / 20 } },
      });
      const f = c.fixture;
      const start = work(f);
      const flush = (requestId: string, token = "ops") =>
        c.send(ACTION_FLUSH, flushBody(requestId, "index-1"), { token });
      const policy = '"mutating";q=3;w=60';
      for (const [requestId, remaining] of [["a", 2], ["b", 1], ["c", 0]] as const) {
        assertEquals(
          await headersOf(await flush(requestId), "RateLimit-Policy", "RateLimit", "Retry-After"),
          [policy, `"mutating";r=${remaining};t=20`, null],
        );
      }
      const refused = await flush("d");
      assertEquals(
        [
          refused.headers.get("Retry-After"),
          refused.headers.get("RateLimit"),
          refused.headers.get("RateLimit-Policy"),
        ],
        ["20", '"mutating";r=0;t=20', policy],
      );
      assertEquals((await assertError(refused, 429, "RATE_LIMITED")).requestId, "d");
      assertRan(f, start, { flushes: [3, 0] });
      // The wait counts down with the clock; refusals do not push it back.
      f.now += 10_000;
      assertEquals(await headersOf(await flush("d"), "Retry-After"), ["10"]);
      f.now += 9_999;
      assertEquals(await headersOf(await flush("d"), "Retry-After"), ["1"]);
      f.now += 1;
      assertEquals(await headersOf(await flush("d"), "RateLimit", "Retry-After"), [
        '"mutating";r=0;t=20',
        null,
      ]);
      assertEquals(await headersOf(await flush("e"), "Retry-After"), ["20"]);
      // A bucket per token and per endpoint.
      await json(await flush("e", "other"));
      assertEquals(
        await headersOf(
          await c.send(ACTION_COMPACT, flushBody("e", "index-1"), { token: "ops" }),
          "RateLimit",
        ),
        ['"mutating";r=2;t=20'],
      );
      // An idle bucket refills to its capacity and no further.
      f.now += 3_600_000;
      assertEquals(await headersOf(await flush("f"), "RateLimit"), ['"mutating";r=2;t=20']);
      assertRan(f, start, { flushes: [6, 0], compactions: [1, 0] });
    });

    it("replays are free: a stored requestId replays past the limit and leaves the bucket as it was", async () => {
      const c = await agent("replays are free", {
        tokens: { ops: { role: "OPERATE" } },
        security: { rateLimit: { capacity: 2, refillPerSecond: 1 / 30 } },
      });
      const f = c.fixture;
      const start = work(f);
      const flush = (requestId: string, indexName = "index-1") =>
        c.send(ACTION_FLUSH, flushBody(requestId, indexName), { token: "ops" });
      const first = await flush("a");
      assertEquals(first.headers.get("RateLimit"), '"mutating";r=1;t=30');
      const stored = await first.text();
      for (let i = 0; i < 5; i++) {
        const replay = await flush("a");
        assertEquals(
          [
            replay.headers.get(REPLAYED_HEADER),
            replay.headers.get("RateLimit"),
            replay.headers.get("Retry-After"),
          ],
          ["true", '"mutating";r=1;t=30', null],
        );
        assertEquals(await replay.text(), stored);
      }
      assertEquals(await headersOf(await flush("b"), "RateLimit"), ['"mutating";r=0;t=30']);
      await assertError(await flush("c"), 429, "RATE_LIMITED");
      // With the bucket empty, stored results still replay, and a reused requestId is still told apart.
      for (const requestId of ["a", "b"]) {
        const replay = await flush(requestId);
        assertEquals(replay.status, 200);
        assertEquals(
          await headersOf(replay, REPLAYED_HEADER, "RateLimit", "Retry-After"),
          ["true", '"mutating";r=0;t=30', null],
        );
      }
      await assertError(await flush("a", "index-2"), 409, "REQUEST_ID_CONFLICT");
      assertRan(f, start, { flushes: [2, 0] });
      f.now += 30_000;
      await json(await flush("c"));
      assertRan(f, start, { flushes: [3, 0] });
    });

    it("anonymous callers of an open agent get a bucket, and stored results, per address", async () => {
      const c = await agent("anonymous callers by address", {
        security: { rateLimit: { capacity: 1, refillPerSecond: 1 / 60 } },
      });
      const f = c.fixture;
      const start = work(f);
      const flush = (requestId: string, remote: string) =>
        c.send(ACTION_FLUSH, flushBody(requestId, "index-1"), { remote });
      await json(await flush("x", "10.0.0.1"));
      await assertError(await flush("y", "10.0.0.1"), 429, "RATE_LIMITED");
      // The same requestId from another address is another caller's request: it runs, on that caller's bucket.
      assertEquals(await headersOf(await flush("x", "10.0.0.2"), REPLAYED_HEADER), [null]);
      await assertError(await flush("y", "10.0.0.2"), 429, "RATE_LIMITED");
      await json(await flush("x", "::1"));
      assertEquals(await headersOf(await flush("x", "10.0.0.1"), REPLAYED_HEADER), ["true"]);
      assertRan(f, start, { flushes: [3, 0] });
      f.now += 60_000;
      await json(await flush("y", "10.0.0.1"));
      assertRan(f, start, { flushes: [4, 0] });
    });

    it("failed authentications are limited per address on every route; valid tokens there are not", async () => {
      const c = await agent("unauthenticated flood", {
        tokens: { read: { role: "READ" }, ops: { role: "OPERATE" } },
        security: { anonymousRateLimit: { capacity: 3, refillPerSecond: 1 / 10 } },
      });
      const f = c.fixture;
      const start = work(f);
      const flooding = { remote: "192.0.2.1" };
      await assertError(await c.send(REPORT, {}, flooding), 401, "UNAUTHORIZED");
      await assertError(await c.send(METRICS, {}, { ...flooding, token: "bad" }), 401, "UNAUTHORIZED");
      await assertError(await c.send(ACTION_FLUSH, flushBody("u-1"), flooding), 401, "UNAUTHORIZED");
      const limited = await c.send(ACTION_FLUSH, flushBody("u-2"), { ...flooding, token: "bad" });
      assertEquals(
        ["Retry-After", "RateLimit", "RateLimit-Policy", "WWW-Authenticate"].map((h) =>
          limited.headers.get(h)
        ),
        ["10", '"unauthenticated";r=0;t=10', '"unauthenticated";q=3;w=30', null],
      );
      await assertError(limited, 429, "RATE_LIMITED");
      for (let i = 0; i < 50; i++) {
        const flood: [string, RequestInit] = i % 3 === 2
          ? [ACTION_FLUSH, flushBody(`u-flood-${i}`)]
          : [i % 3 === 0 ? REPORT : METRICS, {}];
        const options = { ...flooding, token: i % 2 === 0 ? undefined : "bad" };
        await assertError(await c.send(...flood, options), 429, "RATE_LIMITED");
      }
      await assertError(await c.send(REPORT, {}, { remote: "192.0.2.2" }), 401, "UNAUTHORIZED");
      await json(await c.send(REPORT, {}, { ...flooding, token: "read" }));
      await json(await c.send(ACTION_FLUSH, flushBody("u-3"), { ...flooding, token: "ops" }));
      assertRan(f, start, { flushes: [1, 1] });
      f.now += 9_999;
      assertEquals(await headersOf(await c.send(REPORT, {}, flooding), "Retry-After"), ["1"]);
      f.now += 1;
      await assertError(await c.send(REPORT, {}, flooding), 401, "UNAUTHORIZED");
      await assertError(await c.send(REPORT, {}, flooding), 429, "RATE_LIMITED");
    });

    it("rejected mutating requests past an address's audit budget leave no record; executed ones always do", async () => {
      const c = await agent("audit budget", {
        tokens: { ops: { role: "OPERATE" } },
        security: { auditRateLimit: { capacity: 3, refillPerSecond: 1 / 60 } },
      });
      const f = c.fixture;
      const flooding = "198.51.100.1";
      for (let i = 0; i < 5; i++) {
        await assertError(
          await c.send(ACTION_FLUSH, flushBody(`n-${i}`), {
            remote: flooding,
            unaudited: i < 3 ? undefined : "a rejected request past the audit budget of its address",
          }),
          401,
          "UNAUTHORIZED",
        );
      }
      await json(await c.send(ACTION_FLUSH, flushBody("run"), { remote: flooding, token: "ops" }));
      await json(
        await c.send(ACTION_FLUSH, flushBody("run"), {
          remote: flooding,
          token: "ops",
          unaudited: "a replay (it executes nothing) past the audit budget of its address",
        }),
      );
      await assertError(
        await c.send(ACTION_FLUSH, flushBody("n-5"), { remote: "198.51.100.2" }),
        401,
        "UNAUTHORIZED",
      );
      f.now += 60_000;
      await assertError(
        await c.send(ACTION_FLUSH, flushBody("n-6"), { remote: flooding }),
        401,
        "UNAUTHORIZED",
      );
      const outcomes = f.audit.entries.filter((e) => e.phase === "outcome").map((e) => [e.remote, e.outcome]);
      assertEquals(outcomes, [
        [flooding, "REJECTED"],
        [flooding, "REJECTED"],
        [flooding, "REJECTED"],
        [flooding, "SUCCEEDED"],
        ["198.51.100.2", "REJECTED"],
        [flooding, "REJECTED"],
      ]);
    });
  });

  describe("audit trail", () => {
    it("the chain verifies across rotated files, through the ADMIN endpoint and offline", async () => {
      const { c, fs } = await rotatingAgent("rotation");
      await everyKindOfMutation(c);
      const files = trailFiles(fs);
      assertGreater(files.length, 3);
      const verification = AuditVerificationSchema.parse(await json(await c.send(AUDIT_VERIFY, {}, admin)));
      assertEquals(verification, { ok: true, entries: 2 * c.sent.length, files });
      assertEquals(await verifyAuditFiles([...files].reverse(), fs), verification);
      const page = AuditPageSchema.parse(await json(await c.send(`${AUDIT}?limit=1000`, {}, admin)));
      assertEquals(
        page.entries.map((e) => e.seq),
        Array.from({ length: 2 * c.sent.length }, (_, i) => i + 1),
      );
    });

    it("a changed line or a deleted rotated file is named by the verify endpoint, and recording goes on", async () => {
      const { c, fs } = await rotatingAgent("tampering");
      await everyKindOfMutation(c);
      const verify = async () =>
        AuditVerificationSchema.parse(await json(await c.send(AUDIT_VERIFY, {}, admin)));
      const lineOf = (file: string, line: number) =>
        new TextDecoder().decode(fs.readFile(file)).split("\n")[line - 1];
      const changed = trailFiles(fs)[2];
      const original = fs.readFile(changed);
      const lines = new TextDecoder().decode(original).split("\n");
      lines[1] = lines[1].replace(/"remote":"[^"]*"/, '"remote":"203.0.113.66"');
      replaceFile(fs, changed, new TextEncoder().encode(lines.join("\n")));
      assertEquals((await verify()).firstBroken, { file: changed, line: 2, reason: "hash mismatch" });
      // Appends go on (rotating the changed file to a higher number), and the changed line stays named.
      await json(await c.send(ACTION_FLUSH, flushBody("after-tampering"), { token: "ops" }));
      const broken = (await verify()).firstBroken!;
      assertEquals([broken.line, broken.reason, lineOf(broken.file, broken.line)], [
        2,
        "hash mismatch",
        lines[1],
      ]);
      assertEquals((await verifyAuditFiles(trailFiles(fs), fs)).firstBroken, broken);
      replaceFile(fs, broken.file, original);
      assertEquals((await verify()).ok, true);
      // A whole rotated file deleted: the chain breaks at the first line of the next one.
      const files = trailFiles(fs);
      const saved = fs.readFile(files[2]);
      fs.remove(files[2]);
      const gap = await verify();
      assertEquals([gap.ok, gap.firstBroken?.file, gap.firstBroken?.line], [false, files[3], 1]);
      assertMatch(gap.firstBroken!.reason, /^seq gap: expected \d+, found \d+$/);
      replaceFile(fs, files[2], saved);
      assertEquals((await verify()).ok, true);
    });

    for (const op of ["append", "sync"] as const) {
      it(`a trail whose ${op} fails makes mutating calls fail closed with 503 AUDIT_UNAVAILABLE; nothing runs`, async () => {
        const fs = new FaultFileSystem(new MemoryFileSystem());
        const logged: string[] = [];
        const { c, sink } = await rotatingAgent(
          `unwritable trail (${op})`,
          fs,
          (message) => logged.push(message),
        );
        const ops = { token: "ops" };
        await json(await c.send(ACTION_FLUSH, flushBody("before"), ops));
        const before = work(c.fixture);
        const { total } = await sink.page(0, 0);
        const fault = fs.failOn({ op, path: /audit\.jsonl$/ });
        const unaudited = "the audit trail cannot be written";
        const refused: [string, RequestInit, SendOptions][] = [
          [ACTION_FLUSH, flushBody("f-1"), ops],
          [ACTION_COMPACT, flushBody("c-1", "index-1"), ops],
          [`${CONFIG}?indexName=index-1`, jsonRequest("PATCH", { values: { segmentCacheLimit: 3 } }), admin],
          [
            `${CONFIG}?indexName=index-1`,
            jsonRequest("PATCH", { values: { segmentCacheLimit: 3 }, dryRun: true }),
            admin,
          ],
        ];
        for (const [path, init, options] of refused) {
          await assertError(await c.send(path, init, { ...options, unaudited }), 503, "AUDIT_UNAVAILABLE");
        }
        // A request refused for another reason keeps its answer; its records could not be written either.
        await assertError(await c.send(ACTION_FLUSH, flushBody("f-2"), { unaudited }), 401, "UNAUTHORIZED");
        assertEquals(work(c.fixture), before);
        assertGreater(fault.fired, 0);
        assertEquals((await sink.page(0, 0)).total, total);
        assert(logged.every((m) => m.startsWith("Cannot write the audit outcome")), logged.join("\n"));
        assertEquals(logged.length, refused.length + 1);
        // Reads need no trail; once it is writable again, the same requestId runs (nothing was stored).
        await json(await c.send(REPORT, {}, { token: "read" }));
        fs.clearFaults();
        await json(await c.send(ACTION_FLUSH, flushBody("f-1"), ops));
        assertRan(c.fixture, before, { flushes: [1, 1] });
        assertEquals((await sink.verify()).ok, true);
      });
    }

    it("an actor header is recorded as on-behalf-of only from a console token", async () => {
      const c = await agent("actor", {
        tokens: {
          console: { role: "ADMIN", console: true },
          admin: { role: "ADMIN" },
          ops: { role: "OPERATE" },
        },
      });
      const alice = "alice@example.com";
      const flush = (requestId: string, options: SendOptions, indexName?: string) =>
        c.send(ACTION_FLUSH, flushBody(requestId, indexName), options);
      await json(await flush("a-1", { token: "console", actor: alice }));
      await json(await flush("a-2", { token: "admin", actor: "mallory" }));
      await json(await flush("a-3", { token: "ops", actor: "mallory" }));
      await json(await flush("a-4", { token: "console" }));
      await assertError(
        await flush("a-5", { token: "console", actor: alice }, "nope"),
        404,
        "INDEX_NOT_FOUND",
      );
      await assertError(
        await flush("a-6", { token: "console", actor: "x".repeat(129) }),
        400,
        "INVALID_REQUEST",
      );
      await assertError(await flush("a-7", { actor: alice }), 401, "UNAUTHORIZED");
      await json(
        await c.send(
          `${CONFIG}?indexName=index-1`,
          jsonRequest("PATCH", { values: { segmentCacheLimit: 4 } }),
          { token: "console", actor: alice },
        ),
      );
      const records = c.fixture.audit.entries.map((e) => [e.phase, e.tokenId, e.actor, e.status ?? null]);
      assertEquals(records, [
        ["intent", "console", alice, null],
        ["outcome", "console", alice, 200],
        ["intent", "admin", null, null],
        ["outcome", "admin", null, 200],
        ["intent", "ops", null, null],
        ["outcome", "ops", null, 200],
        ["intent", "console", null, null],
        ["outcome", "console", null, 200],
        ["intent", "console", alice, null],
        ["outcome", "console", alice, 404],
        // A malformed actor is refused, and the token that sent it is still named.
        ["intent", "console", null, null],
        ["outcome", "console", null, 400],
        ["intent", null, null, null],
        ["outcome", null, null, 401],
        ["intent", "console", alice, null],
        ["outcome", "console", alice, 200],
      ]);
    });
  });

  it("every mutating request of this suite left an intent and then an outcome record that describe it", async () => {
    const outcomes = new Map<string, number>();
    let checked = 0;
    for (const { client, entries } of ledger) {
      const audited = client.sent.filter((s) => s.unaudited === undefined);
      assertEquals(
        entries.length,
        2 * audited.length,
        `${client.label}: ${entries.length} records for ${audited.length} audited requests`,
      );
      for (const [k, sent] of audited.entries()) {
        const [intent, outcome] = entries.slice(2 * k, 2 * k + 2);
        const where = `${client.label}, request ${k + 1}: ${sent.method} ${sent.endpoint} → ${sent.status}`;
        const expected = {
          tokenId: sent.tokenId,
          actor: sent.actor,
          remote: sent.remote,
          method: sent.method,
          endpoint: sent.endpoint,
          bodySha256: await sha256Hex(sent.body),
        };
        for (const record of [intent, outcome]) {
          const { tokenId, actor, remote, method, endpoint, bodySha256 } = record;
          assertEquals({ tokenId, actor, remote, method, endpoint, bodySha256 }, expected, where);
          assert(sent.requestIds.includes(record.requestId!), `${where}: requestId ${record.requestId}`);
        }
        const kind = sent.replayed
          ? "REPLAYED"
          : sent.status < 400
          ? "SUCCEEDED"
          : sent.status === 500
          ? "FAILED"
          : "REJECTED";
        assertEquals(
          [intent.phase, outcome.phase, outcome.outcome, outcome.status, outcome.code],
          ["intent", "outcome", kind, sent.status, sent.code],
          where,
        );
        outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
        checked++;
      }
    }
    assertEquals([...outcomes.keys()].sort(), ["FAILED", "REJECTED", "REPLAYED", "SUCCEEDED"]);
    assertGreater(checked, 150);
  });
});
