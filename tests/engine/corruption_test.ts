/**
 * Corruption: bit flips and truncations at random offsets in log files, the
 * log checkpoint, chunk files, sparse indexes, Bloom filters and the
 * manifest — at least 1,000 cases per run. Each case either reopens with
 * all intact data (and a reported cut or repair where data was damaged), or
 * fails with a `CorruptionError` naming the file; never an untyped error, a
 * hang, or a value that was never written. The rules are in
 * `_corruption_cases.ts`.
 *
 * The run is seeded and prints its seed. To replay one:
 * `HESTIA_CORRUPTION_SEED=<seed> deno test -A tests/engine/corruption_test.ts`
 * (`HESTIA_CORRUPTION_CASES` changes the number of cases,
 * `HESTIA_CORRUPTION_ONLY=<case>` runs one case and prints its trace).
 *
 * The last group holds minimal reproductions of the engine bugs the run
 * found, kept as regression tests now that they are fixed.
 *
 * @module
 */
import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { CorruptionError, MemoryFileSystem, SegmentIndex, UnsupportedFormatError } from "../../engine/mod.ts";
import { FaultFileSystem } from "../../engine/fs/fault_fs.ts";
import { writeFileAtomic } from "../../engine/fs/atomic.ts";
import { CURRENT_VERSION, FileKind, writeFileHeader } from "../../engine/format/file_header.ts";
import {
  buildImage,
  caseSeed,
  formatTally,
  type Image,
  type Kind,
  KINDS,
  type Outcome,
  runCase,
  TimeoutError,
  VARIANTS,
  withTimeout,
} from "./_corruption_cases.ts";

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
const SEED = Number(env.HESTIA_CORRUPTION_SEED ?? 0x5eed_c0de) >>> 0;
const CASES = Number(env.HESTIA_CORRUPTION_CASES ?? 1200);
const ONLY = env.HESTIA_CORRUPTION_ONLY === undefined ? undefined : Number(env.HESTIA_CORRUPTION_ONLY);
/** A case that takes longer than this is a hang. */
const CASE_TIMEOUT_MS = 10_000;

