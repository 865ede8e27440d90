import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { afterEach, beforeEach, describe, it } from "@std/testing/bdd";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  type AuditEntry,
  type AuditEvent,
  type AuditSink,
  type FileAuditOptions,
  FileAuditSink,
  MemoryAuditSink,
  sha256Hex,
  verifyAuditFiles,
} from "../../agent/audit_sink.ts";
import { FaultFileSystem } from "../../engine/fs/fault_fs.ts";
import {
  ClosedError,
  CorruptionError,
  type FileSystem,
  IoError,
  LockedError,
  MemoryFileSystem,
  NodeFileSystem,
  NotFoundError,
} from "../../engine/mod.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OUT = `${ROOT}out/tests/agent/audit`;
const IS_DENO = "Deno" in globalThis;
const CLI = fileURLToPath(new URL("../../agent/audit_verify.ts", import.meta.url));
/** Deno runs the CLI with its own binary; Node through tsx, as the docs tell operators to. */
const CLI_ARGS = IS_DENO ? ["run", "-A", "--quiet", "--no-lock", CLI] : ["--import", "tsx", CLI];

/** SHA-256 of the empty string (FIPS 180-2 test vector). */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const GENESIS = "0".repeat(64);
/** Four ~450-byte lines fill a file. */
const SMALL_FILE = 2000;

/** The ith event of a run: intents and outcomes of flushes by turns. */
function event(i: number): AuditEvent {
  const base = {
    requestId: `req-${i >> 1}`,
    tokenId: i % 3 === 0 ? null : "ops",
    actor: i % 5 === 0 ? "alice@example.com" : null,
    remote: `10.0.0.${i % 250}`,
    method: "POST",
    endpoint: "/api/v1/actions/flush",
    bodySha256: EMPTY_SHA256,
  };
  return i % 2 === 0
    ? { ...base, phase: "intent" }
    : { ...base, phase: "outcome", outcome: "SUCCEEDED", status: 200 };
}

async function appendMany(sink: AuditSink, count: number, from = 0): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for (let i = from; i < from + count; i++) entries.push(await sink.append(event(i)));
  return entries;
}

function readLines(fs: FileSystem, path: string): string[] {
  return new TextDecoder().decode(fs.readFile(path)).split("\n").slice(0, -1);
}

function writeText(fs: FileSystem, path: string, text: string): void {
  const handle = fs.open(path, "write");
  handle.truncate(0);
  handle.write(0, new TextEncoder().encode(text));
  handle.close();
}

function writeLines(fs: FileSystem, path: string, lines: string[]): void {
  writeText(fs, path, lines.map((line) => line + "\n").join(""));
}

/** Files of the trail in `dir`, oldest first. */
function trailFiles(fs: FileSystem, dir: string): string[] {
  const names = fs.list(dir).filter((name) => name.startsWith("audit.jsonl"));
  const number = (name: string) => Number(name.slice("audit.jsonl.".length) || 0);
  return names.sort((a, b) => (number(b) || 0) - (number(a) || 0)).map((name) => `${dir}/${name}`);
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => stdout += chunk);
    child.stderr.on("data", (chunk) => stderr += chunk);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

interface Backend {
  name: string;
  /** A fresh file system and an empty directory on it for one test. */
  make(): { fs: FileSystem; dir: string };
}

let nextDir = 0;
const BACKENDS: Backend[] = [
  { name: "MemoryFileSystem", make: () => ({ fs: new MemoryFileSystem(), dir: "/var/audit" }) },
  {
    name: "NodeFileSystem",
    make: () => {
      const dir = `${OUT}/${IS_DENO ? "deno" : "node"}-${process.pid}-${nextDir++}`;
      rmSync(dir, { recursive: true, force: true });
      return { fs: new NodeFileSystem(), dir };
    },
  },
];

