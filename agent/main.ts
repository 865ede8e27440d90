/**
 * Runs a node: opens (or creates) the named indexes under a data
 * directory and serves the management agent for them, until SIGINT or
 * SIGTERM closes everything cleanly.
 *
 * ```sh
 * deno run -A agent/main.ts --data ./data --index orders --index users
 * node --import tsx agent/main.ts --data ./data --index orders --tokens agent-tokens.json \
 *   --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem --require-tls
 * ```
 *
 * Flags: `--port` (9001), `--host` (127.0.0.1), `--data` (./data),
 * `--index NAME` (repeatable), `--tokens FILE` (JSON `{"tokens": [...]}` of
 * entries made by `agent/token_new.ts`), `--tls-cert FILE` and
 * `--tls-key FILE`, `--require-tls`, `--audit FILE`
 * (`<data>/audit/audit.jsonl`), `--node-id` (the host name),
 * `--metrics-open`, `--cors ORIGIN` (repeatable), `--allow-insecure-remote`.
 *
 * @module
 */
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import type { SegmentIndex } from "../engine/mod.ts";
import { createAgent } from "./agent.ts";
import { FileAuditSink } from "./audit_sink.ts";
import {
  closeIndexes,
  onShutdownSignal,
  openIndexes,
  parsePort,
  readTlsFiles,
  readTokenFile,
  serveAgentOnRuntime,
} from "./host.ts";
import type { AgentServer } from "./serve_options.ts";

const USAGE = "Usage: main [--port N] [--host ADDR] [--data DIR] [--index NAME]… [--tokens FILE] " +
  "[--tls-cert FILE --tls-key FILE] [--require-tls] [--audit FILE] [--node-id ID] [--metrics-open] " +
  "[--cors ORIGIN]… [--allow-insecure-remote]";

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    args: process.argv.slice(2),
    options: {
      port: { type: "string", default: "9001" },
      host: { type: "string", default: "127.0.0.1" },
      data: { type: "string", default: "./data" },
      index: { type: "string", multiple: true, default: [] },
      tokens: { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "require-tls": { type: "boolean", default: false },
      audit: { type: "string" },
      "node-id": { type: "string", default: hostname() },
      "metrics-open": { type: "boolean", default: false },
      cors: { type: "string", multiple: true, default: [] },
      "allow-insecure-remote": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const port = parsePort(flags.port, "--port");
  const tokens = flags.tokens === undefined ? [] : readTokenFile(flags.tokens);
  const tls = readTlsFiles(flags["tls-cert"], flags["tls-key"]);
  const audit = await FileAuditSink.open(flags.audit ?? join(flags.data, "audit/audit.jsonl"));
  let indexes = new Map<string, SegmentIndex>();
  const closeAll = async () => {
    const closed = await closeIndexes(indexes.values());
    await audit.close();
    return closed;
  };
  let server: AgentServer;
  try {
    indexes = await openIndexes(flags.data, flags.index);
    const app = createAgent({
      indexes,
      audit,
      node: { nodeId: flags["node-id"] },
      security: {
        tokens,
        requireTls: flags["require-tls"],
        metricsOpen: flags["metrics-open"],
        ...(flags.cors.length === 0 ? {} : { cors: { origins: flags.cors } }),
      },
    });
    server = await serveAgentOnRuntime(app, {
      hostname: flags.host,
      port,
      ...tls,
      allowInsecureRemote: flags["allow-insecure-remote"],
    });
  } catch (error) {
    await closeAll();
    throw error;
  }
  const names = [...indexes.keys()].join(", ") || "none";
  console.log(`HestiaStore agent listening on ${server.url} (indexes: ${names})`);
  if (tokens.length === 0) console.log("No tokens configured: every caller is ADMIN");

  onShutdownSignal(async () => {
    await server.shutdown();
    return await closeAll() ? 0 : 1;
  });
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  console.error(USAGE);
  process.exit(2);
}
