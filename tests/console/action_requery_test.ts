/**
 * A real agent and an action that outlives the console's action timeout:
 * the console asks again with the same requestId, the agent joins or
 * replays the one execution, and the result arrives — no second run.
 *
 * The compaction is held until a second request for it has reached the
 * agent, so the re-query is certain however slow the machine is (a first
 * attempt may time out before it even arrives).
 *
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { afterAll, beforeAll, describe, it } from "@std/testing/bdd";
import { rmSync } from "node:fs";
import {
  type AgentServer,
  createAgent,
  type ManagedIndex,
  MemoryAuditSink,
  newToken,
} from "../../agent/mod.ts";
import { SegmentIndex } from "../../engine/mod.ts";
import { type ActionRecord, type ConsoleServer, createConsole } from "../../console/mod.ts";
import { NO_BUNDLE } from "./_doubles.ts";
import { scratchDir } from "./_scratch.ts";

const ACTION_TIMEOUT_MS = 40;

describe("console action re-query against a real agent", () => {
  const dir = scratchDir("requery");
  let index: SegmentIndex;
  let audit: MemoryAuditSink;
  let server: AgentServer;
  let c: ConsoleServer;

  beforeAll(async () => {
    index = await SegmentIndex.create(`${dir}/big`, { name: "big", durability: "none" });
    for (let round = 0; round < 4; round++) {
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 1_000; i++) {
        writes.push(index.put(`key-${String(i * 4 + round).padStart(8, "0")}`, "v".repeat(40)));
      }
      await Promise.all(writes);
      await index.flush();
    }
    const { token, entry } = await newToken("console", "OPERATE", { console: true });
    audit = new MemoryAuditSink();
    let secondArrived!: () => void;
    const compactRequests = new Promise<void>((resolve) => secondArrived = resolve);
    let arrived = 0;
    const held: ManagedIndex = {
      get state() {
        return index.state;
      },
      metrics: () => index.metrics(),
      flush: () => index.flush(),
      compact: async () => {
        await compactRequests;
        await index.compact();
      },
      config: () => index.config(),
      validateConfig: (patch) => index.validateConfig(patch),
      applyConfig: (patch, revision) => index.applyConfig(patch, revision),
    };
    const app = createAgent({
      indexes: new Map([["big", held]]),
      security: { tokens: [entry] },
      audit,
      node: { nodeId: "n1" },
    });
    const handle = app.fetch;
    app.fetch = (request, ...rest) => {
      if (new URL(request.url).pathname.endsWith("/compact") && ++arrived === 2) secondArrived();
      return handle(request, ...rest);
    };
    const { serveAgent } = "Deno" in globalThis
      ? await import("../../agent/deno.ts")
      : await import("../../agent/node.ts");
    server = await serveAgent(app, { port: 0 });
    c = await createConsole({
      nodes: [{ id: "n1", name: "Node one", baseUrl: server.url, token }],
      client: NO_BUNDLE,
      actionTimeoutMs: ACTION_TIMEOUT_MS,
      pollIntervalMs: 60_000,
    });
  });

  afterAll(async () => {
    await c.close();
    await server.shutdown();
    await index.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("asks again with the same requestId and reports the single execution's result", async () => {
    const host = { host: "127.0.0.1:8090" };
    const page = await c.fetch(new Request("http://127.0.0.1:8090/", { headers: host }));
    const cookie = page.headers.get("set-cookie")!.split(";")[0];
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(await page.text())![1];
    const posted = await c.fetch(
      new Request("http://127.0.0.1:8090/api/nodes/n1/actions/compact", {
        method: "POST",
        headers: { ...host, cookie, "x-csrf-token": csrf, "content-type": "application/json" },
        body: JSON.stringify({ indexName: "big" }),
      }),
    );
    let record: ActionRecord = await posted.json();
    assertEquals(posted.status, 202, "still running when the console's wait ended");
    assertEquals(record.status, "PENDING");
    while (record.status === "PENDING") {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const answer = await c.fetch(
        new Request(`http://127.0.0.1:8090/api/actions/${record.requestId}`, {
          headers: { ...host, cookie },
        }),
      );
      record = await answer.json();
    }
    assertEquals(record.status, "COMPLETED");
    assert(record.attempts >= 2, `attempts: ${record.attempts}`);
    assertEquals(record.results.map((r) => [r.indexName, r.status]), [["big", "COMPLETED"]]);
    // The agent writes an outcome record once a request's handler is done, which may be just after its answer.
    const outcomes = () =>
      audit.entries.filter((e) => e.requestId === record.requestId && e.phase === "outcome").map((e) =>
        e.outcome
      );
    for (let waited = 0; !outcomes().includes("REPLAYED") && waited < 5000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assertEquals(outcomes().filter((o) => o === "SUCCEEDED").length, 1, `one execution: ${outcomes()}`);
    assert(outcomes().includes("REPLAYED"), `a re-query joined or replayed it: ${outcomes()}`);
    assertEquals(index.metrics().segments.deltaFiles, 0);
  });
});
