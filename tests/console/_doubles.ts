/**
 * Test doubles for the console's unit tests: a `fetch` that answers from a
 * function (or refuses, or never answers), and a real report taken from a
 * real agent in memory, to modify per case.
 *
 * @module
 */
import { createAgent, MemoryAuditSink } from "../../agent/mod.ts";
import { type NodeReport, NodeReportSchema, REPORT } from "../../agent/api/mod.ts";
import { MemoryFileSystem, SegmentIndex } from "../../engine/mod.ts";
import type { ClientBundle, NodeConfig } from "../../console/mod.ts";

/** What the fake node does with a request. */
export type Behaviour = Response | "refuse" | "reset" | "hang";

/** One request the fake saw. */
export interface Call {
  method: string;
  url: string;
  headers: Headers;
  body: unknown;
}

/** A `fetch` whose answers come from `answer`; every call is recorded in `calls`. */
export function fakeFetch(
  answer: (call: Call) => Behaviour | Promise<Behaviour>,
): typeof fetch & { calls: Call[] } {
  const calls: Call[] = [];
  const fn = async (input: string | URL | Request, init: RequestInit = {}) => {
    const request = new Request(input, init);
    const text = await request.text();
    const call = {
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: text ? JSON.parse(text) : undefined,
    };
    calls.push(call);
    const behaviour = await answer(call);
    if (behaviour === "refuse") {
      throw Object.assign(new TypeError("fetch failed"), {
        cause: { code: "ECONNREFUSED", message: "connect ECONNREFUSED" },
      });
    }
    if (behaviour === "reset") {
      throw new TypeError("error sending request: connection reset by peer (os error 104)");
    }
    if (behaviour === "hang") {
      return await new Promise<Response>((_, reject) => {
        const signal = init.signal!;
        // A real hanging connection keeps the process alive; AbortSignal.timeout's own timer does not.
        const alive = setInterval(() => {}, 60_000);
        const fail = () => {
          clearInterval(alive);
          reject(signal.reason);
        };
        if (signal.aborted) fail();
        else signal.addEventListener("abort", fail, { once: true });
      });
    }
    return behaviour;
  };
  return Object.assign(fn as typeof fetch, { calls });
}

/** A JSON response. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** The report of a real agent over two real in-memory indexes, `orders` (with traffic) and `users`. */
export async function realReport(): Promise<NodeReport> {
  const fs = new MemoryFileSystem();
  const orders = await SegmentIndex.create("/orders", { fs, name: "orders" });
  const users = await SegmentIndex.create("/users", { fs, name: "users" });
  await Promise.all([orders.put("a", "1"), orders.put("b", "2"), users.put("x", "y")]);
  orders.get("a");
  const app = createAgent({
    indexes: new Map([["orders", orders], ["users", users]]),
    security: { tokens: [] },
    audit: new MemoryAuditSink(),
    node: { nodeId: "n1" },
  });
  const report = NodeReportSchema.parse(await (await app.request(REPORT)).json());
  await orders.close();
  await users.close();
  return report;
}

/** `report` with its counters, states and times changed as `change` says. */
export function variant(report: NodeReport, change: (r: NodeReport) => void): NodeReport {
  const copy = structuredClone(report);
  change(copy);
  return copy;
}

export const NODE: NodeConfig = {
  id: "n1",
  name: "Node one",
  baseUrl: "http://node-1.test:9001",
  token: "hst_secret_token",
};

/** A bundle that is not built, for tests that do not run a browser. */
export const NO_BUNDLE: ClientBundle = {
  path: "/static/client.test.js",
  code: new TextEncoder().encode("/* test */"),
};
