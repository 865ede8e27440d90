/**
 * `checkAndRepairConsistency()`: verifies every table file byte by byte and
 * repairs what can be rebuilt from the data (Bloom filters, sparse indexes,
 * orphan table files). Damaged data cannot be repaired; it is reported.
 *
 * @module
 */
import { parseTableFileName, type TableLayout, type TableMeta, tablePath } from "./_table.ts";
import { BloomFilter } from "./format/bloom_filter.ts";
import { ChunkFileReader } from "./format/chunk_file.ts";
import { decodeSparseIndex, encodeSparseIndex, type SparseIndexEntry } from "./format/sparse_index.ts";
import { writeFileAtomic } from "./fs/atomic.ts";
import type { FileSystem } from "./fs/file_system.ts";
import { joinPath } from "./fs/path.ts";
import { compareBytes } from "./type_descriptor.ts";
import { UnsupportedFormatError } from "./errors.ts";
import type { ConsistencyReport } from "./segment_index.ts";

/** What the check needs to know of the index. */
export interface ConsistencyInput {
  fs: FileSystem;
  dir: string;
  layout: TableLayout;
  segments: {
    id: number;
    lower: Uint8Array | undefined;
    upper: Uint8Array | undefined;
    tables: TableMeta[];
  }[];
  /** Tables the index may still read: live ones, and obsolete ones a manifest or an open iterator still needs. */
  liveFiles: ReadonlySet<number>;
  /** Called after a table's sparse index or Bloom filter was replaced, so cached readers reload it. */
  dropReader(fileNo: number): void;
}

const REBUILT = "rebuilt from the data";
/** The action for a file this engine cannot read because a newer one wrote it: it is left alone. */
const NEWER = "none: written by a newer engine; open the index with that engine";

