/**
 * The process the SIGKILL crash test kills. Opens the index in `<dir>`
 * (recovering it from the previous crash) through a
 * {@linkcode PhaseFileSystem}, then writes until it is killed: several
 * concurrent writers doing puts, overwrites, deletes and batches, and a loop
 * calling `flush()` and `compact()` now and then. Prints the protocol of
 * `_crash_shared.ts` on stdout, synchronously, so that a line is in the
 * pipe before the write it announces is issued or the phase it names runs.
 *
 * Usage: `_crash_child.ts <dir> <durability> <target phase> <run> <seed> <warmup ms>`.
 * After open and `<warmup ms>` (from the start for `recovery`), the child
 * reports the first entry into the target phase. `all` instead reports
 * every entry of every phase but the log's appends and syncs, with a
 * timestamp: for tuning, not for the test.
 *
 * @module
 */
import { writeSync } from "node:fs";
import process from "node:process";
import { setImmediate } from "node:timers";
import { SegmentIndex } from "../../../engine/mod.ts";
import {
  growingKey,
  HOT_KEYS,
  hotKey,
  INDEX_OPTIONS,
  isPhase,
  type Phase,
  prng,
  valueOf,
} from "./_crash_shared.ts";
import { PhaseFileSystem } from "./_phase_fs.ts";

const WRITERS = 6;

/** Writes a whole line to stdout, waiting out a full non-blocking pipe. */
function emit(line: string): void {
  const bytes = new TextEncoder().encode(line + "\n");
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(1, bytes, done, bytes.length - done);
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") throw error;
    }
  }
}

function fail(error: unknown): never {
  const text = error instanceof Error ? `${error.stack ?? error.message}` : String(error);
  emit(`x ${text.replace(/\n/g, " | ")}`);
  process.exit(1);
}

const [dir, durability, target, runText, seedText, warmupText] = process.argv.slice(2);
if (!dir || (durability !== "sync" && durability !== "group" && durability !== "none")) {
  fail(new Error(`usage: _crash_child.ts <dir> <sync|group|none> <phase|all> <run> <seed> <warmup ms>`));
}
if (target !== "all" && !isPhase(target)) fail(new Error(`unknown phase ${target}`));
const run = Number(runText);
const random = prng(Number(seedText));
const warmupMs = Number(warmupText);

// Recovery is targeted from the start; the other phases once the warm-up is over.
let armed = target === "recovery";
let reported = false;
const started = performance.now();
const fs = new PhaseFileSystem((phase: Phase) => {
  if (!armed) return;
  if (target === "all") {
    if (phase !== "log-append" && phase !== "fsync") {
      emit(`phase ${phase} ${(performance.now() - started).toFixed(1)}`);
    }
  } else if (phase === target && !reported) {
    reported = true;
    emit(`phase ${phase}`);
  }
});

const index = await SegmentIndex.open<string, string>(dir, { fs, durability, ...INDEX_OPTIONS }).catch(fail);
fs.attach(() => index.metrics());
emit("r");
setTimeout(() => armed = true, warmupMs);

let nextId = 0;
let nextGrowing = 0;

function pickHot(): string {
  return hotKey(Math.floor(random() * HOT_KEYS));
}

/** A key for a put: mostly hot keys, often a new growing key. */
function pickPutKey(): string {
  return random() < 0.6 ? pickHot() : growingKey(run, nextGrowing++);
}

/** A key for a delete: mostly hot keys, sometimes a growing key of this run. */
function pickDeleteKey(): string {
  return random() < 0.8 || nextGrowing === 0
    ? pickHot()
    : growingKey(run, Math.floor(random() * nextGrowing));
}

type Op = { type: "put"; key: string; value: string } | { type: "delete"; key: string };

/** Prints write `id` and issues it: one put or delete alone, several ops as one batch. */
function submit(id: number, ops: Op[]): Promise<void> {
  emit(`w ${id} ${ops.map((op) => (op.type === "put" ? "+" : "-") + op.key).join(" ")}`);
  if (ops.length > 1) return index.batch(ops);
  const [op] = ops;
  return op.type === "put" ? index.put(op.key, op.value) : index.delete(op.key);
}

/**
 * Issues one write: a put (a hot key or a new growing key), a delete, a
 * batch of mixed ops over distinct keys, or a purge — a batch deleting the
 * oldest growing keys, found with a range scan, so the index stays small
 * and old segments empty out (a segment compacted to nothing has no table).
 */
function issue(): { id: number; done: Promise<void> } {
  const id = ++nextId;
  const r = random();
  if (r < 0.4) {
    const key = pickPutKey();
    return { id, done: submit(id, [{ type: "put", key, value: valueOf(key, run, id) }]) };
  }
  if (r < 0.55) return { id, done: submit(id, [{ type: "delete", key: pickDeleteKey() }]) };
  if (r < 0.65) {
    // Growing keys of the runs before the last three: the index stays small, splits still come.
    const oldest = [...index.range({ lt: growingKey(run - 3, 0), limit: 2 + Math.floor(random() * 10) })];
    if (oldest.length > 0) return { id, done: submit(id, oldest.map(([key]) => ({ type: "delete", key }))) };
  }
  const size = 2 + Math.floor(random() * 6);
  const keys = new Set<string>();
  const ops: Op[] = [];
  while (ops.length < size) {
    const put = random() < 0.75;
    const key = put ? pickPutKey() : pickDeleteKey();
    if (keys.has(key)) continue;
    keys.add(key);
    ops.push(put ? { type: "put", key, value: valueOf(key, run, id) } : { type: "delete", key });
  }
  return { id, done: submit(id, ops) };
}

async function writer(): Promise<void> {
  for (let n = 1;; n++) {
    const { id, done } = issue();
    await done;
    emit(`a ${id}`);
    // A promise that is already resolved (durability none) yields to microtasks only: give timers,
    // I/O and the background maintenance their turn.
    if (n % 4 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

async function maintainer(): Promise<void> {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(random() * 40)));
    if (random() < 0.5) await index.flush();
    else await index.compact();
  }
}

const tasks = [maintainer()];
for (let i = 0; i < WRITERS; i++) tasks.push(writer());
await Promise.all(tasks).catch(fail);
