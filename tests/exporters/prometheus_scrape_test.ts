/**
 * Stage B gate: a real Prometheus 2.42 (Debian `prometheus`) scrapes a
 * running exporter on loopback. The test serves `createMetricsHandler` over
 * two real indexes, starts Prometheus with a temporary config and data folder
 * under `out/` on a port reserved by bind-and-release, and checks what
 * Prometheus itself reports: the target is up, `rate()` of the put counter
 * has one series per index once the test writes, the counter's metadata was
 * ingested, and the scrapes negotiated OpenMetrics. Prometheus is lenient
 * (ecosystem.md §1.4), so this proves ingestion, not conformance; promtool
 * and the strict Python parsers check the format elsewhere.
 *
 * Waits are bounded in tries and seconds and generous (targets appear about
 * 5 s after start); nothing here is timed against a budget.
 *
 *   npx -y deno@2.9.6 test -A tests/exporters/prometheus_scrape_test.ts
 *   node --import tsx --test tests/exporters/prometheus_scrape_test.ts
 *
 * @module
 */
import { assert, assertEquals, fail } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import process from "node:process";
import { MemoryFileSystem, SegmentIndex } from "../../engine/mod.ts";
import { createMetricsHandler } from "../../exporters/mod.ts";

const PROMETHEUS = "/usr/bin/prometheus";
const JOB = "hestiastore";
const INDEX_NAMES = ["alpha", "beta"];
const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
/** Interval of every poll; each poll has its own bound on tries. */
const POLL_MS = 500;

/** One request the exporter answered, as Prometheus sent it and as we replied. */
interface Scrape {
  path: string;
  accept: string;
  userAgent: string;
  status: number;
  contentType: string;
}

/** Resolves after `ms`; the timer is always cleared, so no test leaks it. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`, or `undefined` after `ms` (clearing the timer either way). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A free loopback port: bind port 0, read what the kernel gave, release it. */
function reservePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Builds a web `Request` from a `node:http` request (the exporter's handler is fetch-style). */
function toRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return new Request(`http://127.0.0.1${req.url ?? "/"}`, { method: req.method, headers });
}

/**
 * Serves `handler` on 127.0.0.1 through `node:http`, which both runtimes
 * provide, and records every exchange in `scrapes`.
 */
