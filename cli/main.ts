/**
 * The `hestiastore` command. `serve` runs a complete node until SIGINT or
 * SIGTERM: the indexes under a data folder, the exporter, the management
 * agent and the console (see `start_node.ts` for the stages and their
 * switches).
 *
 * ```sh
 * deno run -A cli/main.ts serve [flags]
 * node --import tsx cli/main.ts serve [flags]
 * npx -y deno@2.9.6 task serve [flags]     # the same, from a clone of the repository
 * ```
 *
 * Every flag also reads an environment variable (the flag wins); see
 * {@linkcode HELP} or `--help`.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { onShutdownSignal, parsePort, readTlsFiles } from "../agent/host.ts";
import { VERSION } from "../exporters/mod.ts";
import { type RunningNode, startNode, type StartNodeOptions } from "./start_node.ts";

const HELP = `hestiastore ${VERSION}

Usage: hestiastore serve [flags]

Runs a node: the indexes under a data folder, the Prometheus exporter, the
management agent and the web console, until SIGINT (Ctrl-C) or SIGTERM,
which finish the requests in flight, flush and close the indexes, and exit 0.

Flags (environment variable in brackets; the flag wins):
  --data DIR             data folder, created if missing [HESTIA_DATA] (./data)
  --index NAME           index to open or create in DIR/NAME; repeatable [HESTIA_INDEX, comma-separated] (default)
  --host ADDR            address to listen on [HESTIA_HOST] (127.0.0.1)
  --port N               agent port, 0 for any free one [HESTIA_PORT] (9001)
  --console-port N       console port, 0 for any free one [HESTIA_CONSOLE_PORT] (8090)
  --tokens FILE          tokens file, created on the first start [HESTIA_TOKENS] (DIR/tokens.json)
  --tls-cert FILE        PEM certificate chain: the agent serves HTTPS [HESTIA_TLS_CERT]
  --tls-key FILE         its PEM private key [HESTIA_TLS_KEY]
  --console-nodes FILE   the console watches the nodes of this console configuration instead of this node
                         [HESTIA_CONSOLE_NODES]
  --demo-load            drive a mixed read, write and scan workload so the numbers move [HESTIA_DEMO_LOAD=1]
Stage switches, to roll one stage back while the ones below keep running:
  --no-console           no console (stage D) [HESTIA_NO_CONSOLE=1]
  --no-agent             no agent (stage C) and so no console; /metrics alone on --port [HESTIA_NO_AGENT=1]
  --no-exporter          no /metrics (stage B): the agent answers 404 there [HESTIA_NO_EXPORTER=1]
                         (with --no-agent: the engine alone, nothing listens)
  -h, --help             this text
`;

const FLAGS = {
  data: { type: "string" },
  index: { type: "string", multiple: true },
  host: { type: "string" },
  port: { type: "string" },
  "console-port": { type: "string" },
  tokens: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "console-nodes": { type: "string" },
  "demo-load": { type: "boolean" },
  "no-console": { type: "boolean" },
  "no-agent": { type: "boolean" },
  "no-exporter": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Env = Record<string, string | undefined>;

/**
 * The options of `startNode` for the flags of `serve`, each falling back to
 * its environment variable; reads the TLS and console-nodes files.
 *
 * @returns `undefined` when `--help` was asked for.
 * @throws {TypeError | RangeError} For a flag or variable that cannot be used.
 */
