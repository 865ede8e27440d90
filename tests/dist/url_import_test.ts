/**
 * The URL-import gate (Deno only): the engine, the exporters and the agent
 * import by `http://` URL into a project that holds nothing but the import
 * map of docs/operations.md ("Importing the modules by URL").
 *
 * The test serves the repository from a small static file server on
 * 127.0.0.1, makes an empty folder under out/ with that import map as its
 * deno.json, and then:
 *
 * 1. checks that the map covers every bare specifier of the modules' graph,
 *    pinned to the versions of package.json;
 * 2. fills Deno's npm cache from the map (`deno install`, which fetches the
 *    npm packages and none of our modules; the npm registry must be
 *    reachable, or the packages already cached);
 * 3. runs a script that imports `engine/mod.ts`, `exporters/mod.ts`,
 *    `agent/mod.ts` and `agent/deno.ts` by URL, opens an index, serves the
 *    agent and scrapes `/api/v1/report` and `/metrics`. Its modules come
 *    from the local server (`--reload` of its origin); every other request
 *    goes through an HTTP proxy that refuses and counts connections, so an
 *    npm package missing from the cache fails the run instead of being
 *    fetched;
 * 4. runs the script again with `--cached-only`: no request at all.
 *
 * `--cached-only` also refuses modules that are not cached yet, whatever
 * their host, so it cannot prove step 3 on its own: a first run with it
 * would fail on `http://127.0.0.1:…/engine/mod.ts`.
 *
 * It uses the Deno directory (DENO_DIR) of the environment, and removes
 * what the run cached of the local server's origin (its port is new every
 * time) when it ends.
 *
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { moduleGraph, ROOT } from "../_module_graph.ts";

const DOC = "docs/operations.md";
/** What the script imports by URL. */
const ENTRIES = ["engine/mod.ts", "exporters/mod.ts", "agent/mod.ts", "agent/deno.ts"];
/** Modules the documented import map must serve too, though the script does not import them. */
const MAPPED_ONLY = ["exporters/otel.ts", "agent/api/mod.ts"];
/** The folders a script importing the entries may fetch from the server. */
const MODULE_FOLDERS = ["/engine/", "/exporters/", "/agent/"];
const MARKER = "URL-IMPORT-OK";
const RUN_TIMEOUT_MS = 60_000;

const CONTENT_TYPES: Record<string, string> = {
  ".ts": "application/typescript; charset=utf-8",
  ".tsx": "text/tsx; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
};

/** A static file server over the repository root; it records the paths asked for. */
function serveRepository(): { server: Deno.HttpServer<Deno.NetAddr>; requests: string[] } {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    requests.push(path);
    const type = CONTENT_TYPES[extname(path)];
    const file = normalize(join(ROOT, path));
    if (request.method !== "GET" || !type || !file.startsWith(ROOT) || file.includes("/.")) {
      return new Response("not found\n", { status: 404 });
    }
    try {
      return new Response(await Deno.readFile(file), { headers: { "content-type": type } });
    } catch {
      return new Response("not found\n", { status: 404 });
    }
  });
  return { server, requests };
}

/** A proxy that accepts connections, counts them and closes them at once. */
function trapProxy(): { listener: Deno.TcpListener; attempts: () => number } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let attempts = 0;
  (async () => {
    try {
      for await (const conn of listener) {
        attempts++;
        conn.close();
      }
    } catch {
      // The listener was closed.
    }
  })();
  return { listener, attempts: () => attempts };
}

/** The import map of the docs: the JSON block of DOC whose `imports` map `hono`. */
function documentedImportMap(): { imports: Record<string, string> } {
  const text = readFileSync(join(ROOT, DOC), "utf8");
  for (const [, block] of text.matchAll(/```jsonc?\n([\s\S]*?)```/g)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(block);
    } catch {
      continue;
    }
    const imports = (parsed as { imports?: Record<string, string> }).imports;
    if (imports && typeof imports === "object" && "hono" in imports) return { imports };
  }
  throw new Error(`${DOC} has no \`\`\`json block with an "imports" map for "hono"`);
}

/** Bare specifiers (npm packages) that the entries' module graph imports. */
function bareSpecifiers(): string[] {
  const found = new Set<string>();
  for (const entry of [...ENTRIES, ...MAPPED_ONLY]) {
    for (const module of moduleGraph(entry).modules) {
      if (!module.specifier.startsWith(`file://${ROOT}`)) continue;
      for (const { specifier } of module.dependencies ?? []) {
        if (!/^(\.|\/|[a-z]+:)/.test(specifier)) found.add(specifier);
      }
    }
  }
  return [...found].sort();
}

/** What `specifier` resolves to under `imports`, as an import map does it (exact key, then longest prefix). */
function mapped(imports: Record<string, string>, specifier: string): string | undefined {
  if (specifier in imports) return imports[specifier];
  const prefix = Object.keys(imports)
    .filter((key) => key.endsWith("/") && specifier.startsWith(key))
    .sort((a, b) => b.length - a.length)[0];
  return prefix === undefined ? undefined : imports[prefix] + specifier.slice(prefix.length);
}

