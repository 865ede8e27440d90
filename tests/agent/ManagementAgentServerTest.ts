/**
 * Stage C gate: the management agent's API behaviour, in process
 * (`app.request`) on real engine indexes. The same cases run over a real
 * socket in `agent_socket_test.ts`.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { afterEach, describe, it } from "@std/testing/bdd";
import { ACTION_FLUSH, ACTOR_HEADER, CONFIG, HEALTH, REPORT } from "../../agent/api/mod.ts";
import { createAgent } from "../../agent/mod.ts";
import { type AuditSink, MemoryAuditSink } from "../../agent/audit_sink.ts";
import { AGENT_CASES } from "./_agent_cases.ts";
import {
  assertAudited,
  assertError,
  createFixture,
  type Fixture,
  type FixtureOptions,
  json,
  jsonRequest,
} from "./_agent_fixture.ts";

let fixture: Fixture | undefined;

async function start(options?: FixtureOptions): Promise<Fixture> {
  fixture = await createFixture(options);
  return fixture;
}

function inProcess(f: Fixture) {
  return (path: string, init?: RequestInit) => Promise.resolve(f.app.request(path, init));
}

describe("ManagementAgentServer", () => {
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
  });

  for (const testCase of AGENT_CASES) {
    it(testCase.name, async () => {
      const f = await start(testCase.options);
      await testCase.run(inProcess(f), f);
    });
  }

  it("requireTls refuses plain HTTP with TLS_REQUIRED before looking at the token", async () => {
    const f = await start({ tokens: { reader: { role: "READ" } }, security: { requireTls: true } });
    const auth = { headers: { Authorization: `Bearer ${f.tokens.reader}`, "X-Forwarded-Proto": "https" } };
    await assertError(await f.app.request(`http://localhost${REPORT}`, auth), 400, "TLS_REQUIRED");
    await assertError(await f.app.request(`http://localhost${REPORT}`), 400, "TLS_REQUIRED");
    await json(await f.app.request(`https://localhost${REPORT}`, auth));
    // The adapter's word wins over the URL.
    await assertError(
      await f.app.request(`https://localhost${REPORT}`, auth, { secure: false }),
      400,
      "TLS_REQUIRED",
    );
    await assertError(
      await f.app.request(`http://localhost${ACTION_FLUSH}`, jsonRequest("POST", { requestId: "r" })),
      400,
      "TLS_REQUIRED",
    );
    assertAudited(f.audit, ACTION_FLUSH, "REJECTED", 400);
  });

  it("an audit trail that cannot be written fails mutating calls closed with 503", async () => {
    const trail = new MemoryAuditSink();
    let failing = true;
    const flaky: AuditSink = {
      append: (event) => failing ? Promise.reject(new Error("disk full")) : trail.append(event),
      page: (offset, limit) => failing ? Promise.reject(new Error("disk gone")) : trail.page(offset, limit),
      verify: () => trail.verify(),
      close: () => trail.close(),
    };
    const f = await start({ audit: flaky, deps: { log: () => {} } });
    const flush = () => f.app.request(ACTION_FLUSH, jsonRequest("POST", { requestId: "r-1" }));
    await assertError(await flush(), 503, "AUDIT_UNAVAILABLE");
    await assertError(
      await f.app.request(
        `${CONFIG}?indexName=index-1`,
        jsonRequest("PATCH", { values: { segmentCacheLimit: 4 } }),
      ),
      503,
      "AUDIT_UNAVAILABLE",
    );
    await assertError(await f.app.request("/api/v1/audit"), 503, "AUDIT_UNAVAILABLE");
    assertEquals([f.a.flushes, f.b.flushes, f.a.config().revision], [0, 0, 0]);
    await json(await f.app.request(REPORT));
    // Nothing was stored for the refused request: once the trail works, the same requestId runs.
    failing = false;
    await json(await flush());
    assertEquals([f.a.flushes, f.b.flushes], [1, 1]);
    assertAudited(trail, ACTION_FLUSH, "SUCCEEDED", 200);
  });

  it("the actor header is recorded from a console token and ignored from others", async () => {
    const f = await start({
      tokens: { console: { role: "ADMIN", console: true }, ops: { role: "OPERATE" } },
    });
    const send = (token: string, requestId: string, actor: string) =>
      f.app.request(
        ACTION_FLUSH,
        jsonRequest("POST", { requestId }, { Authorization: `Bearer ${token}`, [ACTOR_HEADER]: actor }),
      );
    await json(await send(f.tokens.console, "c-1", "alice@example.com"));
    await json(await send(f.tokens.ops, "o-1", "mallory"));
    const outcomes = f.audit.entries.filter((e) => e.phase === "outcome");
    assertEquals(outcomes.map((e) => [e.tokenId, e.actor]), [["console", "alice@example.com"], [
      "ops",
      null,
    ]]);
    await assertError(await send(f.tokens.console, "c-2", "x".repeat(129)), 400, "INVALID_REQUEST");
    await assertError(await send(f.tokens.console, "c-3", "caf\u00e9"), 400, "INVALID_REQUEST");
  });

  it("mutating calls are rate limited per caller and endpoint; replays are free; buckets refill", async () => {
    const f = await start({
      tokens: { ops: { role: "OPERATE" }, other: { role: "OPERATE" } },
      security: { rateLimit: { capacity: 2, refillPerSecond: 1 / 30 } },
    });
    const flush = (requestId: string, token = f.tokens.ops) =>
      f.app.request(ACTION_FLUSH, jsonRequest("POST", { requestId }, { Authorization: `Bearer ${token}` }));
    assertEquals((await flush("r-1")).headers.get("RateLimit"), '"mutating";r=1;t=30');
    await json(await flush("r-2"));
    await json(await flush("r-1"));
    const limited = await flush("r-3");
    assertEquals(limited.headers.get("Retry-After"), "30");
    assertEquals(limited.headers.get("RateLimit-Policy"), '"mutating";q=2;w=60');
    await assertError(limited, 429, "RATE_LIMITED");
    await json(await flush("r-3", f.tokens.other));
    f.now += 30_000;
    await json(await flush("r-3"));
    assertEquals(f.a.flushes, 4);
  });

  it("failed authentications are limited per address: 401 with WWW-Authenticate, then 429", async () => {
    const f = await start({
      tokens: { reader: { role: "READ" } },
      security: { anonymousRateLimit: { capacity: 2, refillPerSecond: 1 } },
    });
    const missing = await f.app.request(REPORT);
    assertEquals(missing.headers.get("WWW-Authenticate"), 'Bearer realm="hestiastore"');
    await assertError(missing, 401, "UNAUTHORIZED");
    const bad = await f.app.request(REPORT, { headers: { Authorization: "Bearer hst_reader_nope" } });
    assertEquals(bad.headers.get("WWW-Authenticate"), 'Bearer realm="hestiastore", error="invalid_token"');
    await assertError(bad, 401, "UNAUTHORIZED");
    const flood = await f.app.request(REPORT);
    assert(Number(flood.headers.get("Retry-After")) >= 1);
    await assertError(flood, 429, "RATE_LIMITED");
    // Another address, and a valid token from the same one, are not affected.
    await assertError(await f.app.request(REPORT, {}, { remoteAddress: "10.0.0.2" }), 401, "UNAUTHORIZED");
    await json(await f.app.request(REPORT, { headers: { Authorization: `Bearer ${f.tokens.reader}` } }));
    await json(await f.app.request(HEALTH));
  });

  it("roles gate the routes: READ reads, OPERATE acts, ADMIN tunes and reads the audit", async () => {
    const f = await start({
      tokens: { reader: { role: "READ" }, ops: { role: "OPERATE" }, admin: { role: "ADMIN" } },
    });
    const as = (id: string, init: RequestInit = {}) => ({
      ...init,
      headers: { ...init.headers as Record<string, string>, Authorization: `Bearer ${f.tokens[id]}` },
    });
    await json(await f.app.request(REPORT, as("reader")));
    await assertError(
      await f.app.request(ACTION_FLUSH, as("reader", jsonRequest("POST", { requestId: "r" }))),
      403,
      "FORBIDDEN",
    );
    await json(await f.app.request(ACTION_FLUSH, as("ops", jsonRequest("POST", { requestId: "r" }))));
    const patch = jsonRequest("PATCH", { values: { segmentCacheLimit: 4 }, dryRun: true });
    await assertError(await f.app.request(`${CONFIG}?indexName=index-1`, as("ops", patch)), 403, "FORBIDDEN");
    await json(await f.app.request(`${CONFIG}?indexName=index-1`, as("admin", patch)));
    await assertError(await f.app.request("/api/v1/audit", as("ops")), 403, "FORBIDDEN");
    await json(await f.app.request("/api/v1/audit", as("admin")));
  });

  it("CORS is off by default and answers only listed origins", async () => {
    let f = await start();
    const plain = await f.app.request(REPORT, { headers: { Origin: "https://console.example.com" } });
    assertEquals(plain.headers.get("Access-Control-Allow-Origin"), null);
    await assertError(
      await f.app.request(REPORT, {
        method: "OPTIONS",
        headers: { Origin: "https://console.example.com", "Access-Control-Request-Method": "GET" },
      }),
      405,
      "METHOD_NOT_ALLOWED",
    );
    await f.close();
    f = await start({ security: { cors: { origins: ["https://console.example.com"] } } });
    const preflight = await f.app.request(CONFIG, {
      method: "OPTIONS",
      headers: { Origin: "https://console.example.com", "Access-Control-Request-Method": "PATCH" },
    });
    assertEquals(preflight.status, 204);
    assertEquals(preflight.headers.get("Access-Control-Allow-Methods"), "GET, PATCH, HEAD");
    const allowed = await f.app.request(REPORT, { headers: { Origin: "https://console.example.com" } });
    assertEquals(allowed.headers.get("Access-Control-Allow-Origin"), "https://console.example.com");
    const other = await f.app.request(REPORT, { headers: { Origin: "https://evil.example" } });
    assertEquals(other.headers.get("Access-Control-Allow-Origin"), null);
  });

  it("createAgent() rejects bad options when it is called", async () => {
    const f = await start();
    const base = { indexes: f.indexes, security: { tokens: [] }, audit: f.audit, node: { nodeId: "n" } };
    assertThrows(() => createAgent({ ...base, node: { nodeId: "" } }), TypeError);
    assertThrows(() => createAgent({ ...base, maxBodyBytes: 0 }), RangeError);
    assertThrows(
      () =>
        createAgent({ ...base, security: { tokens: [], rateLimit: { capacity: 0, refillPerSecond: 1 } } }),
      RangeError,
    );
    assertThrows(
      () => createAgent({ ...base, security: { tokens: [], cors: { origins: ["example.com"] } } }),
      TypeError,
    );
    assertThrows(
      () => createAgent({ ...base, security: { tokens: [{ id: "x", role: "READ", hash: "plain" }] } }),
      TypeError,
    );
    assertThrows(() => createAgent({ ...base, indexes: undefined as never }), TypeError);
  });
});
