import { assertEquals, assertMatch } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { ACTOR_HEADER } from "../../agent/api/mod.ts";
import { ActionRunner } from "../../console/_actions.ts";
import { type Behaviour, type Call, fakeFetch, json, NODE } from "./_doubles.ts";

function runnerWith(
  answer: (call: Call, n: number) => Behaviour,
  options: { deadlineMs?: number; limit?: number } = {},
) {
  let n = 0;
  const fetch = fakeFetch((call) => answer(call, n++));
  const clock = { now: 0 };
  const runner = new ActionRunner({
    fetch,
    now: () => clock.now,
    actionTimeoutMs: 30,
    actionDeadlineMs: options.deadlineMs ?? 60_000,
    historyLimit: options.limit ?? 10,
  });
  return { runner, fetch, clock };
}

function completed(call: Call): Response {
  const body = call.body as { requestId: string; indexName?: string };
  return json({
    requestId: body.requestId,
    action: "FLUSH",
    status: "COMPLETED",
    message: "Flushed 1 index(es)",
    results: [{ indexName: body.indexName ?? "orders", status: "COMPLETED", durationMs: 12 }],
    capturedAt: "2026-01-01T00:00:00.000Z",
  });
}

function error(status: number, code: string, message: string, headers: Record<string, string> = {}) {
  return json({ code, message, requestId: null, capturedAt: "2026-01-01T00:00:00.000Z" }, status, headers);
}

describe("ActionRunner", () => {
  it("sends a console requestId, the target and the actor, and records the agent's result", async () => {
    const { runner, fetch } = runnerWith((call) => completed(call));
    const { record, done } = runner.start(NODE, "FLUSH", "orders", "alice");
    assertEquals(record.status, "PENDING");
    const final = await done;
    assertMatch(final.requestId, /^console-[0-9a-f-]{36}$/);
    assertEquals(fetch.calls[0].url, "http://node-1.test:9001/api/v1/actions/flush");
    assertEquals(fetch.calls[0].body, { requestId: final.requestId, indexName: "orders" });
    assertEquals(fetch.calls[0].headers.get(ACTOR_HEADER), "alice");
    assertEquals(fetch.calls[0].headers.get("authorization"), "Bearer hst_secret_token");
    assertEquals([final.status, final.httpStatus, final.message, final.attempts], [
      "COMPLETED",
      200,
      "Flushed 1 index(es)",
      1,
    ]);
    assertEquals(final.results, [{ indexName: "orders", status: "COMPLETED", durationMs: 12 }]);
    assertEquals(runner.get(final.requestId), final);
  });

  it("asks again with the same requestId after a timed-out attempt, until the agent answers", async () => {
    const { runner, fetch } = runnerWith((call, n) => n < 2 ? "hang" : completed(call));
    const { done } = runner.start(NODE, "COMPACT", null, "alice");
    const final = await done;
    assertEquals([final.status, final.attempts], ["COMPLETED", 3]);
    assertEquals(
      fetch.calls.map((c) => c.url.endsWith("/compact") && (c.body as { requestId: string }).requestId),
      [
        final.requestId,
        final.requestId,
        final.requestId,
      ],
    );
    assertEquals(fetch.calls.map((c) => (c.body as { indexName?: string }).indexName), [
      undefined,
      undefined,
      undefined,
    ]);
  });

  it("gives up asking once the deadline passed, saying the outcome is unknown", async () => {
    const { runner, clock } = runnerWith((_, n) => {
      if (n === 1) clock.now = 61_000;
      return "hang";
    });
    const final = await runner.start(NODE, "FLUSH", null, "alice").done;
    assertEquals([final.status, final.code, final.attempts], ["FAILED", "NODE_TIMEOUT", 2]);
    assertEquals(final.message, "No answer within 30 ms. The action may have run; its outcome is unknown.");
  });

  it("passes the agent's refusals on: status, code, message and Retry-After", async () => {
    const answers = [
      error(403, "FORBIDDEN", "Role READ may not call this endpoint"),
      error(429, "RATE_LIMITED", "Too many mutating requests", { "retry-after": "37" }),
      error(409, "REQUEST_ID_CONFLICT", "requestId was used for every index"),
      error(404, "INDEX_NOT_FOUND", "No open index 'nope'"),
    ];
    const { runner } = runnerWith((_, n) => answers[n]);
    const seen = [];
    for (let i = 0; i < answers.length; i++) {
      const r = await runner.start(NODE, "FLUSH", null, "alice").done;
      seen.push([r.status, r.httpStatus, r.code, r.message, r.retryAfterSeconds]);
    }
    assertEquals(seen, [
      ["REJECTED", 403, "FORBIDDEN", "Role READ may not call this endpoint", null],
      ["REJECTED", 429, "RATE_LIMITED", "Too many mutating requests", 37],
      ["REJECTED", 409, "REQUEST_ID_CONFLICT", "requestId was used for every index", null],
      ["REJECTED", 404, "INDEX_NOT_FOUND", "No open index 'nope'", null],
    ]);
  });

  it("reports a failed action with the per-index outcome", async () => {
    const { runner } = runnerWith((call) =>
      json({
        code: "INTERNAL_ERROR",
        message: "Flush failed on 1 of 2 index(es): 'b': disk full",
        requestId: (call.body as { requestId: string }).requestId,
        capturedAt: "2026-01-01T00:00:00.000Z",
        action: "FLUSH",
        status: "FAILED",
        results: [
          { indexName: "a", status: "COMPLETED", durationMs: 3 },
          { indexName: "b", status: "FAILED", message: "disk full", durationMs: 1 },
        ],
      }, 500)
    );
    const final = await runner.start(NODE, "FLUSH", null, "alice").done;
    assertEquals([final.status, final.httpStatus, final.code], ["FAILED", 500, "INTERNAL_ERROR"]);
    assertEquals(final.results.map((r) => [r.indexName, r.status, r.message]), [
      ["a", "COMPLETED", undefined],
      ["b", "FAILED", "disk full"],
    ]);
  });

  it("fails with NODE_DOWN when the node refuses the connection, without asking again", async () => {
    const { runner, fetch } = runnerWith(() => "refuse");
    const final = await runner.start(NODE, "FLUSH", null, "alice").done;
    assertEquals([final.status, final.code, final.message, fetch.calls.length], [
      "FAILED",
      "NODE_DOWN",
      "Connection refused.",
      1,
    ]);
  });

  it("keeps the newest records, newest first, and never drops a pending one", async () => {
    const { runner } = runnerWith((call, n) => n === 0 ? "hang" : completed(call), { limit: 2 });
    const first = runner.start(NODE, "FLUSH", null, "alice");
    const others = [];
    for (let i = 0; i < 3; i++) others.push(await runner.start(NODE, "FLUSH", null, "bob").done);
    assertEquals(runner.list().map((r) => r.requestId), [others[2].requestId, first.record.requestId]);
    await runner.close();
    assertEquals((await first.done).code, "CONSOLE_STOPPED");
  });
});