for (const backend of BACKENDS) {
  describe(`FileAuditSink on ${backend.name}`, () => {
    let fs: FileSystem;
    let dir: string;
    let path: string;
    let opened: AuditSink[];

    async function open(options: FileAuditOptions = {}, onFs: FileSystem = fs): Promise<FileAuditSink> {
      const sink = await FileAuditSink.open(path, { fs: onFs, ...options });
      opened.push(sink);
      return sink;
    }

    beforeEach(() => {
      ({ fs, dir } = backend.make());
      path = `${dir}/audit.jsonl`;
      opened = [];
    });

    afterEach(async () => {
      for (const sink of opened) await sink.close();
      if (fs instanceof NodeFileSystem) rmSync(dir, { recursive: true, force: true });
    });

    it("FileAuditSink chains 1,000 appends that verify", async () => {
      const sink = await open();
      const entries = await appendMany(sink, 1000);
      assertEquals(entries.map((entry) => entry.seq), Array.from({ length: 1000 }, (_, i) => i + 1));
      assertEquals(entries[0].prevHash, GENESIS);
      for (let i = 1; i < entries.length; i++) assertEquals(entries[i].prevHash, entries[i - 1].hash);
      assertEquals(await sink.verify(), { ok: true, entries: 1000, files: [path] });
      const lines = readLines(fs, path);
      assertEquals(lines.length, 1000);
      assertEquals(JSON.parse(lines[999]), entries[999]);
      assertEquals((await verifyAuditFiles([path], fs)).ok, true);
    });

    it("FileAuditSink writes the keys in their fixed order and stamps the time from the clock", async () => {
      const sink = await open({ clock: () => Date.UTC(2026, 10, 30, 12, 0, 0) });
      await sink.append(event(1));
      const [line] = readLines(fs, path);
      assertEquals(
        Object.keys(JSON.parse(line)),
        [
          "seq",
          "time",
          "phase",
          "requestId",
          "tokenId",
          "actor",
          "remote",
          "method",
          "endpoint",
          "bodySha256",
          "outcome",
          "status",
          "prevHash",
          "hash",
        ],
      );
      assertEquals(JSON.parse(line).time, "2026-11-30T12:00:00.000Z");
      const withoutHash = line.slice(0, line.lastIndexOf(',"hash"')) + "}";
      assertEquals(JSON.parse(line).hash, await sha256Hex(GENESIS + withoutHash));
    });

    it("FileAuditSink keeps a valid chain under concurrent appends", async () => {
      const sink = await open({ maxFileBytes: SMALL_FILE * 4, maxFiles: 100 });
      const entries = await Promise.all(Array.from({ length: 200 }, (_, i) => sink.append(event(i))));
      assertEquals(entries.map((entry) => entry.seq).sort((a, b) => a - b), entries.map((_, i) => i + 1));
      const verification = await sink.verify();
      assertEquals(verification.ok, true);
      assertEquals(verification.entries, 200);
      assert(verification.files.length > 1);
    });

    it("FileAuditSink rotates by size and continues the chain across the files", async () => {
      const sink = await open({ maxFileBytes: SMALL_FILE, maxFiles: 100 });
      await appendMany(sink, 60);
      const files = trailFiles(fs, dir);
      assert(files.length >= 10, `${files.length} files`);
      assertEquals(files.at(-1), path);
      assertEquals(files.at(-2), `${path}.1`);
      let last: AuditEntry | undefined;
      for (const file of files) {
        assert(fs.stat(file)!.size <= SMALL_FILE, `${file} is ${fs.stat(file)!.size} bytes`);
        const entries = readLines(fs, file).map((line) => JSON.parse(line) as AuditEntry);
        assertEquals(entries[0].prevHash, last?.hash ?? GENESIS, file);
        last = entries.at(-1);
      }
      assertEquals(await sink.verify(), { ok: true, entries: 60, files });
      // Given in any order, as a shell glob expands them, the files are walked oldest first.
      const shuffled = [...files].sort();
      assertEquals(await verifyAuditFiles(shuffled, fs), { ok: true, entries: 60, files });
    });

    it("FileAuditSink deletes the oldest files beyond maxFiles and the rest still verifies", async () => {
      const sink = await open({ maxFileBytes: SMALL_FILE, maxFiles: 3 });
      const written = await appendMany(sink, 60);
      assertEquals(trailFiles(fs, dir), [`${path}.2`, `${path}.1`, path]);
      const { entries, total } = await sink.page(0, 100);
      assert(total < 60 && total > 0);
      assertEquals(entries, written.slice(-total));
      assert(entries[0].seq > 1, "the first retained entry anchors the chain");
      const verification = await sink.verify();
      assertEquals(verification, { ok: true, entries: total, files: [`${path}.2`, `${path}.1`, path] });
      assertEquals(await verifyAuditFiles(trailFiles(fs, dir), fs), verification);
    });

    it("FileAuditSink with maxFiles 1 keeps only the active file", async () => {
      const sink = await open({ maxFileBytes: SMALL_FILE, maxFiles: 1 });
      const written = await appendMany(sink, 20);
      assertEquals(trailFiles(fs, dir), [path]);
      const { entries } = await sink.page(0, 100);
      assertEquals(entries, written.slice(-entries.length));
      assertEquals((await sink.verify()).ok, true);
    });

    describe("tampering", () => {
      /** A closed trail of 30 entries over several files; returns the rotated file `.1` and its lines. */
      async function trail(): Promise<{ file: string; lines: string[] }> {
        const sink = await open({ maxFileBytes: SMALL_FILE, maxFiles: 100 });
        await appendMany(sink, 30);
        await sink.close();
        const file = `${path}.1`;
        const lines = readLines(fs, file);
        assert(lines.length >= 4);
        return { file, lines };
      }

      async function expectBroken(file: string, line: number, reason: RegExp): Promise<void> {
        const result = await verifyAuditFiles(trailFiles(fs, dir), fs);
        assertEquals(result.ok, false);
        assertEquals({ file: result.firstBroken?.file, line: result.firstBroken?.line }, { file, line });
        assertMatch(result.firstBroken!.reason, reason);
        const sink = await open();
        assertEquals((await sink.verify()).firstBroken, result.firstBroken);
        await sink.close();
      }

      it("verify() names the line whose field was changed", async () => {
        const { file, lines } = await trail();
        lines[2] = lines[2].replace(/"remote":"[^"]*"/, '"remote":"203.0.113.9"');
        writeLines(fs, file, lines);
        await expectBroken(file, 3, /^hash mismatch$/);
      });

      it("verify() names the line after a deleted one", async () => {
        const { file, lines } = await trail();
        lines.splice(1, 1);
        writeLines(fs, file, lines);
        await expectBroken(file, 2, /^seq gap: expected \d+, found \d+$/);
      });

      it("verify() names the first of two swapped lines", async () => {
        const { file, lines } = await trail();
        [lines[1], lines[2]] = [lines[2], lines[1]];
        writeLines(fs, file, lines);
        await expectBroken(file, 2, /^seq gap/);
      });

      it("verify() names the line after a changed line whose hash was recomputed", async () => {
        const { file, lines } = await trail();
        const entry = JSON.parse(lines[0]) as AuditEntry;
        entry.remote = "203.0.113.9";
        const { hash: _, ...unhashed } = entry;
        entry.hash = await sha256Hex(entry.prevHash + JSON.stringify(unhashed));
        lines[0] = JSON.stringify(entry);
        writeLines(fs, file, lines);
        await expectBroken(file, 2, /^prevHash mismatch/);
      });

      it("verify() names a line that is not JSON, or not in canonical form", async () => {
        const { file, lines } = await trail();
        writeLines(fs, file, [...lines.slice(0, 3), lines[3].slice(0, -5), ...lines.slice(4)]);
        await expectBroken(file, 4, /^bad JSON$/);
        writeLines(fs, file, [...lines.slice(0, 3), lines[3].replace("{", '{"extra":1,'), ...lines.slice(4)]);
        await expectBroken(file, 4, /^not canonical JSON/);
      });

      it("verify() names a changed line in the active file", async () => {
        await trail();
        const lines = readLines(fs, path);
        lines[0] = lines[0].replace('"method":"POST"', '"method":"PUT"');
        writeLines(fs, path, lines);
        await expectBroken(path, 1, /^hash mismatch$/);
      });
    });

    it("FileAuditSink.open() continues seq and hash after a reopen", async () => {
      const first = await appendMany(await open({ maxFileBytes: SMALL_FILE }), 7);
      await opened[0].close();
      const sink = await open({ maxFileBytes: SMALL_FILE });
      const second = await appendMany(sink, 5, 7);
      assertEquals(second[0].seq, 8);
      assertEquals(second[0].prevHash, first[6].hash);
      const { entries, total } = await sink.page(0, 100);
      assertEquals(total, 12);
      assertEquals(entries, [...first, ...second]);
      assertEquals((await sink.verify()).ok, true);
    });

    it("FileAuditSink.open() drops a torn last line and continues after the last whole one", async () => {
      const written = await appendMany(await open(), 3);
      await opened[0].close();
      const lines = readLines(fs, path);
      writeText(fs, path, lines.map((line) => line + "\n").join("") + '{"seq":4,"time":"2026-');
      assertMatch((await verifyAuditFiles([path], fs)).firstBroken!.reason, /^unterminated last line/);
      const sink = await open();
      assertEquals(readLines(fs, path), lines);
      const next = await sink.append(event(3));
      assertEquals(next.seq, 4);
      assertEquals(next.prevHash, written[2].hash);
      assertEquals(await sink.verify(), { ok: true, entries: 4, files: [path] });
    });

    it("FileAuditSink.open() resumes from the newest rotated file when the active one is empty", async () => {
      const written = await appendMany(await open({ maxFileBytes: SMALL_FILE }), 10);
      await opened[0].close();
      // What a crash right after a rotation leaves: the active file renamed to .1 and an empty new one.
      const rotated = trailFiles(fs, dir).filter((file) => file !== path).reverse();
      for (const file of rotated) fs.rename(file, file.replace(/\d+$/, (n) => String(Number(n) + 1)));
      fs.rename(path, `${path}.1`);
      fs.open(path, "create").close();
      const sink = await open({ maxFileBytes: SMALL_FILE });
      const next = await sink.append(event(10));
      assertEquals(next.seq, 11);
      assertEquals(next.prevHash, written[9].hash);
      assertEquals((await sink.verify()).ok, true);
    });

    it("FileAuditSink.open() refuses a trail whose last line is not an entry", async () => {
      await appendMany(await open(), 3);
      await opened[0].close();
      writeText(fs, path, new TextDecoder().decode(fs.readFile(path)) + "garbage\n");
      const error = await assertRejects(() => open(), CorruptionError);
      assertStringIncludes((error as Error).message, "audit:verify");
      // The refused open released the lock: once repaired, the trail opens.
      writeLines(fs, path, readLines(fs, path).slice(0, -1));
      assertEquals((await (await open()).append(event(3))).seq, 4);
    });

    it("FileAuditSink.open() refuses a second sink on the same trail", async () => {
      await open();
      await assertRejects(() => open(), LockedError);
    });

    it("FileAuditSink.open() creates missing directories and rejects bad limits", async () => {
      path = `${dir}/deeper/still/audit.jsonl`;
      const sink = await open();
      await sink.append(event(0));
      assertEquals(readLines(fs, path).length, 1);
      await assertRejects(() => FileAuditSink.open(`${dir}/x.jsonl`, { fs, maxFileBytes: 0 }), RangeError);
      await assertRejects(() => FileAuditSink.open(`${dir}/x.jsonl`, { fs, maxFiles: 1.5 }), RangeError);
    });

    for (const failure of ["append", "torn append", "sync"] as const) {
      it(`FileAuditSink.append() rejects on a failing ${failure} and the next append continues the chain`, async () => {
        const faulty = new FaultFileSystem(fs);
        const sink = await open({}, faulty);
        const written = await appendMany(sink, 3);
        faulty.failOn(
          failure === "sync"
            ? { op: "sync", path }
            : { op: "append", path, ...(failure === "torn append" ? { torn: 40 } : {}) },
        );
        await assertRejects(() => sink.append(event(3)), IoError);
        await assertRejects(() => sink.append(event(3)), IoError);
        assertEquals(readLines(fs, path).length, 3, "a failed append leaves nothing behind");
        faulty.clearFaults();
        const next = await sink.append(event(3));
        assertEquals(next.seq, 4);
        assertEquals(next.prevHash, written[2].hash);
        assertEquals(await sink.verify(), { ok: true, entries: 4, files: [path] });
      });
    }

    it("FileAuditSink cuts a failed append before the next read or write when the cut failed too", async () => {
      const faulty = new FaultFileSystem(fs);
      const sink = await open({}, faulty);
      await appendMany(sink, 3);
      faulty.failOn({ op: "sync", nth: 1 });
      faulty.failOn({ op: "truncate", nth: 1 });
      await assertRejects(() => sink.append(event(3)), IoError);
      assertEquals(readLines(fs, path).length, 4, "the unacknowledged line is still there");
      assertEquals((await sink.page(0, 10)).total, 3);
      assertEquals(readLines(fs, path).length, 3);
      assertEquals((await sink.append(event(3))).seq, 4);
      assertEquals((await sink.verify()).entries, 4);
    });

    it("FileAuditSink.append() rejects when a rotation fails midway and the next append finishes it", async () => {
      const faulty = new FaultFileSystem(fs);
      const sink = await open({ maxFileBytes: SMALL_FILE, maxFiles: 5 }, faulty);
      await appendMany(sink, 20);
      const before = trailFiles(fs, dir).length;
      const fault = faulty.failOn({ op: "rename", nth: 2 });
      let rejected = 0;
      for (let i = 20; fault.fired === 0; i++) {
        await sink.append(event(i)).catch((error) => {
          assertInstanceOf(error, IoError);
          rejected++;
        });
      }
      assertEquals(rejected, 1);
      faulty.clearFaults();
      await appendMany(sink, 10, 100);
      assert(trailFiles(fs, dir).length >= before);
      assertEquals((await sink.verify()).ok, true);
      const { entries } = await sink.page(0, 1000);
      assertEquals(entries.map((entry) => entry.seq), entries.map((_, i) => entries[0].seq + i));
    });

    it("FileAuditSink.open() rejects when the trail cannot be opened, and releases its lock", async () => {
      const faulty = new FaultFileSystem(fs);
      faulty.failOn({ op: "open", path });
      await assertRejects(() => open({}, faulty), IoError);
      faulty.clearFaults();
      assertEquals((await (await open({}, faulty)).append(event(0))).seq, 1);
    });

    it("FileAuditSink.append() rejects a malformed event and writes nothing, but takes an empty digest", async () => {
      const sink = await open();
      const bad: AuditEvent[] = [
        { ...event(0), bodySha256: "abc" },
        { ...event(0), bodySha256: EMPTY_SHA256.toUpperCase() },
        { ...event(0), remote: 7 as unknown as string },
        { ...event(0), outcome: "FAILED" },
        { ...event(1), status: undefined },
        { ...event(0), phase: "done" as "intent" },
      ];
      for (const item of bad) await assertRejects(() => sink.append(item), TypeError);
      assertEquals((await sink.page(0, 10)).total, 0);
      // An empty digest stands for a body never read, e.g. one refused by its announced size.
      assertEquals((await sink.append({ ...event(0), bodySha256: "" })).seq, 1);
      assertEquals((await sink.verify()).ok, true);
    });

    it("FileAuditSink.page() pages oldest first across files", async () => {
      const sink = await open({ maxFileBytes: SMALL_FILE, maxFiles: 100 });
      const written = await appendMany(sink, 25);
      assertEquals(await sink.page(0, 10), { entries: written.slice(0, 10), total: 25 });
      assertEquals(await sink.page(10, 10), { entries: written.slice(10, 20), total: 25 });
      assertEquals(await sink.page(20, 10), { entries: written.slice(20), total: 25 });
      assertEquals(await sink.page(3, 1), { entries: [written[3]], total: 25 });
      assertEquals(await sink.page(25, 10), { entries: [], total: 25 });
      assertEquals(await sink.page(5, 0), { entries: [], total: 25 });
      await sink.append(event(25));
      assertEquals((await sink.page(24, 10)).entries.map((entry) => entry.seq), [25, 26]);
      await assertRejects(() => sink.page(-1, 10), RangeError);
      await assertRejects(() => sink.page(0, 0.5), RangeError);
    });

    it("FileAuditSink.close() waits for pending appends, and later calls reject", async () => {
      const sink = await open();
      const pending = Promise.all(Array.from({ length: 5 }, (_, i) => sink.append(event(i))));
      await sink.close();
      assertEquals((await pending).map((entry) => entry.seq), [1, 2, 3, 4, 5]);
      assertEquals(readLines(fs, path).length, 5);
      await sink.close();
      await assertRejects(() => sink.append(event(9)), ClosedError);
      await assertRejects(() => sink.page(0, 1), ClosedError);
      await assertRejects(() => sink.verify(), ClosedError);
      // Closing released the lock.
      assertEquals((await (await open()).verify()).ok, true);
    });
  });
}

