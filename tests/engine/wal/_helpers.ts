/**
 * Shared by the write-ahead log tests: a durable empty index directory in
 * memory, small record builders, and opening a log while collecting what it
 * replays.
 *
 * @module
 */
import { MemoryFileSystem } from "../../../engine/fs/mem_fs.ts";
import type { FileSystem } from "../../../engine/fs/file_system.ts";
import {
  type RecoveryReport,
  type WalOp,
  type WalOptions,
  WriteAheadLog,
} from "../../../engine/wal/write_ahead_log.ts";

export const DIR = "/db";
export const WAL = "/db/wal";

/** One record handed to `replay`. */
export interface Replayed {
  lsn: number;
  ops: WalOp[];
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** The ops of a one-put record. */
export function put(key: string, value: string): WalOp[] {
  return [{ type: "put", key: utf8(key), value: utf8(value) }];
}

/** A memory file system holding a durable, empty index directory. */
export async function newFs(): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  fs.mkdir(DIR);
  await fs.syncDir("/");
  return fs;
}

/** Opens the log of `dir`, collecting the records it replays. */
export async function openWal(
  fs: FileSystem,
  options: WalOptions = {},
  dir = DIR,
): Promise<{ wal: WriteAheadLog; report: RecoveryReport; replayed: Replayed[] }> {
  const replayed: Replayed[] = [];
  const { wal, report } = await WriteAheadLog.open(
    fs,
    dir,
    options,
    (lsn, ops) => replayed.push({ lsn, ops }),
  );
  return { wal, report, replayed };
}
