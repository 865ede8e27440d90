/**
 * The management agent over a real socket, on the runtime running this file
 * (run it under Deno and under Node to cover both adapters): every
 * behaviour case over HTTP and over HTTPS with a certificate made by
 * `openssl`, plus the transport checks only a socket can make.
 */
import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes } from "@std/assert";
import { afterEach, beforeAll, describe, it } from "@std/testing/bdd";
import { Buffer } from "node:buffer";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { ACTION_FLUSH, REPORT } from "../../agent/api/mod.ts";
import { type AgentServer, resolveServeOptions } from "../../agent/serve_options.ts";
import { AGENT_CASES, type Send } from "./_agent_cases.ts";
import {
  assertError,
  createFixture,
  type Fixture,
  type FixtureOptions,
  json,
  jsonRequest,
} from "./_agent_fixture.ts";

const IS_DENO = "Deno" in globalThis;
const { serveAgent } = IS_DENO ? await import("../../agent/deno.ts") : await import("../../agent/node.ts");
const TLS_DIR = fileURLToPath(new URL("../../out/tests/agent/tls/", import.meta.url));

interface Tls {
  cert: string;
  key: string;
}

let fixture: Fixture | undefined;
let server: AgentServer | undefined;

async function start(options: FixtureOptions = {}, tls?: Tls): Promise<{ f: Fixture; server: AgentServer }> {
  fixture = await createFixture(options);
  server = await serveAgent(fixture.app, { port: 0, ...tls });
  return { f: fixture, server };
}

async function stop(): Promise<void> {
  await server?.shutdown();
  await fixture?.close();
  server = undefined;
  fixture = undefined;
}

function plainSend(base: string): Send {
  return (path, init) => fetch(`${base}${path}`, init);
}

function bodyBytes(body: RequestInit["body"]): Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  throw new TypeError("The test client sends only strings and bytes");
}

/** HTTPS trusting `ca`: Deno's fetch with its own client, Node's https module. */
function tlsSend(base: string, ca: string): { send: Send; close(): void } {
  if (IS_DENO) {
    const client = Deno.createHttpClient({ caCerts: [ca] });
    const send: Send = (path, init) => {
      const withClient: RequestInit & { client: Deno.HttpClient } = { ...init, client };
      return fetch(`${base}${path}`, withClient);
    };
    return { send, close: () => client.close() };
  }
  const send: Send = (path, init = {}) =>
    new Promise((resolve, reject) => {
      const body = bodyBytes(init.body);
      const headers = Object.fromEntries(new Headers(init.headers));
      if (body !== undefined) headers["content-length"] = String(body.length);
      const req = httpsRequest(`${base}${path}`, { method: init.method ?? "GET", headers, ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) {
              responseHeaders.set(name, Array.isArray(value) ? value.join(", ") : value);
            }
          }
          const status = res.statusCode!;
          const payload = status === 204 || status === 304 ? null : new Uint8Array(Buffer.concat(chunks));
          resolve(new Response(payload, { status, headers: responseHeaders }));
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });
  return { send, close() {} };
}

/** Sends raw HTTP/1.1 bytes and returns what the server wrote back. */
function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(text));
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => received += chunk);
    socket.on("end", () => resolve(received));
    socket.on("error", reject);
  });
}

describe("management agent over HTTP", () => {
  afterEach(stop);

  for (const testCase of AGENT_CASES) {
    it(testCase.name, async () => {
      const { f, server } = await start(testCase.options);
      await testCase.run(plainSend(server.url), f);
    });
  }

  it("records the peer's address from the socket in the audit trail", async () => {
    const { f, server } = await start();
    await json(await fetch(`${server.url}${ACTION_FLUSH}`, jsonRequest("POST", { requestId: "peer" })));
    const remotes = new Set(f.audit.entries.map((e) => e.remote));
    assertEquals(remotes.size, 1);
    assertStringIncludes([...remotes][0], "127.0.0.1");
  });

  it("requireTls refuses plain HTTP with TLS_REQUIRED, even with an https:// request target", async () => {
    const { server } = await start({ security: { requireTls: true } });
    await assertError(await fetch(`${server.url}${REPORT}`), 400, "TLS_REQUIRED");
    await assertError(
      await fetch(`${server.url}${REPORT}`, { headers: { "X-Forwarded-Proto": "https" } }),
      400,
      "TLS_REQUIRED",
    );
    const raw = await rawHttp(
      server.port,
      `GET https://127.0.0.1:${server.port}${REPORT} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
        "Connection: close\r\n\r\n",
    );
    assertMatch(raw, /^HTTP\/1\.1 400 /);
    assertStringIncludes(raw, '"code":"TLS_REQUIRED"');
  });

  it("the adapter refuses to listen beyond loopback when no tokens are configured", async () => {
    const { f } = await start();
    await assertRejects(() => serveAgent(f.app, { hostname: "0.0.0.0", port: 0 }), Error, "no tokens");
    assertEquals(
      resolveServeOptions(f.app, { hostname: "0.0.0.0", allowInsecureRemote: true }).hostname,
      "0.0.0.0",
    );
    const secured = await createFixture({ tokens: { reader: { role: "READ" } } });
    assertEquals(resolveServeOptions(secured.app, { hostname: "0.0.0.0" }).hostname, "0.0.0.0");
    await secured.close();
  });
});

describe("management agent over HTTPS", () => {
  let tls: Tls;

  beforeAll(() => {
    mkdirSync(TLS_DIR, { recursive: true });
    execFileSync("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      // Without these, openssl marks the certificate a CA, which rustls (Deno) refuses as a server certificate.
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-addext",
      "extendedKeyUsage=serverAuth",
      "-keyout",
      `${TLS_DIR}key.pem`,
      "-out",
      `${TLS_DIR}cert.pem`,
    ], { stdio: "ignore" });
    tls = {
      cert: readFileSync(`${TLS_DIR}cert.pem`, "utf8"),
      key: readFileSync(`${TLS_DIR}key.pem`, "utf8"),
    };
  });

  let client: { send: Send; close(): void } | undefined;
  afterEach(async () => {
    client?.close();
    client = undefined;
    await stop();
  });

  for (const testCase of AGENT_CASES) {
    it(testCase.name, async () => {
      const { f, server } = await start(testCase.options, tls);
      assert(server.url.startsWith("https://"));
      client = tlsSend(server.url, tls.cert);
      await testCase.run(client.send, f);
    });
  }

  it("requireTls accepts HTTPS", async () => {
    const { server } = await start(
      { tokens: { reader: { role: "READ" } }, security: { requireTls: true } },
      tls,
    );
    client = tlsSend(server.url, tls.cert);
    await assertError(await client.send(REPORT), 401, "UNAUTHORIZED");
    await json(await client.send(REPORT, { headers: { Authorization: `Bearer ${fixture!.tokens.reader}` } }));
  });

  it("a client that does not trust the certificate cannot connect", async () => {
    const { server } = await start({}, tls);
    await assertRejects(() => fetch(`${server.url}${REPORT}`));
  });
});