function describe(problem: string | Error): string {
  return typeof problem === "string" ? problem : problem.message;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Runs the check; see the module doc. */
export async function checkAndRepair(input: ConsistencyInput): Promise<ConsistencyReport> {
  const { fs, dir, layout } = input;
  const report: ConsistencyReport = {
    segmentsChecked: 0,
    tablesChecked: 0,
    chunksChecked: 0,
    keysChecked: 0,
    problems: [],
    removedFiles: [],
    rebuilt: [],
  };
  // Temporary files are left alone: one may belong to a commit in flight, and open removes those a crash left.
  for (const name of fs.list(dir)) {
    const fileNo = parseTableFileName(name);
    if (fileNo !== undefined && !input.liveFiles.has(fileNo)) {
      fs.remove(joinPath(dir, name));
      report.removedFiles.push(name);
    }
  }
  const seen = new Set<number>();
  for (const segment of input.segments) {
    report.segmentsChecked++;
    if (seen.has(segment.id)) {
      report.problems.push({
        segment: segment.id,
        problem: `segment id ${segment.id} is used twice`,
        action: "none",
      });
    }
    seen.add(segment.id);
    for (const table of segment.tables) {
      report.tablesChecked++;
      const keys = checkChunks(fs, dir, table, segment, report);
      if (keys === undefined) continue;
      await yieldToEventLoop();
      await checkSparse(fs, dir, table, keys.sparse, report, input);
      if (layout.bloomBitsPerKey > 0) {
        await checkBloom(fs, dir, table, keys.keys, layout.bloomBitsPerKey, report, input);
      }
    }
  }
  return report;
}

function inRange(key: Uint8Array, lower: Uint8Array | undefined, upper: Uint8Array | undefined): boolean {
  return (lower === undefined || compareBytes(key, lower) > 0) &&
    (upper === undefined || compareBytes(key, upper) <= 0);
}

/** Reads every chunk of a table; returns its keys and the sparse entries the data implies, or undefined if damaged. */
function checkChunks(
  fs: FileSystem,
  dir: string,
  table: TableMeta,
  segment: ConsistencyInput["segments"][number],
  report: ConsistencyReport,
): { keys: Uint8Array[]; sparse: SparseIndexEntry[] } | undefined {
  const path = tablePath(dir, table.fileNo, ".chunks");
  const keys: Uint8Array[] = [];
  const sparse: SparseIndexEntry[] = [];
  let handle;
  try {
    handle = fs.open(path, "read");
    const reader = ChunkFileReader.open(handle);
    let previous: Uint8Array | undefined;
    for (const chunk of reader.chunks()) {
      report.chunksChecked++;
      for (const key of chunk.keys) {
        if (previous && compareBytes(previous, key) >= 0) {
          throw new Error(`keys out of order in chunk at offset ${chunk.offset}`);
        }
        if (!inRange(key, segment.lower, segment.upper)) {
          report.problems.push({
            table: table.fileNo,
            segment: segment.id,
            problem:
              `${path}: a key in the chunk at offset ${chunk.offset} does not route to segment ${segment.id}`,
            action: "none: data is in the wrong segment",
          });
          return undefined;
        }
        previous = key;
        keys.push(key);
      }
      report.keysChecked += chunk.keys.length;
      sparse.push({
        lastKey: chunk.keys[chunk.keys.length - 1],
        offset: chunk.offset,
        length: chunk.length,
        entryCount: chunk.keys.length,
      });
    }
    if (keys.length !== table.entryCount) {
      throw new Error(`holds ${keys.length} entries, the manifest says ${table.entryCount}`);
    }
    return { keys, sparse };
  } catch (e) {
    report.problems.push({
      table: table.fileNo,
      segment: segment.id,
      problem: `${path}: ${(e as Error).message}`,
      action: e instanceof UnsupportedFormatError
        ? NEWER
        : "none: the data is damaged; restore the index from a backup",
    });
    return undefined;
  } finally {
    handle?.close();
  }
}

function sameEntries(a: readonly SparseIndexEntry[], b: readonly SparseIndexEntry[]): boolean {
  return a.length === b.length &&
    a.every((e, i) =>
      e.offset === b[i].offset && e.length === b[i].length && e.entryCount === b[i].entryCount &&
      compareBytes(e.lastKey, b[i].lastKey) === 0
    );
}

async function checkSparse(
  fs: FileSystem,
  dir: string,
  table: TableMeta,
  expected: SparseIndexEntry[],
  report: ConsistencyReport,
  input: ConsistencyInput,
): Promise<void> {
  const path = tablePath(dir, table.fileNo, ".sparse");
  let problem: string | Error | undefined;
  try {
    if (!sameEntries(decodeSparseIndex(fs.readFile(path), path).entries, expected)) {
      problem = "the sparse index does not match the chunks";
    }
  } catch (e) {
    problem = e as Error;
  }
  if (problem === undefined) return;
  if (problem instanceof UnsupportedFormatError) {
    report.problems.push({ table: table.fileNo, problem: `${path}: ${problem.message}`, action: NEWER });
    return;
  }
  await writeFileAtomic(fs, path, encodeSparseIndex(expected));
  input.dropReader(table.fileNo);
  report.problems.push({ table: table.fileNo, problem: `${path}: ${describe(problem)}`, action: REBUILT });
  report.rebuilt.push({ fileNo: table.fileNo, file: "sparse" });
}

async function checkBloom(
  fs: FileSystem,
  dir: string,
  table: TableMeta,
  keys: Uint8Array[],
  bitsPerKey: number,
  report: ConsistencyReport,
  input: ConsistencyInput,
): Promise<void> {
  const path = tablePath(dir, table.fileNo, ".bloom");
  let problem: string | Error | undefined;
  try {
    const filter = BloomFilter.decode(fs.readFile(path), path);
    if (!keys.every((k) => filter.mayContain(k))) problem = "the Bloom filter misses keys of the table";
  } catch (e) {
    problem = e as Error;
  }
  if (problem === undefined) return;
  if (problem instanceof UnsupportedFormatError) {
    report.problems.push({ table: table.fileNo, problem: `${path}: ${problem.message}`, action: NEWER });
    return;
  }
  const filter = new BloomFilter({ expectedKeys: keys.length, bitsPerKey });
  for (const key of keys) filter.add(key);
  await writeFileAtomic(fs, path, filter.encode());
  input.dropReader(table.fileNo);
  report.problems.push({ table: table.fileNo, problem: `${path}: ${describe(problem)}`, action: REBUILT });
  report.rebuilt.push({ fileNo: table.fileNo, file: "bloom" });
}
