/**
 * Regenerates the tables of docs/benchmarks.md from the JSON results under
 * bench/results/: everything between the markers `<!-- results:begin -->`
 * and `<!-- results:end -->` (engine), `<!-- wal:begin -->` and
 * `<!-- wal:end -->` (write-ahead log), and `<!-- exporter:begin -->` and
 * `<!-- exporter:end -->` (exporter overhead and scrape cost) is replaced.
 *
 *   deno task bench:docs
 *
 * @module
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import type { BenchResult } from "./engine/engine_bench.ts";
import type { WalBenchResult } from "./engine/wal_bench.ts";
import type { ExporterOverheadResult } from "./exporters/exporter_overhead.ts";
import type { ScrapeCostResult } from "./exporters/scrape_cost.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
/** Replaces what stands between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in `doc`. */
function splice(doc: string, name: string, body: string): string {
  const begin = `<!-- ${name}:begin -->`, end = `<!-- ${name}:end -->`;
  const start = doc.indexOf(begin), stop = doc.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`docs/benchmarks.md lacks the ${begin} … ${end} markers`);
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

if (import.meta.main) {
  const dir = `${ROOT}bench/results/`;
  const all = readdirSync(dir).filter((f) => f.endsWith(".json")).sort()
    .map((f) => JSON.parse(readFileSync(dir + f, "utf8")) as { benchmark?: string });
  const engine = all.filter((r) => r.benchmark === "engine") as BenchResult[];
  const wal = all.filter((r) => r.benchmark === "wal") as WalBenchResult[];
  const overhead = all.filter((r) => r.benchmark === "exporter-overhead") as ExporterOverheadResult[];
  const scrape = all.filter((r) => r.benchmark === "exporter-scrape") as ScrapeCostResult[];
  const docPath = `${ROOT}docs/benchmarks.md`;
  let doc = readFileSync(docPath, "utf8");
  doc = splice(doc, "results", renderResults(engine));
  doc = splice(doc, "wal", renderWal(wal));
  doc = splice(doc, "exporter", renderExporter(overhead, scrape));
  writeFileSync(docPath, doc);
  console.log(
    `Rendered ${engine.length} engine, ${wal.length} log and ${
      overhead.length + scrape.length
    } exporter result file(s) into docs/benchmarks.md`,
  );
}
