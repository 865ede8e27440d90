/**
 * What the exporter costs the engine (Stage B, reported, not gated): get and
 * put throughput on one index in three modes, each in a fresh process:
 *
 * - `none`: the exporter module is never imported;
 * - `idle`: a handler is created over the index and never called;
 * - `scrape100ms`: a timer calls the handler every 100 ms and reads the
 *   body (OpenMetrics, as Prometheus asks for it); the scrapes that actually
 *   ran are counted, since a busy event loop delays timers.
 *
 * The parent builds one index of `--keys` keys (default 200,000; 16-byte
 * keys, 100-byte values) on disk, once. Each process copies its files into a
 * `MemoryFileSystem`, so every process starts from the same state and disk
 * noise stays out, and opens it with the default options (metrics recorded
 * as users run them, write-ahead log with group commit). It runs random
 * gets of existing keys, then random overwrites, each for `--seconds` after
 * a warm-up of half a second. The workload yields to the event loop every
 * 256 operations, as a server does between requests; without that no
 * timer, and so no scrape, could run. Throughput is reported per wall-clock
 * second and per CPU second of the process, which other work on a shared
 * machine disturbs less. The parent runs `--rounds` rounds with the modes
 * in a rotating order and reports medians.
 *
 *   deno run -A bench/exporters/exporter_overhead.ts [--rounds 4] [--seconds 1.5] [--out FILE]
 *   node --import tsx bench/exporters/exporter_overhead.ts [--rounds 4] [--seconds 1.5] [--out FILE]
 *
 * Children run on the parent's runtime; the result goes to
 * bench/results/exporter-overhead-<runtime>.json unless `--out` says otherwise.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import process from "node:process";
import { setImmediate } from "node:timers";
import { arg, keyOf, median, RUNTIME, writeResult } from "../_common.ts";
import { type FileSystem, MemoryFileSystem, NodeFileSystem, SegmentIndex } from "../../engine/mod.ts";

export type Mode = "none" | "idle" | "scrape100ms";
const MODES: readonly Mode[] = ["none", "idle", "scrape100ms"];

/** Throughput of one phase in one process. */
interface Phase {
  ops: number;
  seconds: number;
  cpuSeconds: number;
  opsPerSecond: number;
  opsPerCpuSecond: number;
  /** Scrapes that ran during the phase, and how many a 100 ms timer would have run in its time. */
  scrapes: number;
  expectedScrapes: number;
}

/** What one child process prints (one JSON line). */
interface ChildResult {
  mode: Mode;
  get: Phase;
  put: Phase;
  scrape: { ran: number; meanMs: number; maxMs: number; bodyBytes: number };
}

/** One mode across all rounds. */
export interface ModeResult {
  mode: Mode;
  getsPerSecond: number[];
  putsPerSecond: number[];
  medianGetsPerSecond: number;
  medianPutsPerSecond: number;
  /** Change of the median against `none`, percent (negative: slower). */
  getChangePercent: number;
  putChangePercent: number;
  /** The same per CPU second of the process. */
  getsPerCpuSecond: number[];
  putsPerCpuSecond: number[];
  getCpuChangePercent: number;
  putCpuChangePercent: number;
  /** Per round: scrapes that ran during the measured phases, and how many the timer was due. */
  scrapesRan: number[];
  scrapesExpected: number[];
  meanScrapeMs: number;
  scrapeBodyBytes: number;
}

/** What the parent writes. */
export interface ExporterOverheadResult {
  benchmark: "exporter-overhead";
  runtime: string;
  runtimeVersion: string;
  date: string;
  keys: number;
  valueBytes: number;
  secondsPerPhase: number;
  rounds: number;
  fileSystem: "MemoryFileSystem";
  /** Cores, and the one-minute load average when the run started and ended: other work skews wall-clock figures. */
  cores: number;
  loadAverage: [number, number];
  modes: ModeResult[];
}

const KEYS = Number(arg("keys", "200000"));
const SECONDS = Number(arg("seconds", "1.5"));
const ROUNDS = Number(arg("rounds", "4"));
const VALUE = "v".repeat(100);
/** Operations between two yields to the event loop. */
const SLICE = 256;
const SCRAPE_MS = 100;
/** What Prometheus 2.42 sends (ecosystem.md §1.3). */
const PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;" +
  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const SELF = decodeURIComponent(new URL(import.meta.url).pathname);
const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

/** A seeded order of `count` key numbers below `n` (xorshift32). */
function order(n: number, count: number, seed: number): string[] {
  const out: string[] = [];
  let s = seed;
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out.push(keyOf(2 * ((s >>> 0) % n)));
  }
  return out;
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Builds the index once on disk: `KEYS` keys in batches of 10,000, flushed and compacted. */
async function build(dir: string): Promise<void> {
  const index = await SegmentIndex.create<string, string>(dir, { name: "bench" });
  for (let i = 0; i < KEYS; i += 10_000) {
    const ops = [];
    for (let j = i; j < Math.min(KEYS, i + 10_000); j++) {
      ops.push({ type: "put" as const, key: keyOf(2 * j), value: VALUE });
    }
    await index.batch(ops);
  }
  await index.flush();
  await index.compact();
  await index.close();
}

