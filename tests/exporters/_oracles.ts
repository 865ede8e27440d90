/**
 * Strict outside checkers of an exposition, run as subprocesses (the same
 * on Deno and Node): `promtool check metrics` from Debian's `prometheus`
 * for the text format 0.0.4, and the parsers of Debian's
 * `python3-prometheus-client` (run with `/usr/bin/python3`, which sees the
 * Debian modules) for both formats. Prometheus itself is too lenient to
 * prove conformance (see ecosystem.md §1.4).
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import type { ExpositionFormat } from "../../exporters/mod.ts";

const PYTHON = "/usr/bin/python3";
const INSTALL_HINT = "run `apt-get update && apt-get install -y prometheus python3-prometheus-client` " +
  "(the gates runner installs them in CI)";

/** What `promtool check metrics` said about a 0.0.4 body. */
export interface PromtoolResult {
  readonly code: number;
  /** stdout and stderr together; empty when the body is clean. */
  readonly output: string;
}

/** Runs `promtool check metrics` with `text` on stdin. */
export function promtoolCheck(text: string): PromtoolResult {
  const run = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (run.error) throw new Error(`Cannot run promtool (${run.error.message}); ${INSTALL_HINT}`);
  return { code: run.status ?? -1, output: `${run.stdout}${run.stderr}` };
}

/** One parsed sample: name, labels as sorted `[name, value]` pairs, and the value as Python's `repr(float)`. */
export type Sample = readonly [name: string, labels: readonly (readonly [string, string])[], value: string];

/** One parsed family: name (a counter's without `_total`), type and HELP text, unescaped. */
export type FamilyHeader = readonly [name: string, type: string, help: string];

/** What the strict parser of `python3-prometheus-client` read. */
export interface Parsed {
  readonly families: readonly FamilyHeader[];
  readonly samples: readonly Sample[];
}

const SCRIPT = `
import json, sys
try:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
    from prometheus_client.parser import text_string_to_metric_families as parse_text
except ImportError as e:
    print("MISSING " + str(e), file=sys.stderr)
    sys.exit(3)
parse = parse_om if sys.argv[1] == "openmetrics-1.0.0" else parse_text
families, samples = [], []
for f in parse(sys.stdin.read()):
    families.append([f.name, f.type, f.documentation])
    for s in f.samples:
        samples.append([s.name, sorted(s.labels.items()), repr(float(s.value))])
print(json.dumps({"families": families, "samples": samples}))
`;

/**
 * Parses `text` with `prometheus_client`'s OpenMetrics parser (strict: EOF,
 * name clashes, units, canonical `le`) or its 0.0.4 parser.
 *
 * @throws {Error} With the parser's message when it rejects the body, or an install hint when it is missing.
 */
export function parseStrict(text: string, format: ExpositionFormat): Parsed {
  const run = spawnSync(PYTHON, ["-c", SCRIPT, format], { input: text, encoding: "utf8" });
  if (run.error) throw new Error(`Cannot run ${PYTHON} (${run.error.message}); ${INSTALL_HINT}`);
  if (run.status === 3 && run.stderr.startsWith("MISSING")) {
    throw new Error(`python3-prometheus-client is not installed (${run.stderr.trim()}); ${INSTALL_HINT}`);
  }
  if (run.status !== 0) throw new Error(`prometheus_client rejected the ${format} body:\n${run.stderr}`);
  return JSON.parse(run.stdout) as Parsed;
}

/** Samples as sorted strings, for comparing two parses as sets. */
export function sampleSet(parsed: Parsed): string[] {
  return parsed.samples.map((s) => JSON.stringify(s)).sort();
}
