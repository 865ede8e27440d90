/**
 * The README's serve command, as written (`npx -y deno@2.9.6 task serve`,
 * flags appended), stops gracefully on a SIGTERM sent to the `npx` process
 * only, as a process supervisor sends it: the signal has to travel npx →
 * `deno task` → the node. A request in flight when it arrives is answered,
 * the command exits 0, nothing is left listening, and the data folder
 * reopens cleanly with the data the demo load wrote.
 *
 * @module
 */
import { assert, assertEquals, assertGreater, assertMatch } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { rmSync } from "node:fs";
import { connect } from "node:net";
import process from "node:process";
import { SegmentIndex } from "../../engine/mod.ts";
import { adminToken, call, portOf, refusesConnections, ROOT, ServeProcess } from "./_serve_process.ts";

const DATA = "out/tests/cli/serve_shutdown";
const INDEXES = ["default", "orders"];

describe("npx -y deno@2.9.6 task serve", () => {
  it("on SIGTERM to npx: answers the request in flight, flushes, closes, exits 0, and the data reopens", async () => {
    rmSync(`${ROOT}${DATA}`, { recursive: true, force: true });
    const node = new ServeProcess([
      "npx",
      "-y",
      "deno@2.9.6",
      "task",
      "serve",
      ...["--data", DATA, "--port", "0", "--console-port", "0", "--demo-load"],
      ...INDEXES.flatMap((name) => ["--index", name]),
    ]);
    let nodePid = 0;
    try {
      // Generous: the first run of the task may install the npm packages.
      const agent = await node.url("Agent", 300_000);
      const token = await adminToken(node);
      nodePid = Number((await node.waitFor(/^Stop with Ctrl-C or SIGTERM \(process (\d+)\)/m))[1]);
      assertEquals((await call(`${agent}/health`)).status, 200);
      await waitForPuts(`${agent}/metrics`, token);

      // A request the server has begun but not finished: headers and half the body sent.
      const body = JSON.stringify({ requestId: "serve-shutdown-flush", indexName: "orders" });
      const inFlight = new RawRequest(
        portOf(agent),
        [
          "POST /api/v1/actions/flush HTTP/1.1",
          `Host: 127.0.0.1:${portOf(agent)}`,
          `Authorization: Bearer ${token}`,
          "Content-Type: application/json",
          `Content-Length: ${body.length}`,
          "Connection: close",
          "",
          body.slice(0, 10),
        ].join("\r\n"),
      );
      await inFlight.sent;
      await new Promise((resolve) => setTimeout(resolve, 300));

      node.signal("SIGTERM");
      await node.waitFor(/^SIGTERM: closing$/m, 30_000);
      inFlight.send(body.slice(10));
      const response = await inFlight.response;
      assertMatch(response, /^HTTP\/1\.1 200 /);
      assertMatch(response, /"status":"COMPLETED"/);

      assertEquals(await node.exited(60_000), { code: 0, signal: null }, node.output);
      assertMatch(node.output, /Closed cleanly\./);
      assert(await refusesConnections(portOf(agent)), "the agent still listens after the command exited");
    } finally {
      await node.dispose();
      // Should the signal not have reached the node, it must not outlive the test.
      if (nodePid > 0) killIfAlive(nodePid);
    }

    for (const name of INDEXES) {
      const index = await SegmentIndex.open(`${ROOT}${DATA}/${name}`);
      try {
        assertEquals(index.state, "READY");
        // A clean close leaves nothing for the write-ahead log to replay.
        assertEquals(index.recovery?.replayedRecords, 0);
        assertEquals(index.recovery?.droppedBytes, 0);
        if (name === "default") assertGreater([...index.range()].length, 0);
      } finally {
        await index.close();
      }
    }
  });
});

function killIfAlive(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Gone already, as it should be.
  }
}

/** Polls `/metrics` until the demo load's writes show. */
async function waitForPuts(url: string, token: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const metrics = await call(url, { token });
    const puts = Number(/^hestiastore_ops_put_total\{index="default"\} (\d+)$/m.exec(metrics.text)?.[1] ?? 0);
    if (puts > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("The demo load wrote nothing within 10 s");
}

/** An HTTP/1.1 request written by hand over TCP, so it can stop halfway. */
class RawRequest {
  readonly sent: Promise<void>;
  readonly response: Promise<string>;
  readonly #socket;

  constructor(port: number, head: string) {
    this.#socket = connect(port, "127.0.0.1");
    this.sent = new Promise((resolve, reject) => {
      this.#socket.once("error", reject);
      this.#socket.once("connect", () => this.#socket.write(head, () => resolve()));
    });
    this.response = new Promise((resolve, reject) => {
      let text = "";
      this.#socket.on("data", (chunk: Uint8Array) => text += new TextDecoder().decode(chunk));
      this.#socket.once("error", reject);
      this.#socket.once("close", () => resolve(text));
    });
  }

  send(rest: string): void {
    this.#socket.write(rest);
  }
}
