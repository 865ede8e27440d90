/**
 * `deno task gates [stage…]`: runs the rollout stage gates in order (base,
 * durability, A, B, C, D, dist) or only the named stages, prints one table
 * (stage, gate, result, cases, duration, budget) and then the plain line
 * `N passed, N failed` that CI reads. Exits non-zero on any failure.
 *
 * Stages missing from `tests/gates/stages.json` print "not built". A listed
 * stage fails if a gate's files are missing or its tests run zero cases.
 * Each deno subcommand gate (format, lint, typecheck) counts as one case;
 * test gates count every test case from their JUnit report. Logs go to
 * `out/gates/`. `HESTIA_GATES_PLAN` names another plan file (relative to the
 * repository root), which the runner's own tests use.
 *
 * @module
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { fromFileUrl } from "./_paths.ts";
import { parseJunit } from "./_junit.ts";
import { type Gate, parsePlan, selectStages, type Stage } from "./_plan.ts";
import { renderTable, type Row, summaryLine } from "./_table.ts";

const ROOT = fromFileUrl(new URL("../../", import.meta.url));
const OUT = `${ROOT}out/gates/`;

interface GateOutcome {
  row: Row;
  log: string;
  failures: string[];
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

function findTests(path: string): string[] {
  const full = `${ROOT}${path}`;
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [path];
  const out: string[] = [];
  for (const name of readdirSync(full).sort()) {
    const child = `${path.replace(/\/$/, "")}/${name}`;
    if (statSync(`${ROOT}${child}`).isDirectory()) out.push(...findTests(child));
    else if (name.endsWith("_test.ts") || name.endsWith("_test.tsx")) out.push(child);
  }
  return out;
}

async function runLogged(command: string, args: string[], log: string): Promise<number> {
  const file = await Deno.open(log, { write: true, create: true, truncate: true });
  const child = new Deno.Command(command, {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = file.writable.getWriter();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) await writer.write(chunk);
  };
  await Promise.all([pump(child.stdout), pump(child.stderr)]);
  const { code } = await child.status;
  await writer.close();
  return code;
}

async function runGate(stage: Stage, gate: Gate): Promise<GateOutcome> {
  const base = `${OUT}${slug(stage.name)}-${slug(gate.name)}`;
  const log = `${base}.log`;
  const started = performance.now();
  const row: Row = { stage: stage.name, gate: gate.name, result: "pass" };
  const failures: string[] = [];
  if (gate.kind !== "deno" && gate.budgetFile) rmSync(`${ROOT}${gate.budgetFile}`, { force: true });
  if (gate.kind === "deno") {
    const code = await runLogged(Deno.execPath(), gate.args, log);
    row.cases = { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0 };
    if (code !== 0) failures.push(`deno ${gate.args.join(" ")} exited with ${code}`);
  } else {
    const excluded = (file: string) => (gate.exclude ?? []).some((x) => file === x || file.startsWith(x));
    const files = gate.paths.flatMap(findTests).filter((f) => !excluded(f));
    const missing = gate.paths.filter((p) => !existsSync(`${ROOT}${p}`));
    if (missing.length > 0 || files.length === 0) {
      row.cases = { passed: 0, failed: 1, skipped: 0 };
      failures.push(`gate files missing: ${missing.length ? missing.join(", ") : gate.paths.join(", ")}`);
    } else {
      const xml = `${base}.xml`;
      const code = gate.kind === "deno-test"
        ? await runLogged(Deno.execPath(), ["test", "-A", "--parallel", "--junit-path", xml, ...files], log)
        : await runLogged("node", [
          "--import",
          "tsx",
          "--test",
          "--test-reporter=junit",
          `--test-reporter-destination=${xml}`,
          "--test-reporter=dot",
          "--test-reporter-destination=stdout",
          ...files,
        ], log);
      const counts = existsSync(xml) ? parseJunit(readFileSync(xml, "utf8")) : undefined;
      row.cases = counts
        ? { passed: counts.passed, failed: counts.failed, skipped: counts.skipped }
        : { passed: 0, failed: 0, skipped: 0 };
      failures.push(...(counts?.failures ?? []));
      if (row.cases.passed + row.cases.failed === 0) {
        row.cases.failed = 1;
        failures.push("ran zero test cases");
      } else if (code !== 0 && row.cases.failed === 0) {
        row.cases.failed = 1;
        failures.push(`test process exited with ${code} although no case failed`);
      }
    }
  }
  row.seconds = (performance.now() - started) / 1000;
  if (gate.kind !== "deno" && gate.budgetFile && existsSync(`${ROOT}${gate.budgetFile}`)) {
    row.budget = String(JSON.parse(readFileSync(`${ROOT}${gate.budgetFile}`, "utf8")).budget ?? "");
  }
  if (failures.length > 0) row.result = "FAIL";
  return { row, log, failures };
}

function missingDebian(packages: string[]): string[] {
  return packages.filter((pkg) => {
    try {
      const out = new Deno.Command("dpkg-query", { args: ["-W", "-f=${Status}", pkg], stderr: "null" })
        .outputSync();
      return !new TextDecoder().decode(out.stdout).includes("install ok installed");
    } catch {
      return true;
    }
  });
}

let aptUpdated = false;

/** Installs missing Debian packages when running as root on Debian; returns what is still missing. */
async function ensureDebian(packages: string[]): Promise<string[]> {
  const missing = missingDebian(packages);
  if (missing.length === 0) return [];
  const canInstall = Deno.uid() === 0 && existsSync("/usr/bin/apt-get");
  if (!canInstall) return missing;
  console.error(`Installing Debian packages: ${missing.join(" ")}`);
  const apt = (args: string[]) =>
    new Deno.Command("apt-get", {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "null",
      stderr: "inherit",
    }).output();
  if (!aptUpdated) {
    await apt(["update", "-qq"]);
    aptUpdated = true;
  }
  await apt(["install", "-y", "-qq", "--no-install-recommends", ...missing]);
  return missingDebian(missing);
}

