/**
 * Verifies the hash chain of audit-trail files and names the first broken
 * line.
 *
 * ```sh
 * deno run -A agent/audit_verify.ts audit.jsonl*
 * node --import tsx agent/audit_verify.ts audit.jsonl*
 * ```
 *
 * Files may come in any order; rotated ones (`audit.jsonl.2`, `.1`) are
 * walked before the active one. Prints one line and exits 0 when the chain
 * holds, 1 when it is broken, 2 on a usage error or an unreadable file.
 *
 * @module
 */
import process from "node:process";
import { verifyAuditFiles } from "./audit_sink.ts";

const USAGE = "Usage: audit_verify FILE… (every file of one trail, e.g. audit.jsonl*)";

async function main(args: string[]): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  if (args.length === 0 || args.some((arg) => arg.startsWith("-"))) {
    console.error(USAGE);
    return 2;
  }
  let result;
  try {
    result = await verifyAuditFiles(args);
  } catch (error) {
    console.error(`Cannot verify the audit trail: ${error instanceof Error ? error.message : error}`);
    return 2;
  }
  const files = `${result.files.length} file${result.files.length === 1 ? "" : "s"}`;
  if (result.firstBroken === undefined) {
    console.log(`ok: ${result.entries} entries in ${files}, chain intact`);
    return 0;
  }
  const { file, line, reason } = result.firstBroken;
  console.log(`broken: ${file}:${line}: ${reason} (${result.entries} entries verified before it, ${files})`);
  return 1;
}

process.exitCode = await main(process.argv.slice(2));