function serve(
  handler: (request: Request) => Promise<Response>,
  scrapes: Scrape[],
): Promise<{ server: Server; port: number }> {
  const server = createServer(async (req, res) => {
    try {
      const response = await handler(toRequest(req));
      const body = new Uint8Array(await response.arrayBuffer());
      scrapes.push({
        path: req.url ?? "",
        accept: req.headers.accept ?? "",
        userAgent: req.headers["user-agent"] ?? "",
        status: response.status,
        contentType: response.headers.get("content-type") ?? "",
      });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(body);
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(e));
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

/** Stops Prometheus by its PID: SIGTERM, then SIGKILL if it has not exited within 10 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<true>((resolve) => child.once("exit", () => resolve(true)));
  process.kill(child.pid, "SIGTERM");
  if (await within(exited, 10_000)) return;
  process.kill(child.pid, "SIGKILL");
  await within(exited, 10_000);
}

/** GETs a Prometheus API path and returns its `data`, or throws with what came back. */
async function api<T>(port: number, path: string): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { status: string; data: T; error?: string };
  if (body.status !== "success") throw new Error(`GET ${path}: ${body.error ?? text.slice(0, 300)}`);
  return body.data;
}

/** The Prometheus process under test, and the tail of what it logged. */
interface Running {
  child: ChildProcess;
  log: string;
}

/**
 * Polls `probe` every POLL_MS until it returns a value; fails after `tries`
 * with the last reason, or at once if Prometheus has exited.
 */
async function poll<T>(
  prometheus: Running,
  what: string,
  tries: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const { child } = prometheus;
  let reason = "";
  for (let i = 0; i < tries; i++) {
    if (child.exitCode !== null || child.signalCode !== null) {
      fail(
        `Prometheus exited (${
          child.exitCode ?? child.signalCode
        }) while waiting for ${what}:\n${prometheus.log}`,
      );
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      reason = e instanceof Error ? e.message : String(e);
    }
    await sleep(POLL_MS);
  }
  return fail(
    `Gave up waiting for ${what} after ${tries} × ${POLL_MS} ms` + (reason ? ` (last: ${reason})` : "") +
      (prometheus.log ? `\nPrometheus log:\n${prometheus.log}` : ""),
  );
}

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

function query(port: number, expr: string): Promise<{ resultType: string; result: VectorSample[] }> {
  return api(port, `/api/v1/query?query=${encodeURIComponent(expr)}`);
}

describe("Prometheus 2.42 against the exporter", () => {
  it("scrapes two indexes: up == 1, rate of puts per index, counter metadata, OpenMetrics", async () => {
    if (!existsSync(PROMETHEUS)) {
      fail(
        `${PROMETHEUS} is missing. Install Prometheus 2.42 (as root): ` +
          "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus",
      );
    }
    mkdirSync(`${ROOT}out`, { recursive: true });
    const dir = mkdtempSync(`${ROOT}out/prometheus-scrape-`);
    const fs = new MemoryFileSystem();
    const indexes: SegmentIndex<string, string>[] = [];
    const scrapes: Scrape[] = [];
    let exporter: Server | undefined;
    let prometheus: Running | undefined;
    let writing = false;
    let writer: Promise<void> = Promise.resolve();
    let passed = false;
    try {
      for (const name of INDEX_NAMES) indexes.push(await SegmentIndex.create(`/db/${name}`, { fs, name }));
      const handler = createMetricsHandler({ indexes: () => indexes });
      const served = await serve(handler, scrapes);
      exporter = served.server;

      const port = await reservePort();
      writeFileSync(
        `${dir}/prometheus.yml`,
        [
          "global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }",
          "scrape_configs:",
          `  - job_name: ${JOB}`,
          "    metrics_path: /metrics",
          `    static_configs: [ { targets: ['127.0.0.1:${served.port}'] } ]`,
          "",
        ].join("\n"),
      );
      const child = spawn(PROMETHEUS, [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ], { stdio: ["ignore", "pipe", "pipe"] });
      const running: Running = { child, log: "" };
      prometheus = running;
      const keep = (chunk: Buffer) => running.log = (running.log + chunk.toString()).slice(-4000);
      child.stdout?.on("data", keep);
      child.stderr?.on("data", keep);
      const spawned = new Promise<void>((resolve, reject) => {
        child.once("spawn", () => resolve());
        child.once("error", reject);
      });
      await spawned;

      await poll(running, "Prometheus /-/ready", 60, async () => {
        const response = await fetch(`http://127.0.0.1:${port}/-/ready`);
        await response.body?.cancel();
        return response.ok ? true : undefined;
      });

      let targetState = "no active target yet";
      await poll(running, "the target to be up", 60, async () => {
        const data = await api<{
          activeTargets: { labels: Record<string, string>; health: string; lastError: string }[];
        }>(port, "/api/v1/targets");
        const target = data.activeTargets.find((t) => t.labels.job === JOB);
        if (target) targetState = `health ${target.health}, lastError "${target.lastError}"`;
        if (target?.health === "up" && target.lastError === "") return true;
        throw new Error(targetState);
      });

      const up = await poll(running, `up{job="${JOB}"} == 1`, 20, async () => {
        const { result } = await query(port, `up{job="${JOB}"} == 1`);
        return result.length > 0 ? result : undefined;
      });
      assertEquals(up.length, 1);
      assertEquals(up[0].value[1], "1");

      // Write to both indexes for as long as the rate query needs: rate() wants two scrapes with a difference.
      writing = true;
      writer = (async () => {
        for (let n = 0; writing; n++) {
          for (const index of indexes) await index.put(`key-${n % 1000}`, `value-${n}`);
          await sleep(10);
        }
      })();

      const rates = await poll(
        running,
        "rate(hestiastore_ops_put_total[1m]) > 0 for both indexes",
        60,
        async () => {
          const { result } = await query(port, `rate(hestiastore_ops_put_total{job="${JOB}"}[1m])`);
          const positive = result.filter((s) => Number(s.value[1]) > 0);
          if (positive.length === INDEX_NAMES.length) return result;
          throw new Error(`got ${JSON.stringify(result.map((s) => [s.metric.index, s.value[1]]))}`);
        },
      );
      assertEquals(rates.map((s) => s.metric.index).sort(), INDEX_NAMES);
      for (const s of rates) {
        assertEquals(Object.keys(s.metric).sort(), ["index", "instance", "job"], JSON.stringify(s.metric));
      }

      // OpenMetrics names the family without `_total`, 0.0.4 with it; either way Prometheus must know a counter.
      const metadata = await poll(running, "metadata of the put counter", 20, async () => {
        const data = await api<Record<string, { type: string; help: string; unit: string }[]>>(
          port,
          "/api/v1/metadata?metric=hestiastore_ops_put",
        );
        const more = await api<Record<string, { type: string; help: string; unit: string }[]>>(
          port,
          "/api/v1/metadata?metric=hestiastore_ops_put_total",
        );
        const entries = [...(data.hestiastore_ops_put ?? []), ...(more.hestiastore_ops_put_total ?? [])];
        return entries.length > 0 ? entries : undefined;
      });
      assert(
        metadata.every((m) => m.type === "counter"),
        `metadata of hestiastore_ops_put: ${JSON.stringify(metadata)}`,
      );

      const fromPrometheus = scrapes.filter((s) => s.userAgent.startsWith("Prometheus/"));
      assert(fromPrometheus.length >= 2, `Prometheus scraped ${fromPrometheus.length} time(s)`);
      for (const s of fromPrometheus) {
        assertEquals(s.path, "/metrics");
        assertEquals(s.status, 200);
        assert(s.accept.includes("application/openmetrics-text"), `Prometheus sent Accept: ${s.accept}`);
        assert(
          s.contentType.startsWith("application/openmetrics-text; version=1.0.0"),
          `Prometheus offered OpenMetrics (${s.accept}) and got Content-Type: ${s.contentType}`,
        );
      }
      passed = true;
    } finally {
      writing = false;
      await writer;
      if (prometheus) await stop(prometheus.child);
      if (exporter) {
        exporter.closeAllConnections();
        await new Promise<void>((resolve) => exporter!.close(() => resolve()));
      }
      for (const index of indexes) await index.close();
      // A failed run keeps its config and data for a look; a passing one leaves nothing behind.
      if (passed) rmSync(dir, { recursive: true, force: true });
      else console.error(`Prometheus config and data kept in ${dir}`);
    }
  });
});