/** Copies the tree `fromDir` of `from` to `toDir` of `to`, through the engine's file-system interface. */
async function copyTree(from: FileSystem, fromDir: string, to: FileSystem, toDir: string): Promise<void> {
  to.mkdir(toDir);
  for (const name of from.list(fromDir)) {
    if (from.stat(`${fromDir}/${name}`)?.kind === "directory") {
      await copyTree(from, `${fromDir}/${name}`, to, `${toDir}/${name}`);
      continue;
    }
    const file = to.open(`${toDir}/${name}`, "create");
    file.append(from.readFile(`${fromDir}/${name}`));
    await file.sync();
    file.close();
  }
  await to.syncDir(toDir);
}

/** One process: load the built index into memory, optionally start the exporter, measure gets and puts. */
async function child(mode: Mode, data: string): Promise<ChildResult> {
  // Imported before the index is loaded, as an application would at startup, so the garbage of loading
  // (and, under tsx, compiling) the module is collected before anything is measured.
  const exporter = mode === "none" ? undefined : await import("../../exporters/mod.ts");
  const fs = new MemoryFileSystem();
  await copyTree(new NodeFileSystem(), data, fs, "/db/bench");
  const index = await SegmentIndex.open<string, string>("/db/bench", { fs });

  const scrape = { ran: 0, totalMs: 0, maxMs: 0, bodyBytes: 0 };
  let failure: unknown;
  let timer: ReturnType<typeof setInterval> | undefined;
  // Held so the idle handler stays reachable for the whole run, as an application would hold it.
  const handler = exporter?.createMetricsHandler({ indexes: () => [index] });
  if (mode === "scrape100ms") {
    let busy = false;
    timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      const started = performance.now();
      try {
        const response = await handler!(
          new Request("http://127.0.0.1/metrics", { headers: { accept: PROMETHEUS_ACCEPT } }),
        );
        scrape.bodyBytes = (await response.arrayBuffer()).byteLength;
        const ms = performance.now() - started;
        scrape.ran++;
        scrape.totalMs += ms;
        scrape.maxMs = Math.max(scrape.maxMs, ms);
      } catch (e) {
        failure ??= e;
      } finally {
        busy = false;
      }
    }, SCRAPE_MS);
  }

  const gets = order(KEYS, 1 << 18, 0x9e3779b9);
  const puts = order(KEYS, 1 << 18, 0x85ebca6b);
  const mask = (1 << 18) - 1;
  let cursor = 0;
  const getSlice = () => {
    for (let j = 0; j < SLICE; j++) {
      if (index.get(gets[cursor++ & mask]) === undefined) throw new Error("missing key");
    }
  };
  const putSlice = async () => {
    let last: Promise<void> | undefined;
    for (let j = 0; j < SLICE; j++) last = index.put(puts[cursor++ & mask], VALUE);
    await last;
  };
  /** Runs slices for `seconds`, yielding between them; counts the scrapes that ran meanwhile. */
  const drive = async (seconds: number, slice: () => void | Promise<void>): Promise<Phase> => {
    const scrapesBefore = scrape.ran;
    let ops = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    const deadline = started + seconds * 1000;
    while (performance.now() < deadline) {
      await slice();
      ops += SLICE;
      await yieldToLoop();
    }
    const elapsed = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    return {
      ops,
      seconds: elapsed,
      cpuSeconds,
      opsPerSecond: ops / elapsed,
      opsPerCpuSecond: ops / cpuSeconds,
      scrapes: scrape.ran - scrapesBefore,
      expectedScrapes: Math.floor(elapsed * 1000 / SCRAPE_MS),
    };
  };

  // Gets first, each phase after its own warm-up: puts leave flushes and compactions behind that would run
  // during a later get phase.
  await drive(0.5, getSlice);
  const get = await drive(SECONDS, getSlice);
  await drive(0.5, putSlice);
  const put = await drive(SECONDS, putSlice);
  clearInterval(timer);
  await index.close();
  if (failure) throw failure;
  return {
    mode,
    get,
    put,
    scrape: {
      ran: scrape.ran,
      meanMs: scrape.ran ? scrape.totalMs / scrape.ran : 0,
      maxMs: scrape.maxMs,
      bodyBytes: scrape.bodyBytes,
    },
  };
}

/** Runs one mode in a fresh process of this runtime and parses its JSON line. */
function spawnChild(mode: Mode, data: string): ChildResult {
  const runtimeArgs = RUNTIME.name === "deno" ? ["run", "-A", SELF] : ["--import", "tsx", SELF];
  const args = [
    ...runtimeArgs,
    "--mode",
    mode,
    "--data",
    data,
    "--keys",
    String(KEYS),
    "--seconds",
    String(SECONDS),
  ];
  const run = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (run.status !== 0) {
    throw new Error(`${mode} child exited with ${run.status ?? run.signal}:\n${run.stdout}`);
  }
  const line = run.stdout.trim().split("\n").pop()!;
  return JSON.parse(line) as ChildResult;
}

