/**
 * Rollback safety of the on-disk formats: data written by today's engine
 * (segment files with deltas and tombstones, several segments, and records
 * left only in the write-ahead log by a process that never closed) opens in
 * the previous release's engine, checked out of git at the commit
 * `baseline.json` names, with every entry there and a clean consistency
 * check; and the other way round. A format change that breaks this must keep
 * writing the previous version until the operator opts in (docs/rollout.md).
 */
import { assertEquals } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as today from "../../engine/mod.ts";
import { deletedKeys, expectedEntries, tableEntries } from "./_compat_data.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BASELINE = JSON.parse(readFileSync(new URL("./baseline.json", import.meta.url), "utf8")) as {
  commit: string;
  release: string;
};
const RUNTIME = "Deno" in globalThis ? "deno" : "node";
const OUT = `${ROOT}out/tests/compat/${RUNTIME}-${process.pid}`;
const WRITER = fileURLToPath(new URL("./_unclosed_writer.ts", import.meta.url));

type Engine = typeof today;

/** The previous release's engine/ folder, extracted from git once per commit. */
async function previousEngine(): Promise<Engine> {
  const dir = `${ROOT}out/compat/${BASELINE.commit}`;
  if (!existsSync(`${dir}/engine/mod.ts`)) {
    const found = spawnSync("git", ["-C", ROOT, "cat-file", "-e", `${BASELINE.commit}^{commit}`]);
    if (found.status !== 0) {
      throw new Error(
        `The previous release's commit ${BASELINE.commit} is not in this clone (a shallow clone?): ` +
          "fetch the full history to run the rollback compatibility test.",
      );
    }
    mkdirSync(dir, { recursive: true });
    const tar = execFileSync("git", ["-C", ROOT, "archive", "--format=tar", BASELINE.commit, "engine"]);
    execFileSync("tar", ["-x", "-C", dir], { input: tar });
  }
  return await import(pathToFileURL(`${dir}/engine/mod.ts`).href) as Engine;
}

const OPTIONS = {
  segmentSplitKeyThreshold: 1000,
  segmentWriteCacheKeyLimit: 400,
  durability: "sync",
} as const;

async function writeTables(engine: Engine, dir: string): Promise<void> {
  const index = await engine.SegmentIndex.create(dir, {
    keyType: engine.STRING,
    valueType: engine.JSON_VALUE,
    ...OPTIONS,
  });
  await index.batch(tableEntries().map(([key, value]) => ({ type: "put" as const, key, value })));
  await index.flush();
  await index.compact();
  for (const key of deletedKeys()) index.delete(key);
  await index.flush();
  await index.close();
}

function writeLogOnly(dir: string): void {
  const [cmd, args] = RUNTIME === "deno"
    ? [process.execPath, ["run", "-A", "--quiet", "--no-lock", WRITER, dir]]
    : [process.execPath, ["--import", "tsx", WRITER, dir]];
  const child = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8" });
  assertEquals(child.status, 0, `writer failed: ${child.stderr}`);
}

async function readAll(engine: Engine, dir: string) {
  const index = await engine.SegmentIndex.open(dir, { keyType: engine.STRING, valueType: engine.JSON_VALUE });
  try {
    assertEquals(index.state, "READY");
    const entries = [...index.range({})];
    const report = await index.checkAndRepairConsistency();
    return { entries, segments: index.metrics().segments.count, problems: report.problems };
  } finally {
    await index.close();
  }
}

describe(`on-disk formats against the previous release (${BASELINE.release})`, () => {
  it("the previous release opens and recovers data written by today's engine", async () => {
    const previous = await previousEngine();
    const dir = `${OUT}/today-wrote`;
    rmSync(dir, { recursive: true, force: true });
    await writeTables(today, dir);
    writeLogOnly(dir);
    const read = await readAll(previous, dir);
    assertEquals(read.entries, expectedEntries());
    assertEquals(read.problems, []);
    assertEquals(read.segments > 1, true, "the data should span several segments");
  });

  it("today's engine opens data written by the previous release", async () => {
    const previous = await previousEngine();
    const dir = `${OUT}/previous-wrote`;
    rmSync(dir, { recursive: true, force: true });
    await writeTables(previous, dir);
    writeLogOnly(dir);
    const read = await readAll(today, dir);
    assertEquals(read.entries, expectedEntries());
    assertEquals(read.problems, []);
  });
});
