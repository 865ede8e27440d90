/** @jsxRuntime automatic @jsxImportSource preact */
/**
 * The console's routes: pages, the islands' JSON endpoints, the action and
 * configuration proxies, sign-in, and the browser bundle.
 *
 * Access rules, in the order they are applied:
 * 1. Without login the console answers only requests addressed to a
 *    loopback host name, so a web page cannot reach it through DNS
 *    rebinding.
 * 2. A POST or PATCH from another site (`Sec-Fetch-Site`, `Origin`) is
 *    refused before anything else looks at it.
 * 3. Every page and endpoint but sign-in, `/health` and the bundle needs a
 *    session. With login that means signing in; without, the first page
 *    view opens a session for the local operator.
 * 4. Every POST and PATCH carries the session's CSRF token in a header (the
 *    sign-out form, in a field).
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { JSX } from "preact";
import { z } from "zod";
import type { ActionRunner } from "./_actions.ts";
import { patchConfig, readConfig } from "./_config_proxy.ts";
import type { Poller } from "./_poller.ts";
import { renderPage } from "./_render.ts";
import { isLoopback } from "./_listen.ts";
import { csrfMatches, type LoginThrottle, type Session, type Sessions } from "./_sessions.ts";
import type { ClientBundle } from "./bundle.ts";
import type { UserConfig } from "./config.ts";
import { CSRF_HEADER } from "./models/api.ts";
import DashboardPage from "./pages/DashboardPage.tsx";
import LoginPage from "./pages/LoginPage.tsx";
import MessagePage from "./pages/MessagePage.tsx";
import NodePage from "./pages/NodePage.tsx";
import { verifyPassword } from "./password.ts";
import type { ActionKind, ConsoleError } from "./views.ts";

/** Everything the routes use, built and validated by `createConsole`. */
export interface AppDeps {
  poller: Poller;
  actions: ActionRunner;
  client: ClientBundle;
  fetch: typeof fetch;
  sessions: Sessions;
  throttle: LoginThrottle;
  users: UserConfig[];
  consoleTokenHash?: string;
  loginRequired: boolean;
  localActor: string;
  requestTimeoutMs: number;
  actionTimeoutMs: number;
}

type Env = { Variables: { session: Session } };

const SESSION_COOKIE = "hestia_console_session";
const TOKEN_ACTOR = "console-token";
const MAX_BODY_BYTES = 64 * 1024;

