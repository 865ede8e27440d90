import { assert, assertEquals, assertMatch } from "@std/assert";
import { afterAll, beforeAll, describe, it } from "@std/testing/bdd";
import type { NodeReport } from "../../agent/api/mod.ts";
import { type ConsoleServer, createConsole, hashPassword } from "../../console/mod.ts";
import { CSRF_HEADER } from "../../console/models/api.ts";
import { fakeFetch, json, NO_BUNDLE, NODE, realReport } from "./_doubles.ts";

const BASE = "http://127.0.0.1:8090";

/** Sends `path` to the console like a browser on the same origin would. */
function send(
  c: ConsoleServer,
  path: string,
  init: { method?: string; cookie?: string; csrf?: string; body?: string; headers?: Record<string, string> } =
    {},
) {
  const headers: Record<string, string> = { host: "127.0.0.1:8090", ...init.headers };
  if (init.cookie) headers.cookie = init.cookie;
  if (init.csrf) headers[CSRF_HEADER] = init.csrf;
  if (init.body !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
  return c.fetch(new Request(`${BASE}${path}`, { method: init.method ?? "GET", headers, body: init.body }));
}

function cookieOf(response: Response): string {
  return (response.headers.get("set-cookie") ?? "").split(";")[0];
}

async function csrfOf(response: Response): Promise<string> {
  return /name="csrf-token" content="([^"]+)"/.exec(await response.text())![1];
}