describe("FileAuditSink on a crashing MemoryFileSystem", () => {
  const PATH = "/audit/audit.jsonl";
  const OPTIONS = { maxFileBytes: 1200, maxFiles: 3 };

  it("FileAuditSink keeps every acknowledged entry across a crash", async () => {
    const fs = new MemoryFileSystem();
    const sink = await FileAuditSink.open(PATH, { fs, ...OPTIONS, maxFiles: 50 });
    const written = await appendMany(sink, 30);
    fs.crash();
    const reopened = await FileAuditSink.open(PATH, { fs, ...OPTIONS, maxFiles: 50 });
    assertEquals(await reopened.page(0, 100), { entries: written, total: 30 });
    await reopened.close();
  });

  it("FileAuditSink keeps exactly the acknowledged entries when a crash strikes at any step", async () => {
    let steps = 0;
    for (let k = 1;; k++) {
      const memory = new MemoryFileSystem();
      const fs = new FaultFileSystem(memory);
      const sink = await FileAuditSink.open(PATH, { fs, ...OPTIONS });
      const acknowledged = (await appendMany(sink, 4)).map((entry) => entry.hash);
      const fault = fs.failOn({ nth: k });
      for (let i = 4; i < 16; i++) {
        try {
          acknowledged.push((await sink.append(event(i))).hash);
        } catch (error) {
          assertInstanceOf(error, IoError);
          break;
        }
      }
      fs.crash();
      const reopened = await FileAuditSink.open(PATH, { fs: memory, ...OPTIONS });
      const { entries, total } = await reopened.page(0, 1000);
      assertEquals(entries.map((entry) => entry.hash), acknowledged.slice(-total), `step ${k}`);
      assertEquals((await reopened.verify()).ok, true, `step ${k}`);
      const next = await reopened.append(event(99));
      assertEquals(next.seq, acknowledged.length + 1, `step ${k}`);
      assertEquals((await reopened.verify()).ok, true, `step ${k}`);
      await reopened.close();
      steps = k;
      if (fault.fired === 0) break;
    }
    assert(steps > 50, `only ${steps} steps`);
  });
});

