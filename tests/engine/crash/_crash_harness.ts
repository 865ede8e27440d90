/**
 * The parent side of the SIGKILL crash test, shared by the full test and
 * the smoke test: spawns `_crash_child.ts` over one index directory per
 * durability, kills it with SIGKILL at a seeded random delay (0–3 ms) after
 * it reports entering the targeted phase (phases taken in turn), and after
 * every kill checks the crashed index:
 *
 * 1. every key reads back its last acknowledged value or a value written
 *    after it (a delete's "value" is absence); a key this run never got an
 *    acknowledgement for reads its value from before the run or any value
 *    the run wrote for it;
 * 2. no value that was never written appears, under `get` or `range`, and
 *    `range` lists exactly the keys that `get` finds;
 * 3. the state is that of a prefix of the run's writes in log order, at or
 *    past the last acknowledged one (batches apply whole or not at all).
 *    Not necessarily of all of them: the log writes appended records to the
 *    OS at the start of a sync round or the end of the event-loop turn, not
 *    in `append`, so a kill may take unacknowledged writes with it;
 * 4. `checkAndRepairConsistency()` reports no problem (orphan files left by
 *    the crash may be removed).
 *
 * The checks run on a copy of the crashed directory, so the next child
 * recovers from the crash itself; the state verified becomes the baseline
 * of the next run, which the next run's checks hold the child's recovery
 * to.
 *
 * @module
 */
import { assert, assertEquals, assertGreaterOrEqual, fail } from "@std/assert";
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { SegmentIndex } from "../../../engine/mod.ts";
import { describeValue, INDEX_OPTIONS, type Phase, PHASES, prng, valueOf } from "./_crash_shared.ts";

export type Durability = "sync" | "group" | "none";

/** A campaign: kills per durability, and what must come of them. */
export interface CampaignOptions {
  durabilities: readonly Durability[];
  killsPerDurability: number;
  seed: number;
  /** Kills each phase must get (kills whose phase did not show in time count as "other"). */
  requiredPerPhase: number;
  /** The phases targeted in turn. @default PHASES */
  phases?: readonly Phase[];
  /**
   * How long to wait for the targeted phase, from the child's index being
   * open, before killing anyway. Phases show within about 1 s of the open
   * when the machine is idle; 3 s on average, and sometimes past 5 s, under
   * heavy load. @default 15000
   */
  phaseTimeoutMs?: number;
  /** Most milliseconds of writing before the child starts reporting the phase. @default 120 */
  maxWarmupMs?: number;
  /** Where progress and the summary go. @default console.log */
  log?: (line: string) => void;
}

/** What a campaign did, as printed in its summary. */
export interface CampaignResult {
  seed: number;
  kills: number;
  /** Kills per targeted phase, and "other" for kills whose phase did not show in time. */
  killsPerPhase: Record<Phase | "other", number>;
  writesIssued: number;
  acknowledgedWritesVerified: number;
  keysChecked: number;
  replayedRecords: number;
  tornTails: number;
  seconds: number;
  /** Of `seconds`, the time the children ran (start-up, recovery, writing until killed). */
  childSeconds: number;
  /** Mean milliseconds from a child's spawn to its index being open. */
  meanStartupMs: number;
  /** Per phase, mean milliseconds from a child's spawn to its report of the phase. */
  meanMsToPhase: Record<Phase, number>;
}

const IS_DENO = "Deno" in globalThis;
/**
 * Bound on a child's start-up (runtime, TypeScript loading, recovery) before
 * the phase timeout starts; only a child that hangs ever waits this long.
 * Start-up depends on the machine's load, not on the workload: 0.3–0.7 s
 * idle, 1.9 s on Node beside 2 busy loops on 2 cores, 6.5 s under heavier
 * load, where a phase timeout counted from the spawn let all 20 kills of
 * the smoke test miss their phase (and fail it) although each phase showed
 * within 2 s of the index opening.
 */
