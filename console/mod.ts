/**
 * HestiaStore for TypeScript — the web console: one page for every node's
 * state, metrics, actions and runtime configuration, talking to each node
 * only through its management agent's HTTP API.
 *
 * ```ts ignore
 * import { createConsole, parseConsoleConfig } from "./mod.ts";
 * import { serveConsole } from "./deno.ts";
 *
 * const config = parseConsoleConfig(JSON.parse(await Deno.readTextFile("console.json")), Deno.env.toObject());
 * const served = await serveConsole(await createConsole(config), { port: 8090 });
 * console.log(`open ${served.url}`);
 * ```
 *
 * @module
 */
export { type ConsoleOptions, type ConsoleServer, createConsole } from "./create_console.ts";
export { type ConsoleConfig, type NodeConfig, parseConsoleConfig, type UserConfig } from "./config.ts";
export { hashPassword, verifyPassword } from "./password.ts";
export { buildClient, type ClientBundle } from "./bundle.ts";
export type {
  ActionKind,
  ActionRecord,
  ActionStatus,
  ConsoleError,
  FleetTotals,
  FleetView,
  IndexSummary,
  NodeDetailView,
  NodeState,
  NodeView,
  RatePoint,
  WalHealth,
} from "./views.ts";
export { NODE_STATES } from "./views.ts";
