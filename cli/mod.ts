/**
 * HestiaStore for TypeScript — the `hestiastore` command and the one
 * package that depends on all four modules: {@linkcode startNode} runs a
 * complete node (engine, exporter, management agent and console) in this
 * process, with a switch per rollout stage. `cli/main.ts` is the command
 * line around it (`hestiastore serve`).
 *
 * ```ts ignore
 * import { startNode } from "./mod.ts";
 *
 * const node = await startNode({ data: "./data", port: 0, consolePort: 0, console: false });
 * console.log(node.agentUrl, node.tokens?.adminToken);
 * await node.close();
 * ```
 *
 * @module
 */
export { type RunningNode, startNode, type StartNodeOptions } from "./start_node.ts";