describe("corruption", () => {
  it(`yields intact data, a reported cut or repair, or a typed error naming the file (seed ${SEED})`, async () => {
    const started = performance.now();
    const images: Image[] = [];
    for (const [i, variant] of VARIANTS.entries()) images.push(await buildImage(variant, (SEED + i) >>> 0));
    const built = performance.now();
    console.log(`corruption suite: seed ${SEED}, ${CASES} cases`);
    for (const image of images) console.log(`  image ${image.summary}`);

    const tally = new Map<Kind, Map<Outcome, number>>(KINDS.map((k) => [k, new Map()]));
    const failures: string[] = [];
    let run = 0;
    for (let i = 0; i < CASES; i++) {
      if (ONLY !== undefined && i !== ONLY) continue;
      // Consecutive cases go round the images, then round the kinds: every pair alike.
      const image = images[i % images.length];
      const kind = KINDS[Math.floor(i / images.length) % KINDS.length];
      const label = `case ${i} (seed ${SEED}, image ${image.variant.name}, ${kind})`;
      let outcome: Outcome;
      try {
        const result = await withTimeout(
          runCase({ image, kind, seed: caseSeed(SEED, i) }),
          CASE_TIMEOUT_MS,
          label,
        );
        const v = result.verdict;
        outcome = result.outcome;
        const detail = [
          ...v.violations.map((m) => `VIOLATION ${m}`),
          ...v.trace,
        ];
        if (v.violations.length > 0) failures.push(`${label}:\n    ${detail.join("\n    ")}`);
        if (ONLY !== undefined) console.log(`${label}:\n    ${detail.join("\n    ")}`);
      } catch (e) {
        outcome = e instanceof TimeoutError ? "timeout" : "violation";
        failures.push(`${label}: ${e instanceof Error ? e.stack : e}`);
      }
      const counts = tally.get(kind)!;
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
      run++;
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(formatTally(tally));
    console.log(
      `${run} cases in ${seconds.toFixed(1)} s (images built in ${
        ((built - started) / 1000).toFixed(1)
      } s), ` +
        `${failures.length} with violations`,
    );
    for (const f of failures.slice(0, 10)) console.log(f);
    assertEquals(failures.length, 0, `${failures.length} cases broke a promise; the first:\n${failures[0]}`);
    if (ONLY === undefined) {
      // The full run (a smaller HESTIA_CORRUPTION_CASES is for debugging) covers every kind of file.
      const full = env.HESTIA_CORRUPTION_CASES === undefined;
      if (full) assertGreaterOrEqual(run, 1000);
      for (const kind of KINDS) {
        const total = [...tally.get(kind)!.values()].reduce((a, b) => a + b, 0);
        assertGreaterOrEqual(total, full ? 150 : 1, `only ${total} cases damaged a ${kind} file`);
      }
    }
  });
});

// ---- minimal reproductions of the engine bugs the suite found, kept as regression tests ----

const SMALL = {
  segmentWriteCacheKeyLimit: 40,
  segmentWriteCacheKeyLimitDuringMaintenance: 60,
  indexBufferedWriteKeyLimit: 200,
  segmentSplitKeyThreshold: 150,
  deltaFileLimit: 3,
};

async function flip(fs: MemoryFileSystem, path: string, offset: number): Promise<void> {
  const bytes = fs.readFile(path);
  bytes[offset] ^= 0x01;
  await writeFileAtomic(fs, path, bytes);
}

function tableFiles(fs: MemoryFileSystem, suffix: string): string[] {
  return fs.list("/db").filter((n) => n.endsWith(suffix)).map((n) => `/db/${n}`);
}

describe("corruption: regressions of engine bugs the suite found", () => {
  for (const suffix of [".bloom", ".sparse"]) {
    it(`the check rebuilds a damaged ${suffix} even when the replay queued a compaction`, async () => {
      // Two delta tables in the only segment, then 60 writes left only in the log.
      const fs = new MemoryFileSystem();
      // The first process runs through a fault layer that fails everything from the crash on: it is dead.
      const dead = new FaultFileSystem(fs);
      const index = await SegmentIndex.create<string, string>("/db", { fs: dead, ...SMALL });
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 30; i++) await index.put(`k${round}-${i}`, "v");
        await index.flush();
      }
      for (let i = 0; i < 60; i++) await index.put(`tail-${i}`, "v");
      dead.failOn({});
      fs.crash();
      const damaged = tableFiles(fs, suffix)[0];
      await flip(fs, damaged, 20); // behind the header: the body's checksum fails
      // The replay fills the write cache to the inline-flush limit: a third delta, so a compaction is queued.
      const again = await SegmentIndex.open<string, string>("/db", { fs, deltaFileLimit: 3 });
      // The check rebuilds the damaged file from the chunks (or the compaction, which reads only the chunks,
      // merges the table away), and every key reads back. Before the fix the compaction loaded the damaged
      // file, moved the index to ERROR, and every reopen queued the same compaction: it was never repaired.
      try {
        const report = await again.checkAndRepairConsistency();
        assert(report.problems.every((p) => p.action.startsWith("rebuilt")), JSON.stringify(report.problems));
        assertEquals(again.get("k0-0"), "v");
        assertEquals([...again.range()].length, 120);
        assert(report.rebuilt.length === 1 || fs.stat(damaged) === undefined);
      } finally {
        await again.close().catch(() => {});
      }
    });
  }

  it("fail-fast names the log file that lost its tail, not the next one", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create<string, string>("/db", { fs, walSegmentBytes: 256 });
    // Keys and values of one length: every record takes 32 bytes (a 17-byte prefix, one op of 15).
    for (let i = 0; i < 30; i++) await index.put(`key-${String(i).padStart(2, "0")}`, "value");
    fs.crash();
    const logs = fs.list("/db/wal").filter((n) => n.endsWith(".log"));
    assert(logs.length >= 3);
    // Cut the first log file right after its first record, behind the 16-byte file header.
    const damaged = `/db/wal/${logs[0]}`;
    const handle = fs.open(damaged, "write");
    handle.truncate(16 + 32);
    await handle.sync();
    handle.close();
    const err = await assertRejects(
      () => SegmentIndex.open("/db", { fs, walCorruptionPolicy: "fail-fast", walSegmentBytes: 256 }),
      CorruptionError,
    );
    // The file whose tail is missing is named, not the intact next one.
    assertEquals(err.file, damaged, err.message);
  });

  it("the check leaves a newer-version Bloom filter alone and reports it", async () => {
    const fs = new MemoryFileSystem();
    const index = await SegmentIndex.create<string, string>("/db", { fs });
    for (let i = 0; i < 20; i++) await index.put(`key-${i}`, "v");
    await index.close();
    const bloom = tableFiles(fs, ".bloom")[0];
    const newer = fs.readFile(bloom);
    newer.set(writeFileHeader(FileKind.BLOOM_FILTER, CURRENT_VERSION[FileKind.BLOOM_FILTER] + 1), 0);
    await writeFileAtomic(fs, bloom, newer);
    const again = await SegmentIndex.open<string, string>("/db", { fs });
    // format.md: an older engine never guesses at or rewrites a newer file — the check reports it, untouched.
    try {
      const report = await again.checkAndRepairConsistency();
      assertEquals(report.rebuilt, []);
      assertStringIncludes(JSON.stringify(report.problems), "newer than this engine supports");
      assertEquals(fs.readFile(bloom), newer);
    } finally {
      await again.close().catch(() => {});
    }
    // Reads of the table refuse it with UnsupportedFormatError, as they did before the check.
    const third = await SegmentIndex.open<string, string>("/db", { fs });
    try {
      const err = (() => {
        try {
          third.get("key-1");
        } catch (e) {
          return e;
        }
      })();
      assertInstanceOf(err, UnsupportedFormatError);
    } finally {
      await third.close().catch(() => {});
    }
  });
});