/** The user's script: everything by URL from `base`. */
function script(base: string): string {
  return `import { SegmentIndex } from "${base}/engine/mod.ts";
import { createMetricsHandler, VERSION } from "${base}/exporters/mod.ts";
import { createAgent, MemoryAuditSink, newToken } from "${base}/agent/mod.ts";
import { serveAgent } from "${base}/agent/deno.ts";

function check(ok: unknown, what: string): void {
  if (!ok) throw new Error("URL import check failed: " + what);
}

const dir = Deno.args[0];
const orders = await SegmentIndex.create(dir, { name: "orders" });
await orders.put("o-1", "paid");
await orders.put("o-2", "open");
check(orders.get("o-1") === "paid", "get after put");

const { token, entry } = await newToken("scraper", "READ");
const app = createAgent({
  indexes: new Map([["orders", orders]]),
  security: { tokens: [entry] },
  audit: new MemoryAuditSink(),
  node: { nodeId: "url-import" },
});
const server = await serveAgent(app, { hostname: "127.0.0.1", port: 0 });
const auth = { headers: { authorization: "Bearer " + token } };

const anonymous = await fetch(server.url + "/api/v1/report");
await anonymous.body?.cancel();
check(anonymous.status === 401, "report without a token answers 401, got " + anonymous.status);
const reportResponse = await fetch(server.url + "/api/v1/report", auth);
check(reportResponse.status === 200, "report answers 200, got " + reportResponse.status);
const report = await reportResponse.json();
check(report.node.nodeId === "url-import" && report.node.runtime.name === "deno", "report names the node");
check(report.indexes.length === 1 && report.indexes[0].indexName === "orders", "report lists the index");
check(report.indexes[0].operations.puts === 2, "report counts 2 puts, got " + report.indexes[0].operations.puts);

const scrape = await fetch(server.url + "/metrics", auth);
const exposition = await scrape.text();
check(scrape.status === 200, "/metrics answers 200, got " + scrape.status);
check(exposition.includes('hestiastore_ops_put_total{index="orders"} 2\\n'), "/metrics counts 2 puts");
check(exposition.includes('hestiastore_build_info{version="' + VERSION + '"'), "/metrics has build_info");

const handler = createMetricsHandler({ indexes: () => [orders] });
const direct = await (await handler(new Request("http://localhost/metrics"))).text();
check(direct.includes('hestiastore_ops_get_total{index="orders"} 1\\n'), "the exporter alone renders the index");

await server.shutdown();
await orders.close();
const again = await SegmentIndex.open(dir);
check(again.get("o-2") === "open", "the index reopens with its data");
await again.close();
console.log("${MARKER} " + JSON.stringify({ version: VERSION, indexes: report.indexes.length }));
`;
}

interface Ran {
  code: number;
  stdout: string;
  /** stdout and stderr. */
  out: string;
}

/** Runs the Deno binary of this test in `cwd`; stdout and stderr together, colourless. */
async function deno(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    // The system store too, as npm does: a registry reached through a proxy with its own CA then works.
    // No update check: with a fresh DENO_DIR, Deno asks dl.deno.land in the background, which the proxy
    // counted as a request outside 127.0.0.1 whenever the script lived long enough for it.
    env: {
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      DENO_TLS_CA_STORE: Deno.env.get("DENO_TLS_CA_STORE") ?? "mozilla,system",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
  }).output();
  const text = new TextDecoder();
  const stdout = text.decode(output.stdout);
  // Deno's "Download <url>" progress lines only bury the error in a failure message.
  const stderr = text.decode(output.stderr).split("\n").filter((line) => !line.startsWith("Download ")).join(
    "\n",
  );
  return { code: output.code, stdout, out: stdout + stderr };
}

