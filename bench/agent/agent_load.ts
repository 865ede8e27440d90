/**
 * The management agent under a bounded loopback load (Stage C, reported,
 * not gated): requests per second and latency percentiles of
 * `GET /api/v1/report` and `GET /metrics` through the real adapter of the
 * runtime running this file (`Deno.serve`, or `@hono/node-server` on Node),
 * and whether the rate limiter holds its rate while one token hammers
 * `POST /api/v1/actions/flush`.
 *
 * The client runs in the same process: `--concurrency` loops, each sending
 * its next request when the previous answer has been read, with keep-alive
 * connections. Client and server share one event loop, so the figures are
 * what one process can push through loopback, client cost included; they
 * are a floor for a separate client, not a prediction for one. The agent
 * serves two in-memory indexes of `--keys` keys each, read with a READ token
 * (so every request is authenticated), and keeps its audit trail in memory.
 *
 *   deno run -A bench/agent/agent_load.ts [--seconds 6] [--concurrency 16] [--keys 10000] [--out FILE]
 *   node --import tsx bench/agent/agent_load.ts
 *
 * About 20 s: each endpoint for `--seconds` after a 1 s warm-up, then the
 * limiter for 4 s. Writes bench/results/agent-load-<runtime>.json unless
 * `--out` says otherwise.
 *
 * @module
 */
import { availableParallelism, loadavg } from "node:os";
import { arg, keyOf, RUNTIME, writeResult } from "../_common.ts";
import { createAgent, MemoryAuditSink, newToken, type RateLimitOptions } from "../../agent/mod.ts";
import { ACTION_FLUSH, METRICS, REPORT } from "../../agent/api/mod.ts";
import { MemoryFileSystem, SegmentIndex } from "../../engine/mod.ts";

const { serveAgent } = "Deno" in globalThis
  ? await import("../../agent/deno.ts")
  : await import("../../agent/node.ts");

/** One endpoint under load. */
export interface EndpointLoad {
  name: string;
  path: string;
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers other than 200; a sound run has none. */
  failures: number;
  /** Bytes of one answer. */
  bodyBytes: number;
}

/** The limiter while one token sends mutating calls as fast as the agent answers. */
export interface LimiterLoad {
  policy: RateLimitOptions;
  seconds: number;
  concurrency: number;
  /** Answered 200 (the flush ran), 429 (refused), anything else. */
  allowed: number;
  refused: number;
  other: number;
  /** The most the policy allows in the window: the burst plus the refill over the measured time. */
  allowedBound: number;
  /** Allowed after the burst, per second: the refill rate the limiter held. */
  sustainedPerSecond: number;
}

/** What this benchmark writes. */
export interface AgentLoadResult {
  benchmark: "agent-load";
  runtime: string;
  runtimeVersion: string;
  date: string;
  concurrency: number;
  keysPerIndex: number;
  /** Cores, and the one-minute load average when the run started and ended. */
  cores: number;
  loadAverage: [number, number];
  endpoints: EndpointLoad[];
  limiter: LimiterLoad;
}

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const SECONDS = Number(arg("seconds", "6"));
const CONCURRENCY = Number(arg("concurrency", "16"));
const KEYS = Number(arg("keys", "10000"));
const LIMITER_SECONDS = 4;
const LIMITER_POLICY: RateLimitOptions = { capacity: 20, refillPerSecond: 10 };

/** The value at quantile `q` of sorted `values`, nearest rank. */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** `concurrency` loops calling `send` until `seconds` have passed; the latency of each call, in ms. */
async function drive(
  seconds: number,
  concurrency: number,
  send: () => Promise<void>,
): Promise<{ latencies: number[]; elapsed: number }> {
  const latencies: number[] = [];
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await send();
      latencies.push(performance.now() - t0);
    }
  }));
  return { latencies, elapsed: (performance.now() - started) / 1000 };
}

