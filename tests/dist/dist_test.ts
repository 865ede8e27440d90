/**
 * The dist gate: each stage is releasable on its own as an npm package.
 * Builds and packs the packages (`cli/tools/build_npm.ts`, what
 * `deno task dist` runs) into a folder of its own under out/, then installs
 * them offline into empty folders — the engine alone, then with the
 * exporters, the agent, the console, and the `hestiastore` command — and
 * drives each from a plain Node ES module script. See `_npm.ts` for how the
 * installs avoid the registry and the repository's node_modules.
 *
 * @module
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { afterAll, beforeAll, describe, it } from "@std/testing/bdd";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { VERSION } from "../../exporters/version.ts";
import type { PackedPackage } from "../../cli/tools/build_npm.ts";
import { guardOptions, installOffline, readPacked, runNodeScript, runProcess } from "./_npm.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const ENGINE = "@hestiastore/engine";
const EXPORTERS = "@hestiastore/exporters";
const AGENT = "@hestiastore/agent";
const CONSOLE = "@hestiastore/console";
const CLI = "hestiastore";

let work: string;
let dist: string;
let packed: Map<string, PackedPackage>;

/** Installs `tarballs` (plus `extras` from the lock) into `work/name`, and returns the folder. */
async function install(name: string, tarballs: string[], extras: string[] = []): Promise<string> {
  const dir = join(work, name);
  await installOffline(dir, dist, tarballs, extras);
  return dir;
}

/** Runs `script` with Node in `dir` and fails with its output unless it exits 0 printing `ok`. */
async function node(dir: string, script: string): Promise<void> {
  const ran = await runNodeScript(dir, "check.mjs", script);
  assert(
    ran.code === 0 && ran.stdout.trim().endsWith("ok"),
    `node check.mjs in ${dir} exited ${ran.code}:\n${ran.stdout}${ran.stderr}`,
  );
}

/** An agent with one index and one console token, for the scripts below. */
const AGENT_SETUP = `
import { SegmentIndex } from "${ENGINE}";
import { createAgent, MemoryAuditSink, newToken } from "${AGENT}";
import { serveAgent } from "${AGENT}/node";

const orders = await SegmentIndex.create("data/orders", { name: "orders" });
await orders.put("o-1", "paid");
const { token, entry } = await newToken("console", "OPERATE", { console: true });
const app = createAgent({
  indexes: new Map([["orders", orders]]),
  security: { tokens: [entry] },
  audit: new MemoryAuditSink(),
  node: { nodeId: "dist-check" },
});
`;