Deno.test({
  name: "imports by URL: engine, exporters and agent from a local HTTP server, npm packages from the cache",
  // The file server and the proxy live across the steps.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const { server, requests } = serveRepository();
    const proxy = trapProxy();
    const port = server.addr.port;
    const origin = `http://127.0.0.1:${port}`;
    mkdirSync(join(ROOT, "out"), { recursive: true });
    const project = mkdtempSync(join(ROOT, "out/url-import-"));
    const runFlags = [
      `--allow-import=127.0.0.1:${port}`,
      "--allow-read=.",
      "--allow-write=data",
      "--allow-net=127.0.0.1",
      "--allow-sys=hostname",
    ];
    // Every request but those to 127.0.0.1 goes to the proxy, which refuses it.
    const proxyUrl = `http://127.0.0.1:${(proxy.listener.addr as Deno.NetAddr).port}`;
    const offline = {
      HTTP_PROXY: proxyUrl,
      HTTPS_PROXY: proxyUrl,
      http_proxy: proxyUrl,
      https_proxy: proxyUrl,
      NO_PROXY: "127.0.0.1",
      no_proxy: "127.0.0.1",
    };
    try {
      const importMap = documentedImportMap();
      writeFileSync(join(project, "deno.json"), JSON.stringify(importMap, null, 2) + "\n");

      const ok = await t.step("the documented import map pins every bare specifier to package.json", () => {
        const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
        const pinned: Record<string, string> = { ...pkg.dependencies, ...pkg.devDependencies };
        const specifiers = bareSpecifiers();
        assert(specifiers.includes("hono") && specifiers.includes("zod"), `graph: ${specifiers}`);
        for (const specifier of specifiers) {
          const target = mapped(importMap.imports, specifier);
          assert(target !== undefined, `${DOC}: the import map does not map "${specifier}"`);
          const match = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)@([^/]+)/.exec(target);
          assert(match, `${DOC}: "${specifier}" maps to ${target}, not to a pinned npm: specifier`);
          assertEquals(
            match[2],
            pinned[match[1]],
            `${DOC}: "${specifier}" pins ${match[1]}@${match[2]}, package.json has ${pinned[match[1]]}`,
          );
        }
      });

      const filled = ok && await t.step("deno install fills the npm cache from the import map", async () => {
        const ran = await deno(project, ["install"]);
        assertEquals(
          ran.code,
          0,
          `deno install (npm packages of the import map) exited ${ran.code}; the npm registry must be ` +
            `reachable once, or the packages already in Deno's cache:\n${ran.out}`,
        );
        assertEquals(
          requests,
          [],
          "deno install fetched modules of the local server; it should cache npm only",
        );
      });

      writeFileSync(join(project, "main.ts"), script(origin));
      const ran = filled &&
        await t.step("a script imports them by URL, serves the agent and scrapes it", async () => {
          const before = proxy.attempts();
          const run = await deno(project, [
            "run",
            ...runFlags,
            `--reload=${origin}/`,
            "main.ts",
            "data/first",
          ], offline);
          const refused = proxy.attempts() - before;
          assertEquals(
            refused,
            0,
            `the URL-import script tried to reach hosts other than 127.0.0.1 (${refused} connection(s) refused): ` +
              `a package of the import map is not in Deno's npm cache, or a module is not served locally:\n${run.out}`,
          );
          assertEquals(run.code, 0, `the URL-import script exited ${run.code}:\n${run.out}`);
          assert(run.out.includes(MARKER), `the URL-import script did not print ${MARKER}:\n${run.out}`);
          for (const entry of ENTRIES) {
            assert(requests.includes(`/${entry}`), `${entry} was not fetched from ${origin}: ${requests}`);
          }
          const outside = requests.filter((path) =>
            !MODULE_FOLDERS.some((folder) => path.startsWith(folder))
          );
          assertEquals(outside, [], "the script fetched files outside engine/, exporters/ and agent/");
          const lock = JSON.parse(readFileSync(join(project, "deno.lock"), "utf8"));
          assert(lock.remote?.[`${origin}/engine/mod.ts`], "deno.lock does not record the engine's URL");
          for (const [key, target] of Object.entries(importMap.imports)) {
            if (key.endsWith("/")) continue;
            assert(lock.specifiers?.[target], `deno.lock does not record ${target}`);
          }
        });

      ran && await t.step("the same script runs from the cache alone with --cached-only", async () => {
        const served = requests.length;
        const before = proxy.attempts();
        const run = await deno(
          project,
          ["run", "--cached-only", ...runFlags, "main.ts", "data/second"],
          offline,
        );
        assertEquals(run.code, 0, `the URL-import script with --cached-only exited ${run.code}:\n${run.out}`);
        assert(
          run.out.includes(MARKER),
          `the script with --cached-only did not print ${MARKER}:\n${run.out}`,
        );
        assertEquals(requests.slice(served), [], "the --cached-only run fetched from the local server");
        assertEquals(proxy.attempts() - before, 0, "the --cached-only run made requests outside 127.0.0.1");
      });
    } finally {
      await removeCachedOrigin(port);
      await server.shutdown();
      proxy.listener.close();
      rmSync(project, { recursive: true, force: true });
    }
  },
});

/** Removes what Deno cached of `http://127.0.0.1:port` (remote sources and emitted JS). */
async function removeCachedOrigin(port: number): Promise<void> {
  const info = await deno(ROOT, ["info", "--json"]);
  if (info.code !== 0) return;
  const dirs = JSON.parse(info.stdout) as { modulesCache?: string; typescriptCache?: string };
  for (const cache of [dirs.modulesCache, dirs.typescriptCache]) {
    if (!cache) continue;
    const folder = join(cache, "http", `127.0.0.1_PORT${port}`);
    if (existsSync(folder)) rmSync(folder, { recursive: true, force: true });
  }
}
