/**
 * The rollback switches of `hestiastore serve`: with each stage switched off,
 * the stages below it keep working (docs/rollout.md), and the first-start
 * token flow. Each case starts the CLI on the runtime running the test (Deno
 * or Node) over its own data folder under out/, stops it with SIGTERM and
 * expects exit code 0.
 *
 * @module
 */
import {
  assert,
  assertEquals,
  assertGreater,
  assertMatch,
  assertNotEquals,
  assertNotMatch,
  assertStringIncludes,
} from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { readFileSync, rmSync, statSync } from "node:fs";
import process from "node:process";
import { SegmentIndex } from "../../engine/mod.ts";
import {
  adminToken,
  call,
  freePort,
  refusesConnections,
  ROOT,
  SERVE,
  ServeProcess,
} from "./_serve_process.ts";

const OUT = `out/tests/cli/stage_switches/${"Deno" in globalThis ? "deno" : "node"}`;

/** A fresh data folder, relative to the repository root. */
function dataFolder(name: string): string {
  const folder = `${OUT}/${name}`;
  rmSync(`${ROOT}${folder}`, { recursive: true, force: true });
  return folder;
}

/** Runs `body` with a started node, then stops it with SIGTERM and expects a clean exit. */
async function withNode(args: string[], body: (node: ServeProcess) => Promise<void>): Promise<void> {
  const node = new ServeProcess([...SERVE, ...args]);
  try {
    await node.waitFor(/^Stop with Ctrl-C/m);
    await body(node);
    node.signal("SIGTERM");
    assertEquals(await node.exited(), { code: 0, signal: null }, node.output);
    assertMatch(node.output, /SIGTERM: closing\nClosed cleanly\.\n/);
  } finally {
    await node.dispose();
  }
}