async function nodeOptions(args: string[], env: Env): Promise<StartNodeOptions | undefined> {
  // `deno task serve -- --port 1` passes the "--" on (npm users type it out of habit): it separates nothing here.
  const { values, positionals } = parseArgs({
    args: args[0] === "--" ? args.slice(1) : args,
    options: FLAGS,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new TypeError(`Unexpected argument '${positionals[0]}'`);
  if (values.help) return undefined;
  const text = (flag: string | undefined, variable: string) => flag ?? (env[variable] || undefined);
  const label = (flag: string | undefined, name: string, variable: string) =>
    flag === undefined ? variable : name;
  const bool = (flag: boolean | undefined, variable: string) => {
    const value = env[variable];
    if (flag !== undefined || !value) return flag === true;
    if (!/^(1|true|0|false)$/.test(value)) {
      throw new TypeError(`${variable} must be 1, true, 0 or false, got '${value}'`);
    }
    return value === "1" || value === "true";
  };
  const data = text(values.data, "HESTIA_DATA");
  const indexes = values.index ??
    env.HESTIA_INDEX?.split(",").map((name) => name.trim()).filter((name) => name);
  const host = text(values.host, "HESTIA_HOST");
  const port = text(values.port, "HESTIA_PORT");
  const consolePort = text(values["console-port"], "HESTIA_CONSOLE_PORT");
  const tokensFile = text(values.tokens, "HESTIA_TOKENS");
  const tls = readTlsFiles(
    text(values["tls-cert"], "HESTIA_TLS_CERT"),
    text(values["tls-key"], "HESTIA_TLS_KEY"),
  );
  const nodesFile = text(values["console-nodes"], "HESTIA_CONSOLE_NODES");
  // Imported only when needed: the console's modules load only when it runs (see start_node.ts).
  const consoleNodes = nodesFile === undefined
    ? undefined
    : (await import("../console/mod.ts")).parseConsoleConfig(
      JSON.parse(readFileSync(nodesFile, "utf8")),
      env,
    );
  return {
    ...(data === undefined ? {} : { data }),
    ...(indexes === undefined || indexes.length === 0 ? {} : { indexes }),
    ...(host === undefined ? {} : { host }),
    ...(port === undefined ? {} : { port: parsePort(port, label(values.port, "--port", "HESTIA_PORT")) }),
    ...(consolePort === undefined ? {} : {
      consolePort: parsePort(
        consolePort,
        label(values["console-port"], "--console-port", "HESTIA_CONSOLE_PORT"),
      ),
    }),
    ...(tokensFile === undefined ? {} : { tokensFile }),
    ...(tls === undefined ? {} : { tls }),
    ...(consoleNodes === undefined ? {} : { consoleNodes }),
    demoLoad: bool(values["demo-load"], "HESTIA_DEMO_LOAD"),
    console: !bool(values["no-console"], "HESTIA_NO_CONSOLE"),
    agent: !bool(values["no-agent"], "HESTIA_NO_AGENT"),
    exporter: !bool(values["no-exporter"], "HESTIA_NO_EXPORTER"),
  };
}

/** What a person needs to use the node: where each part listens and how to sign in. */
function describe(node: RunningNode): string {
  const lines: string[] = [];
  const names = [...node.indexes.values()].map((index) => `${index.name} (${index.directory})`).join(", ");
  lines.push(`HestiaStore ${VERSION} node running. Indexes: ${names}`);
  if (node.agentUrl) {
    lines.push(
      `  Agent    ${node.agentUrl}  (REST API under /api/v1, e.g. /api/v1/report; OpenAPI: /api/v1/openapi.json)`,
    );
  }
  if (node.metricsUrl) {
    const access = node.agentUrl
      ? "Prometheus; a READ token or better"
      : "Prometheus; exporter alone, no token";
    lines.push(`  Metrics  ${node.metricsUrl}  (${access})`);
  }
  if (node.consoleUrl) {
    const signIn = {
      "admin-token": "sign in with the admin token",
      configured: "sign in as the console configuration says",
      none: "no sign-in: loopback only",
    }[node.consoleSignIn];
    lines.push(`  Console  ${node.consoleUrl}  (${signIn})`);
  }
  if (!node.agentUrl) {
    lines.push(
      node.metricsUrl
        ? "  Agent and console off (--no-agent)."
        : "  Engine only: agent, exporter and console off; nothing listens.",
    );
  } else if (!node.consoleUrl) {
    lines.push("  Console off (--no-console).");
  }
  if (node.agentUrl && !node.metricsUrl) lines.push("  Exporter off (--no-exporter): /metrics answers 404.");
  if (node.demoLoad) lines.push(`  Demo load: ${node.demoLoad}`);
  const tokens = node.tokens;
  if (tokens?.adminToken) {
    lines.push(
      "",
      `Admin token (ADMIN role), shown only this once; only its hash is stored, in ${tokens.file}:`,
      "",
      `  ${tokens.adminToken}`,
      "",
      `Try: curl -H "Authorization: Bearer ${tokens.adminToken}" ${node.agentUrl}/api/v1/report`,
    );
  } else if (tokens) {
    lines.push(
      "",
      `Tokens: ${tokens.count} stored as hashes in ${tokens.file}; the admin token was shown at the first start.`,
      `  Another token: deno task token:new <id> <READ|OPERATE|ADMIN>, then add its entry to "tokens" in that file.`,
      `  A new admin token: delete that file and start again; a new one is made and shown once.`,
    );
  }
  lines.push(
    "",
    `Stop with Ctrl-C or SIGTERM (process ${process.pid}): requests in flight finish, the indexes are flushed and ` +
      "closed.",
  );
  return lines.join("\n");
}

async function serve(args: string[]): Promise<void> {
  let options: StartNodeOptions | undefined;
  try {
    options = await nodeOptions(args, process.env);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    console.error("Run 'hestiastore serve --help' for the flags.");
    process.exit(2);
  }
  if (options === undefined) {
    console.log(HELP);
    return;
  }
  // Nothing else may hold the event loop open (engine alone, without load) until a signal arrives.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const starting = startNode(options);
  // Registered before the start finishes, so a signal during start-up still closes what opened.
  onShutdownSignal(async () => {
    clearInterval(keepAlive);
    const node = await starting.catch(() => undefined);
    const ok = node === undefined ? false : await node.close();
    console.log(ok ? "Closed cleanly." : "Closed with errors (see above).");
    return ok ? 0 : 1;
  });
  let node: RunningNode;
  try {
    node = await starting;
  } catch (error) {
    console.error(`Cannot start the node: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
  console.log(describe(node));
}

const [command, ...rest] = process.argv.slice(2);
if (command === "serve") {
  await serve(rest);
} else if (command === undefined || command === "--help" || command === "-h" || command === "help") {
  console.log(HELP);
} else {
  console.error(`Unknown command '${command}'.\n\n${HELP}`);
  process.exit(2);
}
