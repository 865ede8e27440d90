/**
 * Regenerates the tables of docs/benchmarks.md from the JSON results under
 * bench/results/: everything between the markers `<!-- results:begin -->`
 * and `<!-- results:end -->` (engine), `<!-- wal:begin -->` and
 * `<!-- wal:end -->` (write-ahead log), `<!-- exporter:begin -->` and
 * `<!-- exporter:end -->` (exporter overhead and scrape cost), and
 * `<!-- agent:begin -->` and `<!-- agent:end -->` (the management agent
 * under load) is replaced.
 * The comparison with the native engines (bench/peers/harness.ts) goes
 * between `<!-- peers:begin -->` and `<!-- peers:end -->`.
 *
 *   deno task docs:bench
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import type { BenchResult } from "./engine/engine_bench.ts";
import type { WalBenchResult } from "./engine/wal_bench.ts";
import type { ExporterOverheadResult } from "./exporters/exporter_overhead.ts";
import type { ScrapeCostResult } from "./exporters/scrape_cost.ts";
import type { AgentLoadResult } from "./agent/agent_load.ts";
import type { PeersResult } from "./peers/harness.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
/** Replaces what stands between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in `doc`. */
function splice(doc: string, name: string, body: string): string {
  const begin = `<!-- ${name}:begin -->`, end = `<!-- ${name}:end -->`;
  const start = doc.indexOf(begin), stop = doc.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`The document lacks the ${begin} … ${end} markers`);
  return doc.slice(0, start + begin.length) + "\n\n" + body + "\n" + doc.slice(stop);
}