const STARTUP_TIMEOUT_MS = 60_000;
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CHILD = fileURLToPath(new URL("./_crash_child.ts", import.meta.url));
/** Deno runs the child with the same binary; Node runs TypeScript through tsx. */
const CHILD_COMMAND: [string, string[]] = IS_DENO
  ? [process.execPath, ["run", "-A", "--quiet", "--no-lock", CHILD]]
  : [process.execPath, ["--import", "tsx", CHILD]];

/** The seed from `HESTIA_CRASH_SEED`, or the fixed default. */
export function seedFromEnv(fallback: number): number {
  const text = process.env.HESTIA_CRASH_SEED;
  if (text === undefined || text === "") return fallback;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`HESTIA_CRASH_SEED must be an integer: ${text}`);
  }
  return seed;
}

/** A positive integer from the environment, or the fallback. */
export function intFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer: ${text}`);
  }
  return value;
}

/** One write as the child announced it: its ops in order; a delete's value is undefined. */
interface Write {
  id: number;
  ops: [string, string | undefined][];
}

/** What one child run printed and how it ended. */
interface ChildRun {
  writes: Write[];
  acked: Set<number>;
  ready: boolean;
  /** Milliseconds from the spawn to the index being open, and to the targeted phase. */
  readyMs: number;
  phaseMs: number;
  /** The targeted phase showed, and the kill was aimed at it. */
  landed: boolean;
  signal: string | null;
  code: number | null;
  failure: string | undefined;
  stderr: string;
  tail: string[];
}

/** Names one kill in every message. */
interface KillLabel {
  seed: number;
  durability: Durability;
  kill: number;
  phase: Phase | "other";
}

function label(k: KillLabel): string {
  return `seed ${k.seed}, ${k.durability} kill #${k.kill} (phase ${k.phase})`;
}

/** Spins for less than a millisecond, which timers can't do. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy wait
  }
}

/**
 * Runs one child and kills it `delayMs` after it reports `target`, or
 * `timeoutMs` after its index is open if the phase has not shown by then
 * (or after {@linkcode STARTUP_TIMEOUT_MS} if the index never opens).
 */
function runChild(
  args: string[],
  run: number,
  target: Phase,
  delayMs: number,
  timeoutMs: number,
): Promise<ChildRun> {
  const [command, baseArgs] = CHILD_COMMAND;
  const child = spawn(command, [...baseArgs, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  const result: ChildRun = {
    writes: [],
    acked: new Set(),
    ready: false,
    readyMs: 0,
    phaseMs: 0,
    landed: false,
    signal: null,
    code: null,
    failure: undefined,
    stderr: "",
    tail: [],
  };
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    child.kill("SIGKILL");
  };
  const spawned = performance.now();
  // The phase timeout starts once the index is open: start-up time depends on the machine's load,
  // not on the workload, and must not eat into the time a phase has to show.
  let timeout = setTimeout(kill, STARTUP_TIMEOUT_MS);
  let pending = "";
  const onLine = (line: string) => {
    result.tail.push(line);
    if (result.tail.length > 8) result.tail.shift();
    const kind = line[0];
    if (kind === "w") {
      const parts = line.split(" ");
      const id = Number(parts[1]);
      const ops: [string, string | undefined][] = [];
      for (let i = 2; i < parts.length; i++) {
        const key = parts[i].slice(1);
        ops.push([key, parts[i][0] === "+" ? valueOf(key, run, id) : undefined]);
      }
      result.writes.push({ id, ops });
    } else if (kind === "a") {
      result.acked.add(Number(line.slice(2)));
    } else if (kind === "r") {
      result.ready = true;
      result.readyMs = performance.now() - spawned;
      // A phase targeted from the start (recovery) may have landed already; then the kill is scheduled.
      if (!killed && !result.landed) {
        clearTimeout(timeout);
        timeout = setTimeout(kill, timeoutMs);
      }
    } else if (kind === "x") {
      result.failure = line.slice(2);
    } else if (line === `phase ${target}` && !killed && !result.landed) {
      result.landed = true;
      result.phaseMs = performance.now() - spawned;
      clearTimeout(timeout);
      if (delayMs < 1) {
        spin(delayMs);
        kill();
      } else {
        setTimeout(kill, delayMs);
      }
    }
  };
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    pending += chunk;
    let at: number;
    while ((at = pending.indexOf("\n")) >= 0) {
      onLine(pending.slice(0, at));
      pending = pending.slice(at + 1);
    }
    // A line cut short by the kill stays in `pending` and is ignored.
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    if (result.stderr.length < 20_000) result.stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.once("error", (error) => {
      clearTimeout(timeout);
      reject(error);
    });
    // "close" comes after the exit (the child is reaped, so its LOCK is stale) and after stdout ended.
    child.once("close", (code, signal) => {
      clearTimeout(timeout);
      result.code = code;
      result.signal = signal;
      resolve(result);
    });
  });
}

