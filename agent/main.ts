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
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import process from "node:process";
import { parseArgs } from "node:util";
import { joinPath } from "../engine/fs/path.ts";
import { SegmentIndex } from "../engine/mod.ts";
import { type AgentSecurity, createAgent } from "./agent.ts";
import { FileAuditSink } from "./audit_sink.ts";
import { parseTokenEntries } from "./tokens.ts";
import type { AgentServer, ServeAgentOptions } from "./serve_options.ts";
import type { AgentApp } from "./agent.ts";

const USAGE = "Usage: main [--port N] [--host ADDR] [--data DIR] [--index NAME]… [--tokens FILE] " +
  "[--tls-cert FILE --tls-key FILE] [--require-tls] [--audit FILE] [--node-id ID] [--metrics-open] " +
  "[--cors ORIGIN]… [--allow-insecure-remote]";

function readTokens(path: string | undefined): AgentSecurity["tokens"] {
  if (path === undefined) return [];
  const config = JSON.parse(readFileSync(path, "utf8"));
  return parseTokenEntries(config?.tokens);
}

async function serve(app: AgentApp, options: ServeAgentOptions): Promise<AgentServer> {
  const adapter = "Deno" in globalThis ? await import("./deno.ts") : await import("./node.ts");
  return await adapter.serveAgent(app, options);
}

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
  if (!/^\d{1,5}$/.test(flags.port)) {
    throw new RangeError(`--port must be a port number, got '${flags.port}'`);
  }
  const tokens = readTokens(flags.tokens);
  const cert = flags["tls-cert"];
  const key = flags["tls-key"];
  const tls = {
    ...(cert === undefined ? {} : { cert: readFileSync(cert, "utf8") }),
    ...(key === undefined ? {} : { key: readFileSync(key, "utf8") }),
  };
  const audit = await FileAuditSink.open(flags.audit ?? joinPath(flags.data, "audit/audit.jsonl"));
  const indexes = new Map<string, SegmentIndex>();
  const closeAll = async () => {
    const closed = await Promise.allSettled([...indexes.values()].map((index) => index.close()));
    for (const result of closed) if (result.status === "rejected") console.error(result.reason);
    await audit.close();
    return closed.every((result) => result.status === "fulfilled");
  };
  let server: AgentServer;
  try {
    for (const name of flags.index) {
      const directory = joinPath(flags.data, name);
      indexes.set(
        name,
        await SegmentIndex.tryOpen(directory, { name }) ?? await SegmentIndex.create(directory, { name }),
      );
    }
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
    server = await serve(app, {
      hostname: flags.host,
      port: Number(flags.port),
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

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing`);
    await server.shutdown();
    process.exit(await closeAll() ? 0 : 1);
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  console.error(USAGE);
  process.exit(2);
}