describe("MemoryAuditSink", () => {
  it("MemoryAuditSink chains appends, also concurrent ones, and verifies", async () => {
    let now = Date.UTC(2026, 0, 1);
    const sink = new MemoryAuditSink(() => now++);
    await appendMany(sink, 100);
    await Promise.all(Array.from({ length: 100 }, (_, i) => sink.append(event(100 + i))));
    assertEquals(sink.entries.map((entry) => entry.seq), Array.from({ length: 200 }, (_, i) => i + 1));
    assertEquals(sink.entries[0].prevHash, GENESIS);
    assertEquals(sink.entries[1].time, "2026-01-01T00:00:00.001Z");
    assertEquals(await sink.verify(), { ok: true, entries: 200, files: ["memory"] });
  });

  it("MemoryAuditSink hashes exactly as FileAuditSink does", async () => {
    const clock = () => Date.UTC(2026, 5, 1);
    const memory = new MemoryAuditSink(clock);
    const file = await FileAuditSink.open("/a/audit.jsonl", { fs: new MemoryFileSystem(), clock });
    assertEquals(await appendMany(memory, 10), await appendMany(file, 10));
    await file.close();
  });

  it("MemoryAuditSink.verify() names a tampered entry", async () => {
    const sink = new MemoryAuditSink();
    await appendMany(sink, 10);
    (sink.entries[4] as AuditEntry).status = 500;
    assertEquals((await sink.verify()).firstBroken, { file: "memory", line: 5, reason: "hash mismatch" });
  });

  it("MemoryAuditSink.page() slices oldest first, and close() stops appends", async () => {
    const sink = new MemoryAuditSink();
    const written = await appendMany(sink, 12);
    assertEquals(await sink.page(10, 5), { entries: written.slice(10), total: 12 });
    await assertRejects(() => sink.page(0, -1), RangeError);
    await assertRejects(() => sink.append({ ...event(0), tokenId: 3 as unknown as string }), TypeError);
    await sink.close();
    await assertRejects(() => sink.append(event(12)), ClosedError);
  });
});