const SECURITY_HEADERS: Record<string, string> = {
  // Styles: the server inlines twind's <style>, and the bundle's twind adds rules later. Scripts: our bundle only.
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  // Not no-referrer: with it, browsers send "Origin: null" on form posts, which the cross-site check cannot tell apart.
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

const ActionBodySchema = z.object({ indexName: z.string().min(1).max(256).nullable().optional() });
const ConfigPatchBodySchema = z.object({
  values: z.record(z.string().min(1).max(256), z.number()),
  dryRun: z.boolean(),
  expectedRevision: z.number().int().nonnegative().optional(),
});

/** The Hono app serving the console. */
export function buildApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>();

  app.use(async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  });

  app.use(async (c, next) => {
    if (!deps.loginRequired && !isLoopback(hostName(c.req.header("host") ?? ""))) {
      return fail(c, 403, "LOOPBACK_ONLY", "Without login the console answers only on a loopback address.");
    }
    if (c.req.method === "POST" || c.req.method === "PATCH") {
      // Browsers send Sec-Fetch-Site; Origin is the fallback for those that do not.
      const site = c.req.header("sec-fetch-site");
      const origin = c.req.header("origin");
      const crossSite = site !== undefined
        ? site !== "same-origin" && site !== "none"
        : origin !== undefined && origin !== new URL(c.req.url).origin;
      if (crossSite) {
        return fail(c, 403, "CROSS_SITE", "Requests from another site are refused.");
      }
    }
    await next();
  });

  // Bodies are read whole (forms, JSON), so their size is capped before anything reads them.
  app.on(
    ["POST", "PATCH"],
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => fail(c, 413, "REQUEST_TOO_LARGE", `Bodies are limited to ${MAX_BODY_BYTES} bytes.`),
    }),
  );

  app.get("/health", (c) => c.json({ status: "UP" }));

  app.get(deps.client.path, (c) => {
    c.header("content-type", "text/javascript; charset=utf-8");
    // The path carries the content hash, so the file never changes under it.
    c.header("cache-control", "public, max-age=31536000, immutable");
    return c.body(deps.client.code as Uint8Array<ArrayBuffer>);
  });

  app.get("/login", (c) => {
    if (!deps.loginRequired) return c.redirect("/", 303);
    return page(c, 200, loginPage(deps, localPath(c.req.query("next")), null));
  });

  app.post("/login", async (c) => {
    if (!deps.loginRequired) return c.redirect("/", 303);
    const form = await c.req.parseBody();
    const next = localPath(stringField(form.next));
    const token = stringField(form.token);
    const name = token !== undefined ? TOKEN_ACTOR : stringField(form.name) ?? "";
    const wait = deps.throttle.retryAfterSeconds(name);
    if (wait > 0) {
      c.header("retry-after", String(wait));
      return page(c, 429, loginPage(deps, next, `Too many failed sign-ins. Try again in ${wait} s.`));
    }
    const ok = token !== undefined
      ? deps.consoleTokenHash !== undefined && await verifyPassword(token, deps.consoleTokenHash)
      : await checkUser(deps.users, name, stringField(form.password) ?? "");
    if (!ok) {
      deps.throttle.failed(name);
      const what = token !== undefined ? "console token" : "user name or password";
      return page(c, 401, loginPage(deps, next, `Wrong ${what}.`));
    }
    deps.throttle.succeeded(name);
    startSession(c, deps, name);
    return c.redirect(next, 303);
  });

  app.use(async (c, next) => {
    let session = deps.sessions.get(getCookie(c, SESSION_COOKIE));
    const isApi = c.req.path.startsWith("/api/");
    if (session === undefined) {
      if (isApi || c.req.method !== "GET") {
        return fail(c, 401, "UNAUTHENTICATED", "No valid session: reload the page or sign in again.");
      }
      if (deps.loginRequired) return c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`, 303);
      session = startSession(c, deps, deps.localActor);
    }
    if (c.req.method === "POST" || c.req.method === "PATCH") {
      const sent = c.req.header(CSRF_HEADER) ??
        (isApi ? undefined : stringField((await c.req.parseBody()).csrf));
      if (!csrfMatches(session, sent)) {
        return fail(
          c,
          403,
          "CSRF_REJECTED",
          "The request did not carry this session's CSRF token. Reload the page.",
        );
      }
    }
    c.set("session", session);
    await next();
  });

  app.post("/logout", (c) => {
    deps.sessions.delete(c.get("session").id);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/login", 303);
  });

  app.get("/", (c) => {
    const fleet = deps.poller.fleet();
    return page(
      c,
      200,
      <DashboardPage layout={layoutOf(c, deps)} fleet={fleet} history={deps.actions.list()} />,
    );
  });

  app.get("/nodes/:id", (c) => {
    const detail = deps.poller.detail(c.req.param("id"));
    if (detail === undefined) {
      const message = `No node has the id "${c.req.param("id")}".`;
      return page(
        c,
        404,
        <MessagePage layout={layoutOf(c, deps)} title="Node not found" message={message} />,
      );
    }
    return page(
      c,
      200,
      <NodePage layout={layoutOf(c, deps)} detail={detail} history={deps.actions.list()} />,
    );
  });

  app.get("/api/fleet", (c) => c.json(deps.poller.fleet()));

  app.get("/api/nodes/:id", (c) => {
    const detail = deps.poller.detail(c.req.param("id"));
    return detail === undefined ? nodeNotFound(c) : c.json(detail);
  });

  app.get("/api/nodes/:id/config", async (c) => {
    const node = deps.poller.nodeConfig(c.req.param("id"));
    if (node === undefined) return nodeNotFound(c);
    const indexName = c.req.query("indexName");
    if (!indexName) return fail(c, 400, "INVALID_REQUEST", "Query parameter indexName is required.");
    const result = await readConfig(deps.fetch, node, indexName, deps.requestTimeoutMs);
    return result.ok ? c.json(result.value) : proxyFailure(c, result.status, result.error);
  });

  app.patch("/api/nodes/:id/config", async (c) => {
    const node = deps.poller.nodeConfig(c.req.param("id"));
    if (node === undefined) return nodeNotFound(c);
    const indexName = c.req.query("indexName");
    if (!indexName) return fail(c, 400, "INVALID_REQUEST", "Query parameter indexName is required.");
    const body = await jsonBody(c, ConfigPatchBodySchema);
    if (!body.ok) return body.response;
    const session = c.get("session");
    const result = await patchConfig(
      deps.fetch,
      node,
      indexName,
      body.value,
      session.user,
      deps.requestTimeoutMs,
    );
    return result.ok ? c.json(result.value) : proxyFailure(c, result.status, result.error);
  });

  app.post("/api/nodes/:id/actions/:action", async (c) => {
    const node = deps.poller.nodeConfig(c.req.param("id"));
    if (node === undefined) return nodeNotFound(c);
    const action =
      ({ flush: "FLUSH", compact: "COMPACT" } as Record<string, ActionKind>)[c.req.param("action")];
    if (action === undefined) return fail(c, 404, "NOT_FOUND", "Actions are flush and compact.");
    const body = await jsonBody(c, ActionBodySchema);
    if (!body.ok) return body.response;
    const { record, done } = deps.actions.start(
      node,
      action,
      body.value.indexName ?? null,
      c.get("session").user,
    );
    // Most actions finish within one attempt; a longer one answers PENDING and the page follows it by requestId.
    await settleWithin(done, deps.actionTimeoutMs);
    return c.json(record, record.status === "PENDING" ? 202 : 200);
  });

  app.get("/api/actions", (c) => c.json(deps.actions.list()));

  app.get("/api/actions/:requestId", (c) => {
    const record = deps.actions.get(c.req.param("requestId"));
    return record === undefined
      ? fail(c, 404, "ACTION_NOT_FOUND", "No action with this requestId is remembered.")
      : c.json(record);
  });

  app.onError((error, c) => {
    console.error("HestiaStore console: unexpected error", error);
    return c.json({ code: "INTERNAL_ERROR", message: "The console failed to answer; see its log." }, 500);
  });

  app.notFound((c) => {
    if (c.req.path.startsWith("/api/")) return fail(c, 404, "NOT_FOUND", "No such endpoint.");
    const session = c.get("session");
    const layout = session === undefined
      ? { user: null, canSignOut: false, csrfToken: null, clientPath: null }
      : layoutOf(c, deps);
    return page(
      c,
      404,
      <MessagePage layout={layout} title="Page not found" message="There is no such page." />,
    );
  });

  return app;
}

function layoutOf(c: Context<Env>, deps: AppDeps) {
  const session = c.get("session");
  return {
    user: session.user,
    canSignOut: deps.loginRequired,
    csrfToken: session.csrfToken,
    clientPath: deps.client.path,
  };
}

function loginPage(deps: AppDeps, next: string, error: string | null): JSX.Element {
  return (
    <LoginPage
      next={next}
      error={error}
      tokenSignIn={deps.consoleTokenHash !== undefined}
      passwordSignIn={deps.users.length > 0}
    />
  );
}

function page(c: Context<Env>, status: 200 | 401 | 404 | 429, vnode: JSX.Element): Response {
  c.header("cache-control", "no-store");
  return c.html(renderPage(vnode), status);
}

function startSession(c: Context<Env>, deps: AppDeps, user: string): Session {
  const session = deps.sessions.create(user);
  setCookie(c, SESSION_COOKIE, session.id, {
    path: "/",
    httpOnly: true,
    sameSite: "Strict",
    secure: new URL(c.req.url).protocol === "https:",
  });
  return session;
}

/** Verifies a user's password; an unknown name costs the same PBKDF2 work, so timing does not reveal names. */
async function checkUser(users: UserConfig[], name: string, password: string): Promise<boolean> {
  const user = users.find((u) => u.name === name);
  const matches = await verifyPassword(password, (user ?? users[0])?.passwordHash ?? "");
  return user !== undefined && matches;
}

function fail(c: Context, status: 400 | 401 | 403 | 404 | 413, code: string, message: string): Response {
  const body: ConsoleError = { code, message };
  return c.json(body, status);
}

function nodeNotFound(c: Context): Response {
  return fail(c, 404, "NODE_NOT_FOUND", `No node has the id "${c.req.param("id")}".`);
}

function proxyFailure(c: Context, status: 502 | 504, error: ConsoleError): Response {
  if (error.retryAfterSeconds != null) c.header("retry-after", String(error.retryAfterSeconds));
  return c.json(error, status);
}

async function jsonBody<T>(
  c: Context,
  schema: z.ZodType<T>,
): Promise<{ ok: true; value: T } | { ok: false; response: Response }> {
  const text = await c.req.text();
  if (new TextEncoder().encode(text).length > MAX_BODY_BYTES) {
    return {
      ok: false,
      response: fail(c, 413, "REQUEST_TOO_LARGE", `Bodies are limited to ${MAX_BODY_BYTES} bytes.`),
    };
  }
  let json: unknown;
  try {
    json = text === "" ? {} : JSON.parse(text);
  } catch {
    return { ok: false, response: fail(c, 400, "INVALID_REQUEST", "The body is not valid JSON.") };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      response: fail(c, 400, "INVALID_REQUEST", `${issue.path.join(".") || "body"}: ${issue.message}`),
    };
  }
  return { ok: true, value: parsed.data };
}

function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise.then(() => {}),
    new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
  ]).finally(() => clearTimeout(timer));
}

function hostName(host: string): string {
  return host.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1").toLowerCase();
}

function stringField(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function localPath(next: string | undefined): string {
  // Only a path on this console: "//host" and "/\host" would leave it.
  return next !== undefined && /^\/(?![/\\])/.test(next) ? next : "/";
}
