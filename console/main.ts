/**
 * Runs the console from one command, on Deno or on Node:
 *
 * ```sh
 * deno run -A console/main.ts --nodes console.json [--host 127.0.0.1] [--port 8090]
 * node --import tsx console/main.ts --nodes console.json [--host 127.0.0.1] [--port 8090]
 * ```
 *
 * The configuration file is described in docs/console.md.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { parseConsoleConfig } from "./config.ts";
import { createConsole } from "./create_console.ts";
import type { ServedConsole, ServeOptions } from "./_listen.ts";

const USAGE = "Usage: main.ts --nodes FILE [--host 127.0.0.1] [--port 8090]";

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      nodes: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || values.nodes === undefined) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const config = parseConsoleConfig(JSON.parse(readFileSync(values.nodes, "utf8")), process.env);
  const consoleServer = await createConsole(config);
  const serve: (c: typeof consoleServer, o: ServeOptions) => Promise<ServedConsole> = "Deno" in globalThis
    ? (await import("./deno.ts")).serveConsole
    : (await import("./node.ts")).serveConsole;
  let served: ServedConsole;
  try {
    served = await serve(consoleServer, {
      host: values.host,
      port: values.port === undefined ? undefined : Number(values.port),
    });
  } catch (error) {
    await consoleServer.close();
    throw error;
  }
  const access = consoleServer.loginRequired ? "sign-in required" : "no sign-in, loopback only";
  console.log(`HestiaStore console on ${served.url} (${config.nodes.length} node(s), ${access})`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await served.shutdown();
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  // Configuration and listen problems are the operator's to fix: the message, without a stack trace.
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
