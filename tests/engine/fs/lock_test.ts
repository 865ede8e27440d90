import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { afterEach, beforeEach, describe, it } from "@std/testing/bdd";
import { type ChildProcess, spawn } from "node:child_process";
import * as nodeFs from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { LockedError } from "../../../engine/errors.ts";
import { MemoryFileSystem } from "../../../engine/fs/mem_fs.ts";
import { NodeFileSystem } from "../../../engine/fs/node_fs.ts";

/** Starts `command` and resolves with the child once it runs, and a promise of its exit. */
async function start(
  command: string,
  args: string[],
): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child = spawn(command, args, { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", reject);
  });
  return { child, exited };
}

function writeHolder(path: string, holder: Record<string, unknown>): void {
  nodeFs.writeFileSync(path, JSON.stringify(holder));
}

describe("NodeFileSystem.lock()", () => {
  let dir: string;
  let lockPath: string;
  const fs = new NodeFileSystem();

  beforeEach(() => {
    dir = nodeFs.mkdtempSync(join(tmpdir(), "hestia-lock-"));
    lockPath = join(dir, "LOCK");
  });

  afterEach(() => {
    nodeFs.rmSync(dir, { recursive: true, force: true });
  });

  it("NodeFileSystem.lock() writes the pid, host and time of acquisition into the lock file", () => {
    const lock = fs.lock(lockPath);
    try {
      const holder = JSON.parse(nodeFs.readFileSync(lockPath, "utf8"));
      assertEquals(holder.pid, process.pid);
      assertEquals(holder.host, hostname());
      assert(!Number.isNaN(Date.parse(holder.acquiredAt)), holder.acquiredAt);
    } finally {
      lock.release();
    }
    assertEquals(nodeFs.existsSync(lockPath), false);
  });

  it("NodeFileSystem.lock() raises LockedError naming this process for a second lock in the same process", () => {
    const lock = fs.lock(lockPath);
    try {
      const error = assertThrows(() => fs.lock(lockPath), LockedError);
      assertStringIncludes(error.message, "this process");
      // Another spelling of the same path is the same lock.
      assertThrows(() => fs.lock(join(dir, ".", "LOCK")), LockedError);
      assertThrows(() => new NodeFileSystem().lock(lockPath), LockedError);
    } finally {
      lock.release();
    }
  });

  it("NodeFileSystem.lock() raises LockedError naming a live process that holds the lock", async () => {
    const { child, exited } = await start("sleep", ["30"]);
    try {
      writeHolder(lockPath, { pid: child.pid, host: hostname(), acquiredAt: "2024-01-01T00:00:00.000Z" });
      const error = assertThrows(() => fs.lock(lockPath), LockedError);
      assertStringIncludes(error.message, `process ${child.pid} on host ${hostname()}`);
      assertEquals(JSON.parse(nodeFs.readFileSync(lockPath, "utf8")).pid, child.pid);
    } finally {
      child.kill();
      await exited;
    }
  });

  it("NodeFileSystem.lock() takes over a lock left by a process that has exited", async () => {
    const { child, exited } = await start("true", []);
    await exited;
    writeHolder(lockPath, { pid: child.pid, host: hostname(), acquiredAt: "2024-01-01T00:00:00.000Z" });
    const lock = fs.lock(lockPath);
    try {
      assertEquals(lock.recoveredStale, true);
      assertEquals(JSON.parse(nodeFs.readFileSync(lockPath, "utf8")).pid, process.pid);
    } finally {
      lock.release();
    }
  });

  it("NodeFileSystem.lock() takes over a lock bearing this process's pid that this process does not hold", () => {
    writeHolder(lockPath, { pid: process.pid, host: hostname(), acquiredAt: "2024-01-01T00:00:00.000Z" });
    const lock = fs.lock(lockPath);
    assertEquals(lock.recoveredStale, true);
    lock.release();
  });

  it("NodeFileSystem.lock() raises LockedError for a holder on another host, leaving its file alone", () => {
    writeHolder(lockPath, { pid: 1234, host: "elsewhere.example", acquiredAt: "2024-01-01T00:00:00.000Z" });
    const error = assertThrows(() => fs.lock(lockPath), LockedError);
    assertStringIncludes(error.message, "process 1234 on host elsewhere.example");
    assertStringIncludes(error.message, "remove the lock file");
    assertEquals(JSON.parse(nodeFs.readFileSync(lockPath, "utf8")).host, "elsewhere.example");
  });

  it("NodeFileSystem.lock() raises LockedError for a lock file with a missing or impossible pid", () => {
    for (const pid of [0, -1, 1.5, "42", undefined]) {
      writeHolder(lockPath, { pid, host: hostname(), acquiredAt: "2024-01-01T00:00:00.000Z" });
      assertThrows(() => fs.lock(lockPath), LockedError, "unreadable");
    }
  });

  it("NodeFileSystem.lock() takes over an empty lock file, which no complete lock ever is", () => {
    nodeFs.writeFileSync(lockPath, "");
    const lock = fs.lock(lockPath);
    assertEquals(lock.recoveredStale, true);
    assertEquals(JSON.parse(nodeFs.readFileSync(lockPath, "utf8")).pid, process.pid);
    lock.release();
  });

  it("NodeFileSystem.lock() leaves no draft file behind, whether it gets the lock or not", () => {
    const lock = fs.lock(lockPath);
    writeHolder(join(dir, "OTHER"), {
      pid: 1234,
      host: "elsewhere.example",
      acquiredAt: "2024-01-01T00:00:00.000Z",
    });
    assertThrows(() => fs.lock(join(dir, "OTHER")), LockedError);
    assertEquals(nodeFs.readdirSync(dir).sort(), ["LOCK", "OTHER"]);
    lock.release();
  });

  it("NodeFileSystem.lock() can be taken again after release()", () => {
    fs.lock(lockPath).release();
    const again = fs.lock(lockPath);
    assertEquals(again.recoveredStale, false);
    again.release();
  });
});

describe("MemoryFileSystem.lock()", () => {
  it("MemoryFileSystem.lock() raises LockedError for a second lock until release()", () => {
    const fs = new MemoryFileSystem();
    const lock = fs.lock("/LOCK");
    assertThrows(() => fs.lock("LOCK"), LockedError, "this process");
    lock.release();
    fs.lock("/LOCK").release();
  });

  it("MemoryFileSystem.crash() drops locks, and a durable lock file is then recovered as stale", async () => {
    const fs = new MemoryFileSystem();
    const lock = fs.lock("/LOCK");
    await fs.syncDir("/");
    fs.crash();
    assertEquals(fs.list("/"), ["LOCK"]);
    const again = fs.lock("/LOCK");
    assertEquals(again.recoveredStale, true);
    assertEquals(JSON.parse(new TextDecoder().decode(fs.readFile("/LOCK"))).boot, 2);
    // The lock from before the crash is gone; releasing it must not free the new holder's lock.
    lock.release();
    assertThrows(() => fs.lock("/LOCK"), LockedError);
    again.release();
    assertEquals(fs.stat("/LOCK"), undefined);
  });

  it("MemoryFileSystem.crash() loses a lock file whose directory entry was never synced", () => {
    const fs = new MemoryFileSystem();
    fs.lock("/LOCK");
    fs.crash();
    assertEquals(fs.list("/"), []);
    assertEquals(fs.lock("/LOCK").recoveredStale, false);
  });
});