describe("npm packages", () => {
  beforeAll(async () => {
    mkdirSync(join(ROOT, "out"), { recursive: true });
    work = mkdtempSync(join(ROOT, "out/dist-gate-"));
    dist = join(work, "dist");
    const build = await runProcess(
      Deno.execPath(),
      ["run", "-A", "cli/tools/build_npm.ts", "--out", dist],
      { cwd: ROOT, timeoutMs: 300_000 },
    );
    assert(build.code === 0, `build_npm.ts exited ${build.code}:\n${build.stdout}${build.stderr}`);
    packed = readPacked(dist);
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it("one package per module, each depending on what it imports and nothing else", () => {
    assertEquals([...packed.keys()], [ENGINE, EXPORTERS, AGENT, CONSOLE, CLI]);
    for (const p of packed.values()) assertEquals(p.version, VERSION, p.name);
    assertEquals(packed.get(ENGINE)!.dependencies, {});
    assertEquals(packed.get(EXPORTERS)!.dependencies, { [ENGINE]: VERSION });
    assertEquals(Object.keys(packed.get(EXPORTERS)!.peerDependencies), ["@opentelemetry/api"]);
    const agentDeps = packed.get(AGENT)!.dependencies;
    assertEquals([agentDeps[ENGINE], agentDeps[EXPORTERS]], [VERSION, VERSION]);
    assertMatch(agentDeps["zod"], /^\^4\./);
    assertEquals(packed.get(CONSOLE)!.dependencies[AGENT], VERSION);
    const cli = JSON.parse(readFileSync(join(dist, "cli/package.json"), "utf8"));
    assertEquals(cli.bin, { hestiastore: "./main.js" });
    assertEquals(readFileSync(join(dist, "cli/main.js"), "utf8").split("\n")[0], "#!/usr/bin/env node");
    for (const p of packed.values()) {
      const files = readdirSync(join(dist, p.dir));
      for (const f of ["package.json", "README.md", "LICENSE", "types"]) {
        assert(files.includes(f), `${p.name}: ${f}`);
      }
    }
  });

  it("the engine installs alone, with no dependency, and runs an index on disk from plain Node", async () => {
    const dir = await install("engine", [ENGINE]);
    assertEquals(readdirSync(join(dir, "node_modules")).filter((n) => !n.startsWith(".")), ["@hestiastore"]);
    assertEquals(readdirSync(join(dir, "node_modules/@hestiastore")), ["engine"]);
    await node(
      dir,
      `
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { INT32, SegmentIndex, STRING } from "${ENGINE}";

const index = await SegmentIndex.create("data/fruit", { keyType: STRING, valueType: INT32 });
await index.put("apple", 3);
await index.put("banana", 7);
await index.put("cherry", 9);
await index.delete("banana");
strictEqual(index.get("apple"), 3);
strictEqual(index.get("banana"), undefined);
deepStrictEqual([...index.range({ gte: "a", lt: "c" })], [["apple", 3]]);
await index.flush();
await index.close();

const again = await SegmentIndex.open("data/fruit");
deepStrictEqual([...again.range()], [["apple", 3], ["cherry", 9]]);
await again.close();
console.log("ok");
`,
    );
  });

  it("+ exporters: renders an index's metrics, and the OpenTelemetry bridge loads with @opentelemetry/api", async () => {
    const dir = await install("exporters", [ENGINE, EXPORTERS], ["@opentelemetry/api"]);
    await node(
      dir,
      `
import { match, strictEqual } from "node:assert/strict";
import { metrics } from "@opentelemetry/api";
import { SegmentIndex } from "${ENGINE}";
import { createMetricsHandler, renderMetrics, VERSION } from "${EXPORTERS}";
import { bridgeToOpenTelemetry } from "${EXPORTERS}/otel";

const orders = await SegmentIndex.create("data/orders", { name: "orders" });
await orders.put("o-1", "paid");
orders.get("o-1");
const text = renderMetrics([orders.metrics()], "prometheus-0.0.4");
match(text, /^hestiastore_ops_get_total\\{index="orders"\\} 1$/m);
strictEqual(VERSION, "${VERSION}");
const response = await createMetricsHandler({ indexes: () => [orders] })(new Request("http://localhost/metrics"));
strictEqual(response.status, 200);
match(await response.text(), /^hestiastore_ops_put_total\\{index="orders"\\} 1$/m);
const unregister = bridgeToOpenTelemetry({ meter: metrics.getMeter("hestiastore"), indexes: () => [orders] });
unregister();
await orders.close();
console.log("ok");
`,
    );
  });

  it("+ agent: answers /api/v1/report in process and /health over a Node socket; the api subpath", async () => {
    const dir = await install("agent", [ENGINE, EXPORTERS, AGENT]);
    await node(
      dir,
      `
import { strictEqual } from "node:assert/strict";
import { HEALTH, NodeReportSchema, REPORT } from "${AGENT}/api";
${AGENT_SETUP}
strictEqual((await app.request(REPORT)).status, 401);
const response = await app.request(REPORT, { headers: { Authorization: \`Bearer \${token}\` } });
strictEqual(response.status, 200);
const report = NodeReportSchema.parse(await response.json());
strictEqual(report.indexes[0].indexName, "orders");

const server = await serveAgent(app, { port: 0 });
strictEqual((await fetch(server.url + HEALTH)).status, 200);
await server.shutdown();
await orders.close();
console.log("ok");
`,
    );
  });

  it("+ console: shows an agent's node as UP and serves its prebuilt browser bundle, over Node sockets", async () => {
    const dir = await install("console", [ENGINE, EXPORTERS, AGENT, CONSOLE]);
    await node(
      dir,
      `
import { match, strictEqual } from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createConsole } from "${CONSOLE}";
import { serveConsole } from "${CONSOLE}/node";
${AGENT_SETUP}
const server = await serveAgent(app, { port: 0 });
const console_ = await createConsole({ nodes: [{ id: "n1", name: "Node one", baseUrl: server.url, token }] });
const served = await serveConsole(console_, { port: 0 });
await console_.refresh();
const page = await fetch(served.url);
strictEqual(page.status, 200);
const html = await page.text();
match(html, /Node one/);
// The page's session cookie is what the browser sends to the console's JSON API.
const cookie = page.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
const fleet = await (await fetch(new URL("/api/fleet", served.url), { headers: { cookie } })).json();
strictEqual(fleet.nodes[0].state, "UP");
const script = html.match(/\\/static\\/client\\.[0-9a-f]+\\.js/)?.[0];
const bundle = await fetch(new URL(script, served.url));
strictEqual(bundle.status, 200);
match(bundle.headers.get("Content-Type"), /javascript/);
const asset = readFileSync("node_modules/${CONSOLE}/assets/client.js");
strictEqual((await bundle.arrayBuffer()).byteLength, asset.length);
await served.shutdown();
await server.shutdown();
await orders.close();
console.log("ok");
`,
    );
  });

  it("hestiastore: `npx hestiastore serve` answers /health, /api/v1/report and /metrics, exits 0 on SIGTERM", async () => {
    // With the optional peer of the exporters' OpenTelemetry bridge, for the type check below.
    const dir = await install("cli", [ENGINE, EXPORTERS, AGENT, CONSOLE, CLI], ["@opentelemetry/api"]);
    const version = await runProcess("node", ["--version"], { cwd: dir });
    assert(Number(/^v(\d+)/.exec(version.stdout)?.[1]) >= 20, `Node 20 or later, got ${version.stdout}`);
    const args = "--offline hestiastore serve --port 0 --console-port 0 --data data".split(" ");
    const npx = spawn("npx", args, {
      cwd: dir,
      env: { ...Deno.env.toObject(), NODE_OPTIONS: guardOptions(dir) },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so that a failing test can stop npx, its shell and the node in one go.
      detached: true,
    });
    const output = collect(npx);
    try {
      const text = await output.waitFor(/Stop with Ctrl-C/, 60_000);
      const agent = /^\s*Agent\s+(\S+)/m.exec(text)?.[1];
      const metrics = /^\s*Metrics\s+(\S+)/m.exec(text)?.[1];
      const token = /Bearer ([^"\s]+)/.exec(text)?.[1];
      assert(agent && metrics && token, `agent URL, metrics URL and admin token in:\n${text}`);
      const auth = { headers: { Authorization: `Bearer ${token}` } };
      const health = await fetch(`${agent}/health`);
      assertEquals(health.status, 200, await health.text());
      const report = await (await fetch(`${agent}/api/v1/report`, auth)).json();
      assertEquals(report.indexes.map((i: { indexName: string }) => i.indexName), ["default"]);
      const exposition = await fetch(metrics, auth);
      assertEquals(exposition.status, 200);
      assertMatch(await exposition.text(), /^hestiastore_index_up\{index="default"\} 1$/m);
      // SIGTERM goes to the node running the command, as a supervisor of `hestiastore serve` sends it: npx
      // runs it through `sh -c`, and dash passes no signal on, so a SIGTERM to npx alone would orphan it.
      const [command] = descendants(npx.pid!).filter((pid) => {
        const [program, script] = commandLine(pid);
        return /(^|\/)node$/.test(program ?? "") && /(^|\/)hestiastore$/.test(script ?? "");
      });
      assert(command, `the node process under npx (${npx.pid})`);
      process.kill(command, "SIGTERM");
      assertEquals(await output.exit, 0, `npx exit code after SIGTERM; output:\n${output.text()}`);
      assertMatch(output.text(), /Closed cleanly/);
    } finally {
      if (npx.exitCode === null && npx.signalCode === null) process.kill(-npx.pid!, "SIGKILL");
      await output.exit;
    }
    await node(
      dir,
      `
import { strictEqual } from "node:assert/strict";
import { SegmentIndex } from "${ENGINE}";

const index = await SegmentIndex.open("data/default");
await index.put("written-by", "a plain Node script");
strictEqual(index.get("written-by"), "a plain Node script");
await index.close();
console.log("ok");
`,
    );
  });

  it("the type declarations serve a strict TypeScript consumer of every package", async () => {
    const dir = join(work, "cli");
    // Each @ts-expect-error proves a type is real: a declaration that failed to resolve would be `any`, the
    // directive unused, and tsc would fail. (Like most projects, the consumer skips checking the libraries'
    // own declarations; checking zod's and hono's would double the time of this gate.)
    writeFileSync(
      join(dir, "consumer.ts"),
      `
import { type MetricsSnapshot, SegmentIndex, STRING } from "${ENGINE}";
import { createMetricsHandler, renderMetrics } from "${EXPORTERS}";
import { bridgeToOpenTelemetry } from "${EXPORTERS}/otel";
import { type AgentApp, createAgent, MemoryAuditSink } from "${AGENT}";
import { type NodeReport, REPORT } from "${AGENT}/api";
import { serveAgent } from "${AGENT}/node";
import { type ConsoleServer, createConsole } from "${CONSOLE}";
import { serveConsole } from "${CONSOLE}/node";
import { startNode } from "${CLI}";

export async function check(): Promise<void> {
  const index: SegmentIndex<string, string> = await SegmentIndex.create("data/t", { keyType: STRING });
  // @ts-expect-error: keys are strings
  await index.put(1, "v");
  const snapshot: MetricsSnapshot = index.metrics();
  const text: string = renderMetrics([snapshot], "openmetrics-1.0.0");
  // @ts-expect-error: the exposition formats are a closed set
  renderMetrics([snapshot], "json");
  const handler: (request: Request) => Promise<Response> = createMetricsHandler({ indexes: () => [index] });
  // @ts-expect-error: the bridge needs a meter
  bridgeToOpenTelemetry({ indexes: () => [index] });
  const app: AgentApp = createAgent({
    indexes: new Map([["t", index]]),
    security: { tokens: [] },
    audit: new MemoryAuditSink(),
    node: { nodeId: "n" },
  });
  // @ts-expect-error: the agent needs a security policy
  createAgent({ indexes: new Map(), audit: new MemoryAuditSink(), node: { nodeId: "n" } });
  const report: NodeReport = await (await app.request(REPORT)).json();
  // @ts-expect-error: a report (a zod type) has no such field
  void report.noSuchField;
  const server = await serveAgent(app, { port: 0 });
  const console_: ConsoleServer = await createConsole({
    nodes: [{ id: "n", name: "n", baseUrl: server.url, token: "t" }],
  });
  // @ts-expect-error: nodes are a list
  await createConsole({ nodes: "n" });
  await serveConsole(console_, { port: 0 });
  // @ts-expect-error: ports are numbers
  await startNode({ port: "9001" });
  void [text, handler];
}
`,
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2022",
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          lib: ["es2023", "dom"],
          types: ["node"],
          typeRoots: [join(ROOT, "node_modules/@types")],
        },
        files: ["consumer.ts"],
      }),
    );
    const tsc = await runProcess("node", [
      join(ROOT, "node_modules/typescript/bin/tsc"),
      "-p",
      "tsconfig.json",
    ], {
      cwd: dir,
    });
    assert(tsc.code === 0, `tsc exited ${tsc.code}:\n${tsc.stdout}${tsc.stderr}`);
  });
});

/** The pids below `pid`, from Linux's /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (command) state ppid …": the command may hold spaces and parentheses, so read after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    children.set(ppid, [...children.get(ppid) ?? [], Number(name)]);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = children.get(queue.shift()!) ?? [];
    out.push(...next);
    queue.push(...next);
  }
  return out;
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

/** Gathers a child's output; `waitFor` resolves with it once it matches. */
function collect(child: ChildProcess): {
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string>;
  text(): string;
  exit: Promise<number | null>;
} {
  let text = "";
  const waiters: (() => void)[] = [];
  const append = (chunk: string) => {
    text += chunk;
    for (const w of waiters.splice(0)) w();
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding("utf8");
    stream.on("data", append);
  }
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    exit,
    text: () => text,
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(text)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${pattern}; output so far:\n${text}`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const exited = await Promise.race([
          new Promise<boolean>((resolve) => {
            waiters.push(() => resolve(false));
            timer = setTimeout(() => resolve(false), left);
          }),
          exit.then(() => true),
        ]);
        clearTimeout(timer);
        if (exited && !pattern.test(text)) throw new Error(`the process exited; output:\n${text}`);
      }
      return text;
    },
  };
}
