/**
 * A fleet for the console's tools (screenshots, fan-out measurement): real
 * agents on loopback over real in-memory indexes with a steady synthetic
 * load, ports where nothing listens, and servers that never answer.
 *
 * @module
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type AgentServer, createAgent, MemoryAuditSink, newToken } from "../../agent/mod.ts";
import { MemoryFileSystem, SegmentIndex } from "../../engine/mod.ts";
import type { NodeConfig } from "../config.ts";

/** One agent to start: its id, display name, and index names with their initial keys. */
export interface DemoAgent {
  id: string;
  name: string;
  indexes: Record<string, number>;
}

/** What the fleet consists of. */
export interface DemoFleetSpec {
  agents: DemoAgent[];
  /** Node ids to configure on ports nothing listens on. */
  down?: string[];
  /** Node ids to configure on servers that take requests and never answer. */
  hanging?: string[];
  /** Gets and puts per index and second of synthetic load; 0 for none. @default 0 */
  opsPerSecond?: number;
}

/** A running demo fleet. */
export interface DemoFleet {
  /** Every node, in the order of the spec: agents, then down, then hanging. */
  nodes: NodeConfig[];
  close(): Promise<void>;
}

/** Starts the fleet; every agent's console token is an ADMIN console token. */
export async function startDemoFleet(spec: DemoFleetSpec): Promise<DemoFleet> {
  const { serveAgent } = "Deno" in globalThis
    ? await import("../../agent/deno.ts")
    : await import("../../agent/node.ts");
  const fs = new MemoryFileSystem();
  const indexes: SegmentIndex[] = [];
  const servers: AgentServer[] = [];
  const nodes: NodeConfig[] = [];
  for (const agent of spec.agents) {
    const managed = new Map<string, SegmentIndex>();
    for (const [name, keys] of Object.entries(agent.indexes)) {
      const index = await SegmentIndex.create(`/${agent.id}/${name}`, { fs, name, durability: "none" });
      const writes: Promise<void>[] = [];
      for (let i = 0; i < keys; i++) writes.push(index.put(keyOf(i), `value-${i}`));
      await Promise.all(writes);
      await index.flush();
      managed.set(name, index);
      indexes.push(index);
    }
    const { token, entry } = await newToken(`${agent.id}-console`, "ADMIN", { console: true });
    const app = createAgent({
      indexes: managed,
      security: { tokens: [entry] },
      audit: new MemoryAuditSink(),
      node: { nodeId: agent.id, nodeName: agent.name },
    });
    const server = await serveAgent(app, { port: 0 });
    servers.push(server);
    nodes.push({ id: agent.id, name: agent.name, baseUrl: server.url, token });
  }
  for (const id of spec.down ?? []) {
    nodes.push({ id, name: id, baseUrl: `http://127.0.0.1:${await freePort()}`, token: "hst_down" });
  }
  const hanging: Server[] = [];
  for (const id of spec.hanging ?? []) {
    const server = createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    hanging.push(server);
    nodes.push({
      id,
      name: id,
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: "x",
    });
  }
  const load = (spec.opsPerSecond ?? 0) > 0 ? startLoad(indexes, spec.opsPerSecond!) : undefined;
  return {
    nodes,
    async close() {
      clearInterval(load);
      for (const server of hanging) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      for (const server of servers) await server.shutdown();
      for (const index of indexes) await index.close();
    },
  };
}

/** Every 100 ms, a tenth of the per-second gets and puts on every index, with a little jitter. */
function startLoad(indexes: SegmentIndex[], opsPerSecond: number): ReturnType<typeof setInterval> {
  let next = 1_000_000;
  return setInterval(() => {
    for (const index of indexes) {
      const n = Math.max(1, Math.round(opsPerSecond / 10 * (0.5 + Math.random())));
      for (let i = 0; i < n; i++) index.get(keyOf(Math.floor(Math.random() * 1000)));
      for (let i = 0; i < n / 2; i++) void index.put(keyOf(next++), "load");
    }
  }, 100);
}

function keyOf(i: number): string {
  return `key-${String(i).padStart(7, "0")}`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