/** The change of `value` against `base`, percent, two decimals. */
function change(value: number, base: number): number {
  return Number(((value / base - 1) * 100).toFixed(2));
}

/** Runs every round, then summarizes each mode against `none`. */
async function parent(): Promise<ExporterOverheadResult> {
  const loadAtStart = loadavg()[0];
  const root = mkdtempSync(`${tmpdir()}/hestia-exporter-overhead-`);
  const byMode = new Map<Mode, ChildResult[]>(MODES.map((m) => [m, []]));
  try {
    await build(`${root}/bench`);
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order, so no mode always runs first (or right after the same neighbour).
      const modes = MODES.map((_, i) => MODES[(i + round) % MODES.length]);
      for (const mode of modes) {
        const r = spawnChild(mode, `${root}/bench`);
        byMode.get(mode)!.push(r);
        console.log(
          `round ${round + 1}/${ROUNDS} ${mode.padEnd(11)} get ${Math.round(r.get.opsPerSecond)}/s ` +
            `(${Math.round(r.get.opsPerCpuSecond)}/cpu-s), put ${Math.round(r.put.opsPerSecond)}/s ` +
            `(${Math.round(r.put.opsPerCpuSecond)}/cpu-s), scrapes ${r.get.scrapes + r.put.scrapes}/` +
            `${r.get.expectedScrapes + r.put.expectedScrapes}`,
        );
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const base = byMode.get("none")!;
  const baseGet = median(base.map((r) => Math.round(r.get.opsPerSecond)));
  const basePut = median(base.map((r) => Math.round(r.put.opsPerSecond)));
  const baseCpuGet = median(base.map((r) => Math.round(r.get.opsPerCpuSecond)));
  const baseCpuPut = median(base.map((r) => Math.round(r.put.opsPerCpuSecond)));
  const modes: ModeResult[] = MODES.map((mode) => {
    const runs = byMode.get(mode)!;
    const getsPerSecond = runs.map((r) => Math.round(r.get.opsPerSecond));
    const putsPerSecond = runs.map((r) => Math.round(r.put.opsPerSecond));
    const getsPerCpuSecond = runs.map((r) => Math.round(r.get.opsPerCpuSecond));
    const putsPerCpuSecond = runs.map((r) => Math.round(r.put.opsPerCpuSecond));
    const ran = runs.reduce((n, r) => n + r.scrape.ran, 0);
    return {
      mode,
      getsPerSecond,
      putsPerSecond,
      medianGetsPerSecond: median(getsPerSecond),
      medianPutsPerSecond: median(putsPerSecond),
      getChangePercent: change(median(getsPerSecond), baseGet),
      putChangePercent: change(median(putsPerSecond), basePut),
      getsPerCpuSecond,
      putsPerCpuSecond,
      getCpuChangePercent: change(median(getsPerCpuSecond), baseCpuGet),
      putCpuChangePercent: change(median(putsPerCpuSecond), baseCpuPut),
      scrapesRan: runs.map((r) => r.get.scrapes + r.put.scrapes),
      scrapesExpected: runs.map((r) => r.get.expectedScrapes + r.put.expectedScrapes),
      meanScrapeMs: ran
        ? Number((runs.reduce((t, r) => t + r.scrape.meanMs * r.scrape.ran, 0) / ran).toFixed(3))
        : 0,
      scrapeBodyBytes: runs.at(-1)!.scrape.bodyBytes,
    };
  });
  for (const m of modes) {
    console.log(
      `${m.mode.padEnd(11)} median get ${m.medianGetsPerSecond}/s (${m.getChangePercent}%, cpu ` +
        `${m.getCpuChangePercent}%), put ${m.medianPutsPerSecond}/s (${m.putChangePercent}%, cpu ` +
        `${m.putCpuChangePercent}%)`,
    );
  }
  return {
    benchmark: "exporter-overhead",
    runtime: RUNTIME.name,
    runtimeVersion: RUNTIME.version,
    date: new Date().toISOString(),
    keys: KEYS,
    valueBytes: VALUE.length,
    secondsPerPhase: SECONDS,
    rounds: ROUNDS,
    fileSystem: "MemoryFileSystem",
    cores: availableParallelism(),
    loadAverage: [Number(loadAtStart.toFixed(2)), Number(loadavg()[0].toFixed(2))],
    modes,
  };
}

const MODE = arg("mode", "");
if (MODE === "") {
  writeResult(arg("out", `${ROOT}bench/results/exporter-overhead-${RUNTIME.name}.json`), await parent());
} else {
  if (!MODES.includes(MODE as Mode)) {
    throw new RangeError(`--mode must be one of ${MODES.join(", ")}, got ${MODE}`);
  }
  console.log(JSON.stringify(await child(MODE as Mode, arg("data", ""))));
}
