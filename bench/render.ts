/**
 * Regenerates the tables of docs/benchmarks.md from the JSON results under
 * bench/results/: everything between the markers
 * `<!-- results:begin -->` and `<!-- results:end -->` is replaced.
 *
 *   deno task bench:docs
 *
 * @module
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import type { BenchResult } from "./engine/engine_bench.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const BEGIN = "<!-- results:begin -->";
const END = "<!-- results:end -->";

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
  const results = readdirSync(dir).filter((f) => f.endsWith(".json")).sort()
    .map((f) => JSON.parse(readFileSync(dir + f, "utf8")) as BenchResult)
    .filter((r) => r.benchmark === "engine");
  const docPath = `${ROOT}docs/benchmarks.md`;
  const doc = readFileSync(docPath, "utf8");
  const start = doc.indexOf(BEGIN), end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${docPath} lacks the ${BEGIN} … ${END} markers`);
  writeFileSync(
    docPath,
    doc.slice(0, start + BEGIN.length) + "\n\n" + renderResults(results) + "\n" + doc.slice(end),
  );
  console.log(`Rendered ${results.length} result file(s) into docs/benchmarks.md`);
}