async function loadEndpoint(name: string, url: string, headers: HeadersInit): Promise<EndpointLoad> {
  let failures = 0;
  let bodyBytes = 0;
  const send = async () => {
    const response = await fetch(url, { headers });
    bodyBytes = (await response.arrayBuffer()).byteLength;
    if (response.status !== 200) failures++;
  };
  // Warm up the connections and the code paths first.
  await drive(1, CONCURRENCY, send);
  failures = 0;
  const { latencies, elapsed } = await drive(SECONDS, CONCURRENCY, send);
  latencies.sort((a, b) => a - b);
  const ms = (value: number) => Number(value.toFixed(3));
  const result: EndpointLoad = {
    name,
    path: new URL(url).pathname,
    requests: latencies.length,
    seconds: Number(elapsed.toFixed(3)),
    requestsPerSecond: Math.round(latencies.length / elapsed),
    p50Ms: ms(quantile(latencies, 0.5)),
    p99Ms: ms(quantile(latencies, 0.99)),
    maxMs: ms(latencies.at(-1)!),
    failures,
    bodyBytes,
  };
  console.log(
    `${name.padEnd(24)} ${result.requestsPerSecond} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ` +
      `${failures} failures, ${bodyBytes} bytes`,
  );
  return result;
}

async function loadLimiter(url: string, token: string): Promise<LimiterLoad> {
  const counts = { allowed: 0, refused: 0, other: 0 };
  let n = 0;
  let firstAt: number | undefined;
  let lastAt = 0;
  const send = async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ requestId: `load-${n++}`, indexName: "index-1" }),
    });
    await response.arrayBuffer();
    const now = performance.now();
    if (response.status === 200) {
      counts.allowed++;
      firstAt ??= now;
      lastAt = now;
    } else if (response.status === 429) counts.refused++;
    else counts.other++;
  };
  const { elapsed } = await drive(LIMITER_SECONDS, CONCURRENCY, send);
  const { capacity, refillPerSecond } = LIMITER_POLICY;
  // The bucket starts full; after it, only the refill gets through.
  const sustainedSeconds = firstAt === undefined ? 0 : (lastAt - firstAt) / 1000;
  const result: LimiterLoad = {
    policy: LIMITER_POLICY,
    seconds: Number(elapsed.toFixed(3)),
    concurrency: CONCURRENCY,
    ...counts,
    allowedBound: Math.floor(capacity + refillPerSecond * elapsed),
    sustainedPerSecond: Number(
      (sustainedSeconds > 0 ? (counts.allowed - capacity) / sustainedSeconds : 0).toFixed(2),
    ),
  };
  console.log(
    `limiter (${capacity} at once, ${refillPerSecond}/s): ${counts.allowed} allowed (bound ${result.allowedBound}), ` +
      `${counts.refused} refused, ${counts.other} other; ${result.sustainedPerSecond}/s after the burst`,
  );
  return result;
}

async function main(): Promise<AgentLoadResult> {
  const loadAtStart = loadavg()[0];
  const fs = new MemoryFileSystem();
  const indexes = new Map<string, SegmentIndex>();
  for (const name of ["index-1", "index-2"]) {
    const index = await SegmentIndex.create(`/data/${name}`, { fs, name });
    for (let i = 0; i < KEYS; i += 1000) {
      await index.batch(
        Array.from(
          { length: 1000 },
          (_, j) => ({ type: "put" as const, key: keyOf(i + j), value: "v".repeat(100) }),
        ),
      );
    }
    await index.flush();
    for (let i = 0; i < 1000; i++) index.get(keyOf(i * 7));
    indexes.set(name, index);
  }
  const reader = await newToken("bench-reader", "READ");
  const operator = await newToken("bench-ops", "OPERATE");
  const app = createAgent({
    indexes,
    security: { tokens: [reader.entry, operator.entry], rateLimit: LIMITER_POLICY },
    audit: new MemoryAuditSink(),
    node: { nodeId: "bench" },
  });
  const server = await serveAgent(app, { port: 0 });
  try {
    const auth = { Authorization: `Bearer ${reader.token}` };
    const endpoints = [
      await loadEndpoint("GET /api/v1/report", `${server.url}${REPORT}`, auth),
      await loadEndpoint("GET /metrics", `${server.url}${METRICS}`, auth),
    ];
    const limiter = await loadLimiter(`${server.url}${ACTION_FLUSH}`, operator.token);
    return {
      benchmark: "agent-load",
      runtime: RUNTIME.name,
      runtimeVersion: RUNTIME.version,
      date: new Date().toISOString(),
      concurrency: CONCURRENCY,
      keysPerIndex: KEYS,
      cores: availableParallelism(),
      loadAverage: [Number(loadAtStart.toFixed(2)), Number(loadavg()[0].toFixed(2))],
      endpoints,
      limiter,
    };
  } finally {
    await server.shutdown();
    for (const index of indexes.values()) await index.close();
  }
}

writeResult(arg("out", `${ROOT}bench/results/agent-load-${RUNTIME.name}.json`), await main());
