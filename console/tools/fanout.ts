/**
 * Measures the console's fan-out: 50 nodes, of which 40 real agents answer,
 * 5 refuse connections and 5 never answer. Reports, per polling round, when
 * the last answering node was updated and when the round settled (which the
 * hanging nodes hold until their timeout).
 *
 * ```sh
 * deno run -A console/tools/fanout.ts [--rounds 5] [--timeout 1000]
 * node --import tsx console/tools/fanout.ts
 * ```
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { createConsole } from "../mod.ts";
import { startDemoFleet } from "./_demo_fleet.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { rounds: { type: "string", default: "5" }, timeout: { type: "string", default: "1000" } },
});
const rounds = Number(values.rounds);
const timeoutMs = Number(values.timeout);
const UP = 40;

const fleet = await startDemoFleet({
  agents: Array.from({ length: UP }, (_, i) => ({ id: `up-${i}`, name: `up-${i}`, indexes: { data: 500 } })),
  down: Array.from({ length: 5 }, (_, i) => `down-${i}`),
  hanging: Array.from({ length: 5 }, (_, i) => `hanging-${i}`),
});
const now = () => performance.timeOrigin + performance.now();
const consoleServer = await createConsole({
  nodes: fleet.nodes,
  requestTimeoutMs: timeoutMs,
  // Rounds are started below, one at a time; the background round is kept out of the way.
  pollIntervalMs: 3_600_000,
  client: { path: "/static/none.js", code: new Uint8Array() },
  now,
});
const upAfter: number[] = [];
const downAfter: number[] = [];
const settledAfter: number[] = [];
try {
  await consoleServer.refresh();
  for (let round = 0; round < rounds; round++) {
    const started = now();
    await consoleServer.refresh();
    settledAfter.push(now() - started);
    const response = await consoleServer.fetch(
      new Request("http://127.0.0.1/api/fleet", { headers: await session() }),
    );
    const view = await response.json() as { nodes: { id: string; state: string; lastPolledAt: number }[] };
    const up = view.nodes.filter((n) => n.id.startsWith("up-"));
    if (up.some((n) => n.state !== "UP")) throw new Error(`not every agent is UP: ${JSON.stringify(up)}`);
    upAfter.push(Math.max(...up.map((n) => n.lastPolledAt - started)));
    downAfter.push(
      Math.max(...view.nodes.filter((n) => n.id.startsWith("down-")).map((n) => n.lastPolledAt - started)),
    );
  }
} finally {
  await consoleServer.close();
  await fleet.close();
}

console.log(
  `Fan-out over ${fleet.nodes.length} nodes (${UP} up, 5 down, 5 hanging), request timeout ${timeoutMs} ms, ` +
    `${rounds} rounds on ${"Deno" in globalThis ? "Deno" : "Node"}:`,
);
console.log(`  last up node updated after   ${summary(upAfter)}`);
console.log(`  last down node updated after ${summary(downAfter)}`);
console.log(`  round settled after          ${summary(settledAfter)} (held by the hanging nodes' timeout)`);
console.log(
  `  a sequential poller would need at least ${5 * timeoutMs} ms per round for the hanging nodes alone`,
);

async function session(): Promise<Record<string, string>> {
  const page = await consoleServer.fetch(
    new Request("http://127.0.0.1/", { headers: { host: "127.0.0.1" } }),
  );
  return { host: "127.0.0.1", cookie: page.headers.get("set-cookie")!.split(";")[0] };
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `median ${median.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`;
}