describe("verifyAuditFiles()", () => {
  it("sha256Hex() hashes strings as UTF-8 and bytes as given", async () => {
    assertEquals(await sha256Hex(""), EMPTY_SHA256);
    assertEquals(await sha256Hex(new Uint8Array()), EMPTY_SHA256);
    assertEquals(
      await sha256Hex("abc"),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });

  it("verifyAuditFiles() passes an empty trail and rejects a missing file", async () => {
    const fs = new MemoryFileSystem();
    fs.open("/audit.jsonl", "create").close();
    assertEquals(await verifyAuditFiles(["/audit.jsonl"], fs), {
      ok: true,
      entries: 0,
      files: ["/audit.jsonl"],
    });
    await assertRejects(() => verifyAuditFiles(["/nope.jsonl"], fs), NotFoundError);
  });

  it("verifyAuditFiles() requires the genesis hash before entry 1", async () => {
    const fs = new MemoryFileSystem();
    const sink = await FileAuditSink.open("/audit.jsonl", { fs });
    await appendMany(sink, 3);
    await sink.close();
    const lines = readLines(fs, "/audit.jsonl");
    const entry = JSON.parse(lines[0]) as AuditEntry;
    entry.prevHash = "1".repeat(64);
    const { hash: _, ...unhashed } = entry;
    entry.hash = await sha256Hex(entry.prevHash + JSON.stringify(unhashed));
    writeLines(fs, "/audit.jsonl", [JSON.stringify(entry)]);
    const result = await verifyAuditFiles(["/audit.jsonl"], fs);
    assertEquals(result.firstBroken?.line, 1);
    assertMatch(result.firstBroken!.reason, /^prevHash mismatch: the first entry/);
  });
});

describe("audit_verify CLI", () => {
  const dir = `${OUT}/cli-${IS_DENO ? "deno" : "node"}-${process.pid}`;

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("audit_verify exits 0 on a sound trail, 1 naming the broken line, 2 on misuse", async () => {
    const fs = new NodeFileSystem();
    const sink = await FileAuditSink.open(`${dir}/audit.jsonl`, { fs, maxFileBytes: SMALL_FILE });
    await appendMany(sink, 20);
    await sink.close();
    const files = trailFiles(fs, dir).sort();

    const ok = await runCli(files);
    assertEquals(ok.code, 0, ok.stderr);
    assertMatch(ok.stdout, /^ok: 20 entries in \d+ files, chain intact\n$/);

    const lines = readLines(fs, `${dir}/audit.jsonl.1`);
    lines[2] = lines[2].replace('"POST"', '"GET"');
    writeLines(fs, `${dir}/audit.jsonl.1`, lines);
    const broken = await runCli(files);
    assertEquals(broken.code, 1, broken.stderr);
    assertStringIncludes(broken.stdout, `broken: ${dir}/audit.jsonl.1:3: hash mismatch`);

    assertEquals((await runCli([])).code, 2);
    const missing = await runCli([`${dir}/absent.jsonl`]);
    assertEquals(missing.code, 2);
    assertStringIncludes(missing.stderr, "absent.jsonl");
  });
});