function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const source = join(from, name);
    if (statSync(source).isDirectory()) copyTree(source, join(to, name));
    else copyFileSync(source, join(to, name));
  }
}

/**
 * Every number of the run's writes, at least `minLength`, whose
 * application to `baseline` gives `observed` (several, when the writes
 * past one change nothing, such as a delete of an absent key).
 */
function matchingPrefix(
  keys: Iterable<string>,
  baseline: Map<string, string | undefined>,
  observed: Map<string, string | undefined>,
  writes: Write[],
  minLength: number,
): number[] {
  const state = new Map<string, string | undefined>();
  const current = (key: string) => state.has(key) ? state.get(key) : baseline.get(key);
  let mismatches = 0;
  for (const key of keys) if (baseline.get(key) !== observed.get(key)) mismatches++;
  const matches: number[] = mismatches === 0 && minLength === 0 ? [0] : [];
  for (let p = 0; p < writes.length; p++) {
    for (const [key, value] of writes[p].ops) {
      const before = current(key) === observed.get(key);
      state.set(key, value);
      const after = value === observed.get(key);
      if (before && !after) mismatches++;
      else if (!before && after) mismatches--;
    }
    if (mismatches === 0 && p + 1 >= minLength) matches.push(p + 1);
  }
  return matches;
}

interface Verified {
  observed: Map<string, string | undefined>;
  acknowledged: number;
  replayed: number;
  torn: boolean;
}