describe("hestiastore serve stage switches", () => {
  it("--no-console: the agent and /metrics serve, the console port stays closed", async () => {
    const consolePort = await freePort();
    const data = dataFolder("no-console");
    await withNode(
      ["--data", data, "--port", "0", "--console-port", String(consolePort), "--no-console"],
      async (node) => {
        const agent = await node.url("Agent");
        const token = await adminToken(node);
        assertStringIncludes(node.output, "Console off (--no-console).");
        assertEquals((await call(`${agent}/api/v1/report`, { token })).status, 200);
        const metrics = await call(`${agent}/metrics`, { token });
        assertEquals(metrics.status, 200);
        assertMatch(metrics.text, /^hestiastore_ops_get_total\{index="default"\} \d+$/m);
        assert(await refusesConnections(consolePort), "the console port accepts connections");
        // No console runs, so the tokens file holds no console entry.
        const file = JSON.parse(readFileSync(`${ROOT}${data}/tokens.json`, "utf8"));
        assertEquals(file.tokens.map((entry: { id: string }) => entry.id), ["admin"]);
      },
    );
  });

  it("--no-exporter: /metrics answers 404 with the error shape, the API and the console still work", async () => {
    await withNode([
      "--data",
      dataFolder("no-exporter"),
      "--port",
      "0",
      "--console-port",
      "0",
      "--no-exporter",
    ], async (node) => {
      const agent = await node.url("Agent");
      const consoleUrl = await node.url("Console");
      const token = await adminToken(node);
      assertStringIncludes(node.output, "Exporter off (--no-exporter)");
      const metrics = await call(`${agent}/metrics`, { token });
      assertEquals(metrics.status, 404);
      const body = metrics.json() as Record<string, unknown>;
      assertEquals(Object.keys(body).sort(), ["capturedAt", "code", "message", "requestId"]);
      assertEquals(body.code, "NOT_FOUND");
      const report = await call(`${agent}/api/v1/report`, { token });
      assertEquals(report.status, 200);
      assertEquals((report.json() as { indexes: { indexName: string }[] }).indexes[0].indexName, "default");
      assertEquals((await call(`${consoleUrl}/health`)).status, 200);
    });
  });

  it("--no-agent: the engine runs and /metrics alone serves, without a token; no API, no console", async () => {
    const consolePort = await freePort();
    const data = dataFolder("no-agent");
    const args = [
      "--data",
      data,
      "--port",
      "0",
      "--console-port",
      String(consolePort),
      "--no-agent",
      "--demo-load",
    ];
    await withNode(args, async (node) => {
      const metricsUrl = await node.url("Metrics");
      assertStringIncludes(node.output, "Agent and console off (--no-agent).");
      assertNotMatch(node.output, /hst_/);
      let puts = 0;
      for (let attempt = 0; attempt < 100 && puts === 0; attempt++) {
        const metrics = await call(metricsUrl);
        assertEquals(metrics.status, 200);
        puts = Number(/^hestiastore_ops_put_total\{index="default"\} (\d+)$/m.exec(metrics.text)?.[1] ?? 0);
        if (puts === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assertGreater(puts, 0);
      assertEquals((await call(metricsUrl.replace(/\/metrics$/, "/api/v1/report"))).status, 404);
      assert(await refusesConnections(consolePort), "the console port accepts connections");
    });
    // The agent never ran: no tokens file, no audit trail.
    assertEquals(existsIn(data, "tokens.json"), false);
    assertEquals(existsIn(data, "audit"), false);
  });

  it("--no-agent --no-exporter: the engine alone runs with nothing listening, and closes cleanly", async () => {
    const [port, consolePort] = [await freePort(), await freePort()];
    const data = dataFolder("engine-only");
    const args = ["--data", data, "--port", String(port), "--console-port", String(consolePort)];
    await withNode([...args, "--no-agent", "--no-exporter", "--demo-load"], async (node) => {
      assertStringIncludes(node.output, "Engine only: agent, exporter and console off; nothing listens.");
      assert(await refusesConnections(port), "the agent port accepts connections");
      assert(await refusesConnections(consolePort), "the console port accepts connections");
      // Let the demo load write for a while.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    });
    const index = await SegmentIndex.open(`${ROOT}${data}/default`);
    try {
      assertEquals(index.state, "READY");
      assertGreater([...index.range()].length, 0);
    } finally {
      await index.close();
    }
  });

  it("first start prints an admin token once and stores only hashes; later starts accept it and print none", async () => {
    const data = dataFolder("tokens");
    const file = `${ROOT}${data}/tokens.json`;
    let token = "";
    let firstEntries: { id: string; hash: string }[] = [];
    await withNode(["--data", data, "--port", "0", "--console-port", "0"], async (node) => {
      const agent = await node.url("Agent");
      const consoleUrl = await node.url("Console");
      token = await adminToken(node);
      assertMatch(node.output, /Console {2}\S+ {2}\(sign in with the admin token\)/);
      const text = readFileSync(file, "utf8");
      assertNotMatch(text, /hst_/);
      if (process.platform !== "win32") assertEquals(statSync(file).mode & 0o777, 0o600);
      const stored = JSON.parse(text);
      firstEntries = stored.tokens;
      assertEquals(firstEntries.map((entry) => entry.id), ["admin", "serve-console"]);
      assertMatch(stored.consoleTokenHash, /^pbkdf2-sha256\$/);
      assertEquals((await call(`${agent}/api/v1/report`, { token })).status, 200);
      assertEquals((await call(`${agent}/api/v1/report`, { token: token.slice(0, -1) + "A" })).status, 401);
      assertEquals((await signIn(consoleUrl, token)).status, 303);
    });
    // A "--" before the flags, as npm users type it, is accepted.
    await withNode(["--", "--data", data, "--port", "0", "--console-port", "0"], async (node) => {
      const agent = await node.url("Agent");
      const consoleUrl = await node.url("Console");
      assertNotMatch(node.output, /hst_/);
      assertStringIncludes(node.output, `Tokens: 2 stored as hashes in ${file.replace(/\/$/, "")}`);
      assertStringIncludes(node.output, "deno task token:new");
      assertEquals((await call(`${agent}/api/v1/report`, { token })).status, 200);
      assertEquals((await signIn(consoleUrl, token)).status, 303);
      assertEquals((await signIn(consoleUrl, "hst_admin_wrong")).status, 401);
      const entries: { id: string; hash: string }[] = JSON.parse(readFileSync(file, "utf8")).tokens;
      assertEquals(entries[0], firstEntries[0]);
      // The console's token is made anew at each start, and its entry replaced.
      assertEquals(entries[1].id, "serve-console");
      assertNotEquals(entries[1].hash, firstEntries[1].hash);
    });
  });
});

function existsIn(data: string, name: string): boolean {
  try {
    statSync(`${ROOT}${data}/${name}`);
    return true;
  } catch {
    return false;
  }
}

/** Signs in to the console with a token, as its sign-in form posts it: 303 on success, 401 otherwise. */
async function signIn(consoleUrl: string, token: string): Promise<{ status: number }> {
  const response = await fetch(`${consoleUrl}/login`, {
    method: "POST",
    body: new URLSearchParams({ token, next: "/" }),
    redirect: "manual",
  });
  await response.body?.cancel();
  return { status: response.status };
}