describe("console access without login (loopback)", () => {
  let report: NodeReport;
  let c: ConsoleServer;
  const fetch = fakeFetch((call) =>
    call.url.endsWith("/api/v1/report") ? json(report) : json({
      requestId: (call.body as { requestId: string }).requestId,
      action: "FLUSH",
      status: "COMPLETED",
      message: "Flushed 2 index(es)",
      results: [],
      capturedAt: "2026-01-01T00:00:00.000Z",
    })
  );
  beforeAll(async () => {
    report = await realReport();
    c = await createConsole({ nodes: [NODE], fetch, client: NO_BUNDLE, localActor: "ops-laptop" });
    await c.refresh();
  });
  afterAll(() => c.close());

  it("opens a session on the first page: HttpOnly, SameSite=Strict cookie and a CSRF token in the page", async () => {
    const page = await send(c, "/");
    assertEquals(page.status, 200);
    const setCookie = page.headers.get("set-cookie")!;
    assertMatch(setCookie, /^hestia_console_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    assertMatch(await csrfOf(page), /^[A-Za-z0-9_-]{43}$/);
    assertEquals(page.headers.get("cache-control"), "no-store");
    assertMatch(page.headers.get("content-security-policy")!, /script-src 'self';/);
    assertEquals(page.headers.get("x-frame-options"), "DENY");
  });

  it("answers only requests addressed to a loopback host name (DNS rebinding)", async () => {
    const answer = await send(c, "/", { headers: { host: "attacker.example:8090" } });
    assertEquals(answer.status, 403);
    assertEquals((await answer.json()).code, "LOOPBACK_ONLY");
    assertEquals((await send(c, "/health", { headers: { host: "localhost:8090" } })).status, 200);
  });

  it("needs the session for the JSON endpoints, and the CSRF token for actions", async () => {
    assertEquals((await send(c, "/api/fleet")).status, 401);
    const page = await send(c, "/");
    const cookie = cookieOf(page);
    const csrf = await csrfOf(page);
    assertEquals((await send(c, "/api/fleet", { cookie })).status, 200);
    const path = `/api/nodes/${NODE.id}/actions/flush`;
    const calls = fetch.calls.length;
    const none = await send(c, path, { method: "POST", cookie, body: "{}" });
    const wrong = await send(c, path, { method: "POST", cookie, body: "{}", csrf: "x".repeat(43) });
    assertEquals([none.status, wrong.status], [403, 403]);
    assertEquals((await none.json()).code, "CSRF_REJECTED");
    assertEquals(fetch.calls.length, calls, "nothing reached the node");
    const ok = await send(c, path, { method: "POST", cookie, body: "{}", csrf });
    assertEquals(ok.status, 200);
    const record = await ok.json();
    assertEquals([record.status, record.actor], ["COMPLETED", "ops-laptop"]);
    assertEquals(fetch.calls.at(-1)!.headers.get("x-hestiastore-actor"), "ops-laptop");
  });

  it("refuses a POST from another site before anything else", async () => {
    const page = await send(c, "/");
    const init = { method: "POST", cookie: cookieOf(page), csrf: await csrfOf(page), body: "{}" };
    const cross = await send(c, "/api/nodes/n1/actions/flush", {
      ...init,
      headers: { "sec-fetch-site": "cross-site" },
    });
    const origin = await send(c, "/api/nodes/n1/actions/flush", {
      ...init,
      headers: { origin: "https://evil.example" },
    });
    assertEquals([cross.status, origin.status], [403, 403]);
    assertEquals((await cross.json()).code, "CROSS_SITE");
  });

  it("validates what the page sends: unknown node, unknown action, bad JSON", async () => {
    const page = await send(c, "/");
    const init = { method: "POST", cookie: cookieOf(page), csrf: await csrfOf(page) };
    const answers = await Promise.all([
      send(c, "/api/nodes/nope/actions/flush", { ...init, body: "{}" }),
      send(c, "/api/nodes/n1/actions/reboot", { ...init, body: "{}" }),
      send(c, "/api/nodes/n1/actions/flush", { ...init, body: "{" }),
      send(c, "/api/nodes/n1/actions/flush", { ...init, body: JSON.stringify({ indexName: 7 }) }),
      send(c, "/api/nodes/n1/actions/flush", { ...init, body: JSON.stringify({ pad: "x".repeat(70_000) }) }),
    ]);
    assertEquals(answers.map((a) => a.status), [404, 404, 400, 400, 413]);
    assertEquals((await answers[0].json()).code, "NODE_NOT_FOUND");
  });

  it("never sends a node's token to the browser", async () => {
    const page = await send(c, "/");
    const cookie = cookieOf(page);
    const bodies = [await (await send(c, "/", { cookie })).text()];
    for (const path of ["/api/fleet", `/api/nodes/${NODE.id}`, "/api/actions", `/nodes/${NODE.id}`]) {
      bodies.push(await (await send(c, path, { cookie })).text());
    }
    for (const body of bodies) assert(!body.includes(NODE.token), "a token leaked");
  });

  it("serves the bundle under its content hash, cacheable for a year", async () => {
    const answer = await send(c, NO_BUNDLE.path);
    assertEquals(answer.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assertEquals(answer.headers.get("content-type"), "text/javascript; charset=utf-8");
  });
});

describe("console access with login", () => {
  const clock = { now: 1_000_000 };
  let c: ConsoleServer;
  beforeAll(async () => {
    c = await createConsole({
      nodes: [NODE],
      users: [{ name: "alice", passwordHash: await hashPassword("s3cret pass", 100_000) }],
      consoleTokenHash: await hashPassword("break-glass-token", 100_000),
      fetch: fakeFetch(() => "refuse"),
      client: NO_BUNDLE,
      now: () => clock.now,
      sessionIdleMs: 60_000,
      loginAttempts: 3,
      loginWindowMs: 60_000,
    });
  });
  afterAll(() => c.close());

  const login = (fields: Record<string, string>) =>
    send(c, "/login", {
      method: "POST",
      body: new URLSearchParams(fields).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", host: "console.example.com" },
    });

  it("sends a visitor to the sign-in page, remembering where they wanted to go", async () => {
    const answer = await send(c, "/nodes/n1", { headers: { host: "console.example.com" } });
    assertEquals([answer.status, answer.headers.get("location")], [303, "/login?next=%2Fnodes%2Fn1"]);
    assertEquals((await send(c, "/api/fleet", { headers: { host: "console.example.com" } })).status, 401);
  });

  it("signs in with a user's password, into a fresh session, and only to a local path", async () => {
    const wrong = await login({ name: "alice", password: "nope", next: "/" });
    assertEquals(wrong.status, 401);
    assertMatch(await wrong.text(), /Wrong user name or password\./);
    const ok = await login({ name: "alice", password: "s3cret pass", next: "//evil.example/" });
    assertEquals([ok.status, ok.headers.get("location")], [303, "/"]);
    const cookie = cookieOf(ok);
    const page = await send(c, "/", { cookie, headers: { host: "console.example.com" } });
    assertMatch(await page.text(), /Signed in as <strong data-field="user">alice<\/strong>/);
  });

  it("signs in with the console token as the actor console-token", async () => {
    const ok = await login({ token: "break-glass-token", next: "/nodes/n1" });
    assertEquals([ok.status, ok.headers.get("location")], [303, "/nodes/n1"]);
    const page = await send(c, "/", { cookie: cookieOf(ok), headers: { host: "console.example.com" } });
    assertMatch(await page.text(), /Signed in as <strong data-field="user">console-token<\/strong>/);
  });

  it("refuses further tries for a name after repeated failures, with Retry-After", async () => {
    for (let i = 0; i < 3; i++) {
      assertEquals((await login({ name: "mallory", password: "guess" })).status, 401);
    }
    const refused = await login({ name: "mallory", password: "guess" });
    assertEquals([refused.status, refused.headers.get("retry-after")], [429, "60"]);
    clock.now += 60_000;
    assertEquals((await login({ name: "mallory", password: "guess" })).status, 401);
  });

  it("ends a session after the idle time, and on sign-out (which needs the CSRF token)", async () => {
    const host = { host: "console.example.com" };
    const cookie = cookieOf(await login({ name: "alice", password: "s3cret pass" }));
    const csrf = await csrfOf(await send(c, "/", { cookie, headers: host }));
    const noToken = await send(c, "/logout", {
      method: "POST",
      cookie,
      body: "",
      headers: { ...host, "content-type": "application/x-www-form-urlencoded" },
    });
    assertEquals(noToken.status, 403);
    const out = await send(c, "/logout", {
      method: "POST",
      cookie,
      body: new URLSearchParams({ csrf }).toString(),
      headers: { ...host, "content-type": "application/x-www-form-urlencoded" },
    });
    assertEquals([out.status, out.headers.get("location")], [303, "/login"]);
    assertEquals((await send(c, "/api/fleet", { cookie, headers: host })).status, 401);

    const idle = cookieOf(await login({ name: "alice", password: "s3cret pass" }));
    assertEquals((await send(c, "/api/fleet", { cookie: idle, headers: host })).status, 200);
    clock.now += 60_001;
    assertEquals((await send(c, "/api/fleet", { cookie: idle, headers: host })).status, 401);
  });
});