function tail(file: string, lines: number): string {
  if (!existsSync(file)) return "";
  const all = readFileSync(file, "utf8").trimEnd().split("\n");
  return all.slice(-lines).join("\n");
}

async function main(args: string[]): Promise<number> {
  let selected;
  try {
    selected = selectStages(args);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const planFile = Deno.env.get("HESTIA_GATES_PLAN") ?? "tests/gates/stages.json";
  const plan = parsePlan(JSON.parse(readFileSync(`${ROOT}${planFile}`, "utf8")));
  mkdirSync(OUT, { recursive: true });
  const rows: Row[] = [];
  const problems: string[] = [];
  let passed = 0, failed = 0, skipped = 0;
  for (const name of selected) {
    const stage = plan.get(name);
    if (!stage) {
      rows.push({ stage: name, gate: "-", result: "not built" });
      continue;
    }
    console.error(`== stage ${name}`);
    const started = performance.now();
    const stillMissing = await ensureDebian(stage.debian);
    let stageFailed = false;
    if (stillMissing.length > 0) {
      stageFailed = true;
      failed++;
      rows.push({ stage: name, gate: "prerequisites", result: "FAIL" });
      problems.push(
        `stage ${name}: missing Debian packages ${stillMissing.join(", ")}; ` +
          `install them with: apt-get install ${stillMissing.join(" ")}`,
      );
    } else {
      for (const gate of stage.gates) {
        console.error(`   ${gate.name}…`);
        const outcome = await runGate(stage, gate);
        rows.push(outcome.row);
        passed += outcome.row.cases!.passed;
        failed += outcome.row.cases!.failed;
        skipped += outcome.row.cases!.skipped;
        if (outcome.row.result === "FAIL") {
          stageFailed = true;
          problems.push(
            `stage ${name}, gate "${gate.name}" failed (log: ${outcome.log}):\n` +
              outcome.failures.slice(0, 20).map((f) => `  - ${f}`).join("\n") +
              `\n  last lines of the log:\n${tail(outcome.log, 40).replace(/^/gm, "    ")}`,
          );
        }
      }
    }
    const seconds = (performance.now() - started) / 1000;
    rows.push({
      stage: name,
      gate: "(stage total)",
      result: stageFailed ? "FAIL" : "pass",
      seconds,
      budget: `${seconds.toFixed(0)} s of ${stage.budgetSeconds} s${
        seconds > stage.budgetSeconds ? " (over budget)" : ""
      }`,
    });
  }
  if (problems.length > 0) console.log(problems.join("\n\n") + "\n");
  console.log(renderTable(rows));
  console.log(summaryLine(passed, failed, skipped));
  return failed > 0 ? 1 : 0;
}

Deno.exit(await main(Deno.args));
