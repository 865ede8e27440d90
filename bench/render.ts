/**
 * Regenerates the tables of docs/benchmarks.md from the JSON results under
 * bench/results/: everything between the markers `<!-- results:begin -->`
 * and `<!-- results:end -->` (engine) and `<!-- wal:begin -->` and
 * `<!-- wal:end -->` (write-ahead log) is replaced.
 *
 *   deno task bench:docs
 *
 * @module
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import type { BenchResult } from "./engine/engine_bench.ts";
import type { WalBenchResult } from "./engine/wal_bench.ts";

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

if (import.meta.main) {
  const dir = `${ROOT}bench/results/`;
  const all = readdirSync(dir).filter((f) => f.endsWith(".json")).sort()
    .map((f) => JSON.parse(readFileSync(dir + f, "utf8")) as { benchmark?: string });
  const engine = all.filter((r) => r.benchmark === "engine") as BenchResult[];
  const wal = all.filter((r) => r.benchmark === "wal") as WalBenchResult[];
  const docPath = `${ROOT}docs/benchmarks.md`;
  let doc = readFileSync(docPath, "utf8");
  doc = splice(doc, "results", renderResults(engine));
  doc = splice(doc, "wal", renderWal(wal));
  writeFileSync(docPath, doc);
  console.log(
    `Rendered ${engine.length} engine and ${wal.length} log result file(s) into docs/benchmarks.md`,
  );
}
