import { assertEquals, assertMatch } from "@std/assert";
import { beforeAll, describe, it } from "@std/testing/bdd";
import type { NodeReport } from "../../agent/api/mod.ts";
import { Poller } from "../../console/_poller.ts";
import { type Behaviour, fakeFetch, json, NODE, realReport, variant } from "./_doubles.ts";

function pollerWith(answers: Behaviour[] | ((i: number) => Behaviour), clock = { now: 1_000_000 }) {
  let i = 0;
  const fetch = fakeFetch(() => {
    const answer = typeof answers === "function" ? answers(i) : answers[Math.min(i, answers.length - 1)];
    i++;
    return answer instanceof Response ? answer.clone() : answer;
  });
  const poller = new Poller({
    nodes: [NODE],
    fetch,
    now: () => clock.now,
    pollIntervalMs: 1000,
    requestTimeoutMs: 50,
    maxConcurrentPolls: 4,
    seriesLength: 3,
  });
  return { poller, fetch, clock };
}

describe("Poller", () => {
  let report: NodeReport;
  beforeAll(async () => {
    report = await realReport();
  });

  it("shows UNKNOWN until the first answer", () => {
    const { poller } = pollerWith([json(report)]);
    const row = poller.fleet().nodes[0];
    assertEquals([row.state, row.reason, row.lastSeen], ["UNKNOWN", "Waiting for the first answer", null]);
  });

  it("is UP when every index is READY, with the report's figures and the token sent as Bearer", async () => {
    const { poller, fetch, clock } = pollerWith([json(report)]);
    await poller.refresh();
    const fleet = poller.fleet();
    const row = fleet.nodes[0];
    assertEquals([row.state, row.reason, row.lastSeen], ["UP", "", clock.now]);
    assertEquals(
      row.indexes.map((i) => [i.name, i.totalKeys, i.gets, i.puts]),
      report.indexes.map((s) => [
        s.indexName,
        s.segments.totalKeys,
        s.operations.gets,
        s.operations.puts,
      ]),
    );
    assertEquals(fetch.calls[0].url, "http://node-1.test:9001/api/v1/report");
    assertEquals(fetch.calls[0].headers.get("authorization"), "Bearer hst_secret_token");
    assertEquals([fleet.totals.nodes, fleet.totals.reachable, fleet.totals.indexes], [1, 1, 2]);
  });

  it("is DEGRADED, naming the index, when an index is not READY, and when there is none", async () => {
    const opening = variant(report, (r) => r.indexes[1].state = "OPENING");
    const { poller } = pollerWith([json(opening), json({ ...report, indexes: [] })]);
    await poller.refresh();
    assertEquals(poller.fleet().nodes[0].state, "DEGRADED");
    assertEquals(poller.fleet().nodes[0].reason, "Not every index is READY: users is OPENING");
    await poller.refresh();
    assertEquals(poller.fleet().nodes[0].reason, "The node has no open index");
  });

  it("is AUTH_FAILED on 401 and 403, with the agent's code and message", async () => {
    const refusal = (status: number, code: string) =>
      json({ code, message: "No.", requestId: null, capturedAt: "2026-01-01T00:00:00Z" }, status);
    const { poller } = pollerWith([refusal(401, "UNAUTHORIZED"), refusal(403, "FORBIDDEN")]);
    await poller.refresh();
    const first = poller.fleet().nodes[0];
    assertEquals([first.state, first.code, first.httpStatus], ["AUTH_FAILED", "UNAUTHORIZED", 401]);
    assertEquals(first.reason, "The agent refused the console's token (401 UNAUTHORIZED): No.");
    await poller.refresh();
    assertEquals(
      poller.fleet().nodes[0].reason,
      "The agent refused the console's token (403 FORBIDDEN): No.",
    );
  });

  it("is ERROR on another status, on a body that is not a report, and on a body that is not JSON", async () => {
    const { poller } = pollerWith([
      json({ code: "INTERNAL_ERROR", message: "Boom", requestId: null, capturedAt: "x" }, 500),
      json({ node: {} }),
      new Response("<html>proxy</html>", { status: 502 }),
    ]);
    await poller.refresh();
    assertEquals(poller.fleet().nodes[0].reason, "HTTP 500 INTERNAL_ERROR: Boom");
    await poller.refresh();
    assertMatch(poller.fleet().nodes[0].reason, /^Unreadable report: node\.nodeId: /);
    await poller.refresh();
    assertEquals(
      poller.fleet().nodes[0].reason,
      "HTTP 502 HTTP_502: The agent answered 502 without an error body",
    );
    assertEquals(poller.fleet().nodes[0].state, "ERROR");
  });

  it("is DOWN when refused or reset and TIMEOUT when no answer comes, keeping the last report as stale", async () => {
    const clock = { now: 5_000 };
    const { poller } = pollerWith([json(report), "refuse", "reset", "hang"], clock);
    await poller.refresh();
    clock.now = 6_000;
    await poller.refresh();
    let row = poller.fleet().nodes[0];
    assertEquals([row.state, row.reason, row.lastSeen, row.stale], [
      "DOWN",
      "Connection refused",
      5_000,
      true,
    ]);
    assertEquals(row.indexes.length, 2);
    assertEquals(poller.fleet().totals.reachable, 0);
    assertEquals(row.stateSince, 6_000);
    clock.now = 7_000;
    await poller.refresh();
    row = poller.fleet().nodes[0];
    assertEquals([row.state, row.reason, row.stateSince], ["DOWN", "Connection reset", 6_000]);
    await poller.refresh();
    row = poller.fleet().nodes[0];
    assertEquals([row.state, row.reason], ["TIMEOUT", "No answer within 50 ms"]);
  });

  it("computes rates from two reports and keeps `seriesLength` points, gaps where no rate exists", async () => {
    const next = (gets: number, at: number, opened = report.indexes[0].openedAt.epochMs) =>
      json(variant(report, (r) => {
        for (const s of r.indexes) {
          s.operations.gets = gets;
          s.capturedAt.epochMs = at;
          s.openedAt.epochMs = opened;
        }
      }));
    const t0 = report.indexes[0].capturedAt.epochMs;
    const { poller } = pollerWith([
      next(10, t0),
      next(30, t0 + 1000),
      "refuse",
      next(5, t0 + 3000, t0 + 2500),
    ]);
    await poller.refresh();
    await poller.refresh();
    assertEquals(poller.fleet().nodes[0].readRate, 40, "20 gets per second on each of two indexes");
    await poller.refresh();
    await poller.refresh();
    const row = poller.fleet().nodes[0];
    assertEquals(row.readRate, null, "restarted: no rate rather than a negative one");
    assertEquals(row.series.map((p) => p.read), [40, null, null]);
  });

  it("does not start a second poll of a node whose poll is still in flight", async () => {
    const { poller, fetch } = pollerWith(["hang"]);
    await Promise.all([poller.refresh(), poller.refresh(), poller.refresh()]);
    assertEquals(fetch.calls.length, 1);
  });

  it("stop() aborts the polls in flight and resolves once they settled", async () => {
    const { poller } = pollerWith(["hang"]);
    const refreshed = poller.refresh();
    await poller.stop();
    await refreshed;
    assertEquals(poller.fleet().nodes[0].state, "UNKNOWN", "an aborted poll changes nothing");
    await poller.refresh();
    assertEquals(poller.fleet().nodes[0].lastPolledAt, null, "no poll after stop");
  });
});