/** The markdown for the log benchmark: one column per runtime. */
export function renderWal(results: WalBenchResult[]): string {
  if (results.length === 0) return "";
  results.sort((a, b) => a.runtime.localeCompare(b.runtime));
  const out = [
    `| configuration | ${
      results.map((r) => `${r.runtime} ${r.runtimeVersion}: puts/s (fsyncs per write)`).join(" | ")
    } |`,
    `|---|${results.map(() => "---:").join("|")}|`,
  ];
  for (const name of results[0].results.map((x) => x.name)) {
    const cells = results.map((r) => {
      const c = r.results.find((x) => x.name === name);
      return c ? `${fmt(c.putsPerSecond)} (${c.fsyncsPerWrite.toFixed(3)})` : "–";
    });
    out.push(`| ${name} | ${cells.join(" | ")} |`);
  }
  out.push(
    "",
    `Each case runs ${results[0].secondsPerCase} s on a fresh index in a temporary folder, ${
      results[0].valueBytes
    }-byte ` +
      `values; every writer awaits each put. Measured ${
        results.map((r) => r.date.slice(0, 10)).filter((d, i, a) => a.indexOf(d) === i).join(", ")
      }.`,
    "",
  );
  return out.join("\n");
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** The markdown for a set of results: one table per key count, a column per runtime. */
export function renderResults(results: BenchResult[]): string {
  const out: string[] = [];
  const byKeys = new Map<number, BenchResult[]>();
  for (const r of results) byKeys.set(r.keys, [...(byKeys.get(r.keys) ?? []), r]);
  for (const [keys, runs] of [...byKeys].sort((a, b) => a[0] - b[0])) {
    runs.sort((a, b) => a.runtime.localeCompare(b.runtime));
    out.push(`### ${fmt(keys)} keys`, "");
    out.push(
      `| operation (per second) | ${runs.map((r) => `${r.runtime} ${r.runtimeVersion}`).join(" | ")} |`,
    );
    out.push(`|---|${runs.map(() => "---:").join("|")}|`);
    for (const name of runs[0].results.map((x) => x.name)) {
      const cells = runs.map((r) => {
        const op = r.results.find((x) => x.name === name);
        if (!op) return "–";
        const p99 = op.p99Ns === undefined ? "" : ` (p99 ${(op.p99Ns / 1000).toFixed(1)} µs)`;
        return fmt(op.opsPerSecond) + p99;
      });
      out.push(`| ${name} | ${cells.join(" | ")} |`);
    }
    out.push(`| resident memory after load | ${runs.map((r) => mib(r.rssAfterLoadBytes)).join(" | ")} |`);
    out.push(`| resident memory, peak | ${runs.map((r) => mib(r.rssPeakBytes)).join(" | ")} |`);
    out.push(`| size on disk | ${runs.map((r) => mib(r.diskBytes)).join(" | ")} |`);
    out.push("");
    const r = runs[0];
    out.push(
      `Durability: ${r.durability}. Options: ${
        Object.entries(r.options).map(([k, v]) => `${k} ${fmt(v)}`).join(", ")
      }. ` +
        `Measured ${
          runs.map((x) => x.date.slice(0, 10)).filter((d, i, a) => a.indexOf(d) === i).join(", ")
        }.`,
      "",
    );
  }
  return out.join("\n");
}

function signed(percent: number): string {
  return `${percent > 0 ? "+" : percent < 0 ? "−" : "±"}${Math.abs(percent).toFixed(1)}%`;
}

/** The one-minute load averages the runs saw, against their cores: a shared machine's figures are noisy. */
function load(results: { runtime: string; cores: number; loadAverage: [number, number] }[]): string {
  return `one-minute load average ${
    results.map((r) => `${r.loadAverage[0]}–${r.loadAverage[1]} (${r.runtime})`).join(", ")
  } on ${results[0].cores} cores`;
}

function measured(results: { date: string }[]): string {
  return results.map((r) => r.date.slice(0, 10)).filter((d, i, a) => a.indexOf(d) === i).join(", ");
}

/** The markdown for the exporter: the overhead per mode and runtime, then the scrape cost per case and runtime. */
export function renderExporter(overhead: ExporterOverheadResult[], scrape: ScrapeCostResult[]): string {
  const out: string[] = [];
  if (overhead.length > 0) {
    overhead.sort((a, b) => a.runtime.localeCompare(b.runtime));
    const r0 = overhead[0];
    out.push(
      `### Get and put with and without the exporter (${fmt(r0.keys)} keys, median of ${r0.rounds} rounds)`,
      "",
      "| runtime | mode | get/s | vs none (wall / CPU) | put/s | vs none (wall / CPU) | " +
        "scrapes ran / due, per round | mean scrape |",
      "|---|---|---:|---:|---:|---:|---|---:|",
    );
    for (const r of overhead) {
      for (const m of r.modes) {
        const none = m.mode === "none";
        const scrapes = m.mode === "scrape100ms";
        const vs = (wall: number, cpu: number) => none ? "–" : `${signed(wall)} / ${signed(cpu)}`;
        out.push(
          `| ${r.runtime} ${r.runtimeVersion} | ${m.mode} | ${fmt(m.medianGetsPerSecond)} | ${
            vs(m.getChangePercent, m.getCpuChangePercent)
          } | ${fmt(m.medianPutsPerSecond)} | ${vs(m.putChangePercent, m.putCpuChangePercent)} | ${
            scrapes ? m.scrapesRan.map((n, i) => `${n}/${m.scrapesExpected[i]}`).join(", ") : "–"
          } | ${scrapes ? `${m.meanScrapeMs.toFixed(2)} ms` : "–"} |`,
        );
      }
    }
    out.push(
      "",
      "Each mode runs in a fresh process per round; the modes rotate order across rounds. " +
        `${r0.secondsPerPhase} s of gets and ${r0.secondsPerPhase} s of puts per process on a ` +
        `${r0.fileSystem}, ${r0.valueBytes}-byte values. Measured ${measured(overhead)}; ${load(overhead)}.`,
      "",
    );
  }
  if (scrape.length > 0) {
    scrape.sort((a, b) => a.runtime.localeCompare(b.runtime));
    const s0 = scrape[0];
    out.push(
      `### One scrape of ${fmt(s0.indexes)} indexes with ${
        fmt(s0.loadedSegmentsPerIndex)
      } loaded segments each`,
      "",
      `| scrape (mean, p99 in brackets) | ${
        scrape.map((r) => `${r.runtime} ${r.runtimeVersion}`).join(" | ")
      } |`,
      `|---|${scrape.map(() => "---:").join("|")}|`,
    );
    for (const name of s0.cases.map((c) => c.name)) {
      const cells = scrape.map((r) => {
        const c = r.cases.find((x) => x.name === name);
        return c ? `${c.meanMs.toFixed(2)} ms (${c.p99Ms.toFixed(2)} ms)` : "–";
      });
      out.push(`| ${name} | ${cells.join(" | ")} |`);
    }
    const bytes = (part: string) => fmt(s0.cases.find((c) => c.name.includes(part))?.bodyBytes ?? 0);
    out.push(
      "",
      `${fmt(s0.samplesPerScrape)} samples per scrape, the same in both libraries (checked before timing); ` +
        `the OpenMetrics body is ${bytes("OpenMetrics (Request")} bytes, ${bytes("gzip")} gzipped. ` +
        `Measured ${measured(scrape)}; ${load(scrape)}.`,
      "",
    );
  }
  return out.join("\n");
}

/** The markdown for the agent under load: a column per runtime, endpoints then the limiter. */
export function renderAgent(results: AgentLoadResult[]): string {
  if (results.length === 0) return "";
  results.sort((a, b) => a.runtime.localeCompare(b.runtime));
  const r0 = results[0];
  const out = [
    `| concurrency ${r0.concurrency} | ${
      results.map((r) => `${r.runtime} ${r.runtimeVersion}`).join(" | ")
    } |`,
    `|---|${results.map(() => "---:").join("|")}|`,
  ];
  for (const name of r0.endpoints.map((e) => e.name)) {
    const cells = results.map((r) => {
      const e = r.endpoints.find((x) => x.name === name);
      return e
        ? `${fmt(e.requestsPerSecond)} req/s (p50 ${e.p50Ms.toFixed(2)} ms, p99 ${e.p99Ms.toFixed(2)} ms)`
        : "–";
    });
    out.push(`| ${name} | ${cells.join(" | ")} |`);
  }
  const { capacity, refillPerSecond } = r0.limiter.policy;
  out.push(
    `| rate limiter: allowed of at most (refused) | ${
      results.map((r) =>
        `${fmt(r.limiter.allowed)} of ${fmt(r.limiter.allowedBound)} (${fmt(r.limiter.refused)}), ` +
        `${r.limiter.sustainedPerSecond.toFixed(2)}/s after the burst`
      ).join(" | ")
    } |`,
    "",
    `Each endpoint runs ${
      r0.endpoints[0].seconds.toFixed(0)
    } s after a 1 s warm-up, every request with a READ token, ` +
      `against two in-memory indexes of ${fmt(r0.keysPerIndex)} keys; failed answers: ${
        results.map((r) => `${r.endpoints.reduce((n, e) => n + e.failures, 0)} (${r.runtime})`).join(", ")
      }. The limiter row: one OPERATE token sends flushes as fast as they are answered for ${
        r0.limiter.seconds.toFixed(0)
      } s under the policy ${capacity} at once, ${refillPerSecond}/s. Measured ${measured(results)}; ${
        load(results)
      }.`,
    "",
  );
  return out.join("\n");
}

/** Markdown of one peers result: throughput with ratios and targets, p99, memory, disk, options and APIs. */
function renderPeersResult(r: PeersResult): string {
  const out: string[] = [];
  const cell = (engine: string, workload: string) =>
    r.cells.find((c) => c.engine === engine && c.workload === workload);
  const ops = (engine: string, workload: string) => cell(engine, workload)?.median?.opsPerSecond;
  const peers = r.engines.filter((e) => e.kind === "peer");
  const best = (workload: string) => {
    let top: { label: string; ops: number } | undefined;
    for (const p of peers) {
      const v = ops(p.id, workload);
      if (v !== undefined && (top === undefined || v > top.ops)) top = { label: p.label, ops: v };
    }
    return top;
  };
  const shown = (engine: string, workload: string) => {
    const c = cell(engine, workload);
    if (!c) return "–";
    if (!c.median) return `failed: ${c.runs[0]?.error?.slice(0, 80) ?? "?"}`;
    return fmt(c.median.opsPerSecond);
  };
  const ratio = (x: number | undefined, y: number | undefined) =>
    x === undefined || y === undefined || y === 0 ? undefined : x / y;
  const judged = (x: number | undefined, target: number) =>
    x === undefined ? "–" : `${x.toFixed(2)}× ${x >= target ? "✓" : "✗ (unmet)"}`;
  const hestias = r.engines.filter((e) => e.kind === "hestia" && !e.id.endsWith("-25"));
  const header = r.mode === "10m"
    ? `### ${fmt(r.keys)} keys: bulk load, random get and memory`
    : `### ${fmt(r.keys)} keys${r.mode === "quick" ? " (`--quick`)" : ""}`;
  out.push(
    header,
    "",
    `Medians of ${r.runs} run${r.runs > 1 ? "s" : ""}, each engine × workload in a fresh process; ` +
      `at most ${r.secondsPerWorkload} s measured per process; durable single puts: ${fmt(r.durableOps)} ` +
      `operations. ${r.keyBytes}-byte keys, ${r.valueBytes}-byte values. Ratios are HestiaStore with default ` +
      `caches ÷ the best peer of the same run; ✗ marks a target the run does not meet.`,
    "",
  );
  const cols = r.engines;
  out.push(
    `| workload (per second) | ${cols.map((e) => e.label).join(" | ")} |`,
    `|---|${cols.map(() => "---:").join("|")}|`,
  );
  for (const w of r.workloads) {
    out.push(`| ${w.label} | ${cols.map((e) => shown(e.id, w.id)).join(" | ")} |`);
  }
  out.push(
    "",
    "Against the targets (HestiaStore with default caches; the 25% rows are shown above for the out-of-cache case):",
    "",
    `| workload | best peer | ${
      hestias.map((h) => `${h.label} ÷ best peer`).join(" | ")
    } | target | other target | CPU profile where unmet (HestiaStore, Node) |`,
    `|---|---|${hestias.map(() => "---:").join("|")}|---|---|---|`,
  );
  for (const w of r.workloads) {
    const b = best(w.id);
    const base = w.target?.against === "best peer" ? w.target.ratio : 1.0;
    const ratios = hestias.map((h) => judged(ratio(ops(h.id, w.id), b?.ops), base));
    let other = "–";
    if (w.target?.against === "raw") {
      const raw = ops("raw", w.id);
      other = `≥ ${w.target.ratio}× the raw fdatasync loop (${raw === undefined ? "–" : fmt(raw)}): ${
        hestias.map((h) => `${judged(ratio(ops(h.id, w.id), raw), w.target!.ratio)} (${h.runtime})`).join(
          ", ",
        )
      }`;
    } else if (w.target?.against === "best peer durable single put") {
      const single = best("durable");
      other = `≥ ${w.target.ratio}× the best peer's durable single put (${single ? fmt(single.ops) : "–"}): ${
        hestias.map((h) => `${judged(ratio(ops(h.id, w.id), single?.ops), w.target!.ratio)} (${h.runtime})`)
          .join(", ")
      }`;
    }
    const unmet = ratios.some((x) => x.includes("✗")) || other.includes("✗");
    out.push(
      `| ${w.label} | ${b ? `${b.label} ${fmt(b.ops)}` : "–"} | ${ratios.join(" | ")} | ≥ ${
        base.toFixed(1)
      }× | ${other} | ${unmet ? profileLink(w.id) : "–"} |`,
    );
  }
  const latencyWorkloads = r.workloads.filter((w) => w.latency);
  if (latencyWorkloads.length > 0) {
    out.push(
      "",
      `p99 latency of one call, µs (p50 in brackets); – where one call is not one operation (batched or queued APIs):`,
      "",
      `| workload | ${cols.map((e) => e.label).join(" | ")} |`,
      `|---|${cols.map(() => "---:").join("|")}|`,
    );
    for (const w of latencyWorkloads) {
      out.push(`| ${w.label} | ${
        cols.map((e) => {
          const m = cell(e.id, w.id)?.median;
          return m?.p99Us === undefined ? "–" : `${m.p99Us.toFixed(1)} (${m.p50Us!.toFixed(1)})`;
        }).join(" | ")
      } |`);
    }
  }
  out.push(
    "",
    "Peak resident memory per process, MiB: VmHWM / peak RssAnon / peak RssFile (lmdb maps its file, so its " +
      "data pages count as RssFile):",
    "",
    `| workload | ${cols.map((e) => e.label).join(" | ")} |`,
    `|---|${cols.map(() => "---:").join("|")}|`,
  );
  const m = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  for (const w of r.workloads) {
    out.push(`| ${w.label} | ${
      cols.map((e) => {
        const x = cell(e.id, w.id)?.median;
        return x ? `${m(x.vmHwmBytes)} / ${m(x.rssAnonPeakBytes)} / ${m(x.rssFilePeakBytes)}` : "–";
      }).join(" | ")
    } |`);
  }
  const bulkEngines = cols.filter((e) => cell(e.id, "bulk")?.median);
  if (bulkEngines.length > 0) {
    out.push(
      "",
      `| after the bulk load | ${bulkEngines.map((e) => e.label).join(" | ")} |`,
      `|---|${bulkEngines.map(() => "---:").join("|")}|`,
      `| bytes on disk (allocated) | ${
        bulkEngines.map((e) => mib(cell(e.id, "bulk")!.median!.diskBytes)).join(" | ")
      } |`,
      `| bytes on disk (apparent size) | ${
        bulkEngines.map((e) => mib(cell(e.id, "bulk")!.median!.diskApparentBytes)).join(" | ")
      } |`,
      `| bytes on disk after reopening (the random-get process) | ${
        bulkEngines.map((e) => {
          const g = cell(e.id, "get")?.median;
          return g ? mib(g.diskBytes) : "–";
        }).join(" | ")
      } |`,
      `| untimed after the load | ${
        bulkEngines.map((e) => {
          const c = cell(e.id, "bulk")!.median!;
          return c.note?.startsWith("compact()")
            ? `compact(), ${(c.setupSeconds ?? 0).toFixed(1)} s with the open`
            : "–";
        }).join(" | ")
      } |`,
    );
  }
  out.push("", "Engines and their options:", "");
  for (const e of cols) out.push(`- **${e.label}** (${e.runtime}): ${e.options}.`);
  out.push("", "The API each engine runs per workload:", "");
  const apiCols = ["HestiaStore", ...peers.map((p) => p.id)];
  out.push(`| workload | ${apiCols.join(" | ")} |`, `|---|${apiCols.map(() => "---").join("|")}|`);
  for (const w of r.workloads) {
    out.push(`| ${w.label} | ${apiCols.map((a) => w.apis[a] ?? "–").join(" | ")} |`);
  }
  const failed = r.cells.flatMap((c) =>
    c.runs.filter((x) => x.error).map((x) => `${c.engine} ${c.workload}: ${x.error}`)
  );
  if (failed.length > 0) out.push("", "Failed runs:", "", ...failed.map((f) => `- ${f}`));
  const mc = r.machine;
  out.push(
    "",
    `Machine: ${mc.cores} × ${mc.cpu}, ${
      (mc.memoryBytes / 2 ** 30).toFixed(1)
    } GiB RAM, Linux ${mc.kernel}, ` +
      `${mc.fileSystem} (the temporary folder's file system). One-minute load average ${
        mc.loadAverageStart[0]
      } at the start and ${mc.loadAverageEnd[0]} at the end on ${mc.cores} cores (the machine is shared: ` +
      `figures are noisy). Versions: ${
        Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(", ")
      }. ` +
      `Measured ${r.date.slice(0, 10)} in ${fmt(r.totalSeconds)} s. Charts: ${
        r.workloads.map((w) => `[${w.id}](images/peers-${w.id}${r.mode === "10m" ? "-10m" : ""}.svg)`).join(
          ", ",
        )
      }.`,
    "",
    "Reproduce:",
    "",
    "```sh",
    r.command,
    "```",
    "",
  );
  return out.join("\n");
}

/** A link to the Node CPU profile of HestiaStore on `workload` in bench/results/, if one was kept. */
function profileLink(workload: string): string {
  const name = `peers-hestia-node-${workload}.cpuprofile`;
  return existsSync(`${ROOT}bench/results/${name}`) ? `[${name}](../bench/results/${name})` : "none kept";
}

/**
 * The memory target: HestiaStore's peak resident memory on the 10M-key run at most 1.25× the 1M-key run,
 * and no higher than the lowest peer's, per workload the 10M run has.
 */
function renderMemoryTarget(main: PeersResult, big: PeersResult): string {
  const hwm = (r: PeersResult, engine: string, workload: string) =>
    r.cells.find((c) => c.engine === engine && c.workload === workload)?.median?.vmHwmBytes;
  const m = (bytes: number | undefined) => bytes === undefined ? "–" : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const out = [
    `Memory target: peak resident memory (VmHWM) on the ${fmt(big.keys)}-key run at most 1.25× the ` +
    `${fmt(main.keys)}-key run, and no higher than the lowest peer's on the ${fmt(big.keys)}-key run:`,
    "",
    `| engine | workload | ${fmt(main.keys)} keys | ${
      fmt(big.keys)
    } keys | ratio (≤ 1.25×) | lowest peer at ${fmt(big.keys)} | HestiaStore ≤ lowest peer |`,
    "|---|---|---:|---:|---:|---|---|",
  ];
  const peers = big.engines.filter((e) => e.kind === "peer");
  for (const e of big.engines.filter((x) => x.kind === "hestia")) {
    for (const w of big.workloads) {
      const small = hwm(main, e.id, w.id), large = hwm(big, e.id, w.id);
      let low: { label: string; bytes: number } | undefined;
      for (const p of peers) {
        const v = hwm(big, p.id, w.id);
        if (v !== undefined && (low === undefined || v < low.bytes)) low = { label: p.label, bytes: v };
      }
      const ratio = small && large ? large / small : undefined;
      out.push(
        `| ${e.label} | ${w.label} | ${m(small)} | ${m(large)} | ${
          ratio === undefined ? "–" : `${ratio.toFixed(2)}× ${ratio <= 1.25 ? "✓" : "✗ (unmet)"}`
        } | ${low ? `${low.label} ${m(low.bytes)}` : "–"} | ${
          low && large ? (large <= low.bytes ? "✓" : "✗ (unmet)") : "–"
        } |`,
      );
    }
  }
  return out.join("\n") + "\n";
}

/**
 * The README's performance summary: HestiaStore ÷ the best peer per workload against its target, from the
 * full run if there is one, else the quick one.
 */
export function renderReadmeSummary(results: PeersResult[]): string {
  const r = results.find((x) => x.mode === "full") ?? results.find((x) => x.mode === "quick");
  if (!r) return "No comparison has been run yet: `deno task bench:peers`.\n";
  const ops = (engine: string, workload: string) =>
    r.cells.find((c) => c.engine === engine && c.workload === workload)?.median?.opsPerSecond;
  const hestias = r.engines.filter((e) => e.kind === "hestia" && !e.id.endsWith("-25"));
  const peers = r.engines.filter((e) => e.kind === "peer");
  const out = [
    `${fmt(r.keys)} keys, ${r.runs} run${r.runs > 1 ? "s" : ""} (medians), measured ${
      r.date.slice(0, 10)
    } on ` +
    `${r.machine.cores} cores; HestiaStore with default caches ÷ the best of lmdb, classic-level, RocksDB and ` +
    `better-sqlite3 on each workload (✗: target unmet). Every figure, the memory and disk tables and the ` +
    `method are in [docs/benchmarks.md](docs/benchmarks.md#against-the-peers-benchpeersharnessts).`,
    "",
    `| workload | best peer (per second) | ${hestias.map((h) => h.label).join(" | ")} | target |`,
    `|---|---|${hestias.map(() => "---:").join("|")}|---|`,
  ];
  for (const w of r.workloads) {
    let top: { label: string; ops: number } | undefined;
    for (const p of peers) {
      const v = ops(p.id, w.id);
      if (v !== undefined && (top === undefined || v > top.ops)) top = { label: p.label, ops: v };
    }
    const goal = w.target?.against === "best peer" ? w.target.ratio : 1.0;
    out.push(`| ${w.label} | ${top ? `${top.label} ${fmt(top.ops)}` : "–"} | ${
      hestias.map((h) => {
        const v = ops(h.id, w.id);
        if (v === undefined || !top) return "–";
        const x = v / top.ops;
        return `${x.toFixed(2)}×${x >= goal ? "" : " ✗"}`;
      }).join(" | ")
    } | ≥ ${goal.toFixed(1)}× |`);
  }
  return out.join("\n") + "\n";
}

/** The markdown for the peers comparison: the full run if there is one, else the quick one; then the 10M run. */
export function renderPeers(results: PeersResult[]): string {
  const main = results.find((r) => r.mode === "full") ?? results.find((r) => r.mode === "quick");
  const big = results.find((r) => r.mode === "10m");
  const parts = [main, big].filter((r): r is PeersResult => r !== undefined).map(renderPeersResult);
  if (main && big) parts.push(renderMemoryTarget(main, big));
  return parts.join("\n");
}

if (import.meta.main) {
  const dir = `${ROOT}bench/results/`;
  const all = readdirSync(dir).filter((f) => f.endsWith(".json")).sort()
    .map((f) => JSON.parse(readFileSync(dir + f, "utf8")) as { benchmark?: string });
  const engine = all.filter((r) => r.benchmark === "engine") as BenchResult[];
  const wal = all.filter((r) => r.benchmark === "wal") as WalBenchResult[];
  const overhead = all.filter((r) => r.benchmark === "exporter-overhead") as ExporterOverheadResult[];
  const scrape = all.filter((r) => r.benchmark === "exporter-scrape") as ScrapeCostResult[];
  const agent = all.filter((r) => r.benchmark === "agent-load") as AgentLoadResult[];
  const docPath = `${ROOT}docs/benchmarks.md`;
  let doc = readFileSync(docPath, "utf8");
  doc = splice(doc, "results", renderResults(engine));
  doc = splice(doc, "wal", renderWal(wal));
  doc = splice(doc, "exporter", renderExporter(overhead, scrape));
  doc = splice(doc, "agent", renderAgent(agent));
  const peers = all.filter((r) => r.benchmark === "peers") as PeersResult[];
  doc = splice(doc, "peers", renderPeers(peers));
  writeFileSync(docPath, doc);
  const readmePath = `${ROOT}README.md`;
  writeFileSync(readmePath, splice(readFileSync(readmePath, "utf8"), "perf", renderReadmeSummary(peers)));
  console.log(
    `Rendered ${engine.length} engine, ${wal.length} log and ${
      overhead.length + scrape.length
    } exporter and ${agent.length} agent result file(s) into docs/benchmarks.md`,
  );
  console.log(`Rendered ${peers.length} peers result file(s) into docs/benchmarks.md`);
}