/** Opens the crashed index (a copy) and checks it against the model; see the module doc. */
async function verify(
  at: KillLabel,
  dir: string,
  baseline: Map<string, string | undefined>,
  run: ChildRun,
): Promise<Verified> {
  const where = label(at);
  // Every key the index may hold: the baseline's (which holds every key written before) and this run's.
  for (const write of run.writes) {
    for (const [key] of write.ops) if (!baseline.has(key)) baseline.set(key, undefined);
  }

  // Per key: the values it may read. After an acknowledged write, that write's value or a later one;
  // with none acknowledged in this run, the baseline or any value this run wrote.
  const allowed = new Map<string, { values: Set<string | undefined>; ackedBy: number | undefined }>();
  let lastAckedPosition = -1;
  run.writes.forEach((write, position) => {
    const acked = run.acked.has(write.id);
    if (acked) lastAckedPosition = position;
    for (const [key, value] of write.ops) {
      let entry = allowed.get(key);
      if (!entry) {
        entry = { values: new Set([baseline.get(key)]), ackedBy: undefined };
        allowed.set(key, entry);
      }
      if (acked) {
        entry.values = new Set([value]);
        entry.ackedBy = write.id;
      } else {
        entry.values.add(value);
      }
    }
  });

  let index: SegmentIndex<string, string>;
  try {
    index = await SegmentIndex.open<string, string>(dir);
  } catch (error) {
    throw new Error(`${where}: reopening the crashed index failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    const observed = new Map<string, string | undefined>();
    for (const key of baseline.keys()) {
      const value = index.get(key);
      observed.set(key, value);
      const entry = allowed.get(key);
      const expected = entry ? entry.values : new Set([baseline.get(key)]);
      if (!expected.has(value)) {
        const choices = [...expected].map(describeValue).join(", ");
        fail(
          `${where}: key ${key} reads ${describeValue(value)}, but ` +
            (entry?.ackedBy !== undefined
              ? `write ${entry.ackedBy} was acknowledged: expected its value or a later one (${choices})`
              : `expected its value from before this run or one this run wrote (${choices})`),
        );
      }
    }
    let listed = 0;
    for (const [key, value] of index.range()) {
      listed++;
      assert(observed.has(key), `${where}: range lists key ${key}, which was never written`);
      const got = describeValue(observed.get(key));
      assertEquals(
        value,
        observed.get(key),
        `${where}: range reads key ${key} as ${describeValue(value)}, get as ${got}`,
      );
    }
    const present = [...observed.values()].filter((v) => v !== undefined).length;
    assertEquals(listed, present, `${where}: range lists ${listed} keys, get finds ${present}`);

    const lastAcked = lastAckedPosition < 0 ? "none" : `write ${run.writes[lastAckedPosition].id}`;
    const prefixes = matchingPrefix(baseline.keys(), baseline, observed, run.writes, lastAckedPosition + 1);
    if (prefixes.length === 0) {
      const all = new Map(baseline);
      for (const write of run.writes) for (const [key, value] of write.ops) all.set(key, value);
      const differing = [...all].filter(([key, value]) => observed.get(key) !== value).slice(0, 3)
        .map(([key, value]) =>
          `key ${key} reads ${describeValue(observed.get(key))}, not ${describeValue(value)}`
        );
      fail(
        `${where}: the recovered state is not the state after any prefix of the ${run.writes.length} writes ` +
          `issued that includes every acknowledged one (last acknowledged: ${lastAcked}): ` +
          `a batch applied in part, or writes survived out of order; against all the writes, ` +
          differing.join("; "),
      );
    }
    const report = await index.checkAndRepairConsistency();
    const removed = report.removedFiles.join(", ") || "none";
    assertEquals(
      report.problems,
      [],
      `${where}: checkAndRepairConsistency() found problems (orphan files removed: ${removed})`,
    );
    const recovery = index.recovery;
    return {
      observed,
      acknowledged: run.acked.size,
      replayed: recovery?.replayedRecords ?? 0,
      torn: recovery?.truncatedFile !== undefined,
    };
  } finally {
    await index.close();
  }
}

/** Runs the kills of every durability in turn; throws on the first violated property. */
export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const timeoutMs = options.phaseTimeoutMs ?? 15_000;
  const maxWarmupMs = options.maxWarmupMs ?? 120;
  const phases = options.phases ?? PHASES;
  const random = prng(options.seed);
  const started = performance.now();
  const killsPerPhase = Object.fromEntries([...phases, "other"].map((p) => [p, 0])) as Record<
    Phase | "other",
    number
  >;
  const result: CampaignResult = {
    seed: options.seed,
    kills: 0,
    killsPerPhase,
    writesIssued: 0,
    acknowledgedWritesVerified: 0,
    keysChecked: 0,
    replayedRecords: 0,
    tornTails: 0,
    seconds: 0,
    childSeconds: 0,
    meanStartupMs: 0,
    meanMsToPhase: Object.fromEntries(phases.map((p) => [p, 0])) as Record<Phase, number>,
  };
  let readyRuns = 0;
  const runtime = IS_DENO ? "Deno" : "Node";
  const durabilities = options.durabilities.join(", ");
  log(
    `SIGKILL crash test on ${runtime}: seed ${options.seed} (HESTIA_CRASH_SEED), ` +
      `${options.killsPerDurability} kills per durability (HESTIA_CRASH_KILLS) × ${durabilities}`,
  );
  const root = mkdtempSync(join(tmpdir(), "hestia-crash-"));
  try {
    let kill = 0;
    for (const durability of options.durabilities) {
      const dir = join(root, durability);
      await (await SegmentIndex.create<string, string>(dir, { durability, ...INDEX_OPTIONS })).close();
      let baseline = new Map<string, string | undefined>();
      const perPhase = Object.fromEntries([...phases, "other"].map((p) => [p, 0])) as Record<string, number>;
      for (let i = 1; i <= options.killsPerDurability; i++, kill++) {
        const target = phases[kill % phases.length];
        const delayMs = random() * 3;
        const warmupMs = Math.floor(random() * maxWarmupMs);
        const childSeed = Math.floor(random() * 2 ** 32);
        const at: KillLabel = { seed: options.seed, durability, kill: i, phase: target };
        const childStarted = performance.now();
        const run = await runChild(
          [dir, durability, target, String(i), String(childSeed), String(warmupMs)],
          i,
          target,
          delayMs,
          timeoutMs,
        );
        result.childSeconds += (performance.now() - childStarted) / 1000;
        if (!run.landed) at.phase = "other";
        if (run.signal !== "SIGKILL") {
          fail(
            `${label(at)}: the child ended by itself (code ${run.code}, signal ${run.signal}, ` +
              `${run.ready ? "after" : "before"} opening the index)` +
              (run.failure ? `: ${run.failure}` : "") +
              `\nstderr: ${run.stderr.trim()}\nlast lines: ${run.tail.join(" / ")}`,
          );
        }
        const copy = join(root, `${durability}-check`);
        copyTree(dir, copy);
        try {
          const verified = await verify(at, copy, baseline, run);
          baseline = verified.observed;
          result.acknowledgedWritesVerified += verified.acknowledged;
          result.replayedRecords += verified.replayed;
          if (verified.torn) result.tornTails++;
        } finally {
          rmSync(copy, { recursive: true, force: true });
        }
        if (run.ready) {
          result.meanStartupMs += run.readyMs;
          readyRuns++;
        }
        if (at.phase !== "other") result.meanMsToPhase[at.phase] += run.phaseMs;
        killsPerPhase[at.phase]++;
        perPhase[at.phase]++;
        result.kills++;
        result.writesIssued += run.writes.length;
        result.keysChecked += baseline.size;
      }
      // The last crash, recovered in place as the next child would: the same state as verified on its copy.
      const index = await SegmentIndex.open<string, string>(dir);
      const { segments } = index.metrics();
      try {
        for (const [key, value] of baseline) {
          assertEquals(
            index.get(key),
            value,
            `seed ${options.seed}, ${durability} final reopen: key ${key} differs from the state verified ` +
              `on the copy of the same crash`,
          );
        }
        assertEquals(
          (await index.checkAndRepairConsistency()).problems,
          [],
          `seed ${options.seed}, ${durability}`,
        );
      } finally {
        await index.close();
      }
      log(
        `  ${durability}: ${options.killsPerDurability} kills, per phase ` +
          Object.entries(perPhase).map(([p, n]) => `${p} ${n}`).join(", ") +
          `; at the end ${segments.totalKeys} table entries in ${segments.count} segments ` +
          `(${segments.deltaFiles} delta tables), ${baseline.size} keys ever written`,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  result.seconds = (performance.now() - started) / 1000;
  result.meanStartupMs /= Math.max(1, readyRuns);
  for (const phase of phases) result.meanMsToPhase[phase] /= Math.max(1, killsPerPhase[phase]);
  log(
    `  seed ${result.seed}: ${result.kills} kills in ${result.seconds.toFixed(1)} s ` +
      `(${result.childSeconds.toFixed(1)} s in children); kills per phase: ` +
      Object.entries(killsPerPhase).map(([p, n]) => `${p} ${n}`).join(", "),
  );
  log(
    `  acknowledged writes verified: ${result.acknowledgedWritesVerified} (of ${result.writesIssued} issued); ` +
      `key reads checked: ${result.keysChecked}; log records replayed at reopen: ${result.replayedRecords}; ` +
      `torn log tails cut: ${result.tornTails}`,
  );
  log(
    `  child start-up to an open index: ${result.meanStartupMs.toFixed(0)} ms on average; ` +
      `spawn to phase: ` + phases.map((p) => `${p} ${result.meanMsToPhase[p].toFixed(0)} ms`).join(", "),
  );
  for (const phase of phases) {
    assertGreaterOrEqual(
      killsPerPhase[phase],
      options.requiredPerPhase,
      `seed ${options.seed}: only ${killsPerPhase[phase]} kills landed in phase ${phase} ` +
        `(${killsPerPhase.other} kills found no phase in time)`,
    );
  }
  return result;
}
