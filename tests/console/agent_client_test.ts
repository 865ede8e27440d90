import { assertEquals } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { callAgent, classifyFailure } from "../../console/_agent_client.ts";
import { fakeFetch, json, NODE } from "./_doubles.ts";

function nodeError(code: string, message: string): Error {
  return Object.assign(new TypeError("fetch failed"), { cause: { code, message } });
}

describe("classifyFailure()", () => {
  it("maps Node's and Deno's fetch errors to DOWN, TIMEOUT and ERROR", () => {
    const cases: [unknown, string, string][] = [
      [
        new DOMException("The operation was aborted due to timeout", "TimeoutError"),
        "TIMEOUT",
        "No answer within 900 ms",
      ],
      [nodeError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:9"), "DOWN", "Connection refused"],
      [
        new TypeError("client error (Connect): tcp connect error: Connection refused (os error 111)"),
        "DOWN",
        "Connection refused",
      ],
      [nodeError("ECONNRESET", "read ECONNRESET"), "DOWN", "Connection reset"],
      [
        new TypeError("client error (SendRequest): connection closed before message completed"),
        "DOWN",
        "Connection reset",
      ],
      [nodeError("ENOTFOUND", "getaddrinfo ENOTFOUND nowhere.invalid"), "ERROR", "Host name not found"],
      [new TypeError("dns error: failed to lookup address information"), "ERROR", "Host name not found"],
      [
        new TypeError("invalid peer certificate: UnknownIssuer"),
        "ERROR",
        "TLS failure: invalid peer certificate: UnknownIssuer",
      ],
      [new Error("something odd"), "ERROR", "something odd"],
    ];
    for (const [error, state, reason] of cases) {
      const outcome = classifyFailure(error, 900);
      assertEquals([outcome.state, outcome.reason.trim()], [state, reason], String(error));
    }
  });
});

describe("callAgent()", () => {
  it("parses the body and Retry-After, and tolerates a body that is not JSON", async () => {
    const fetch = fakeFetch((call) =>
      call.url.endsWith("/a")
        ? json({ code: "RATE_LIMITED", message: "Slow down" }, 429, { "retry-after": "12" })
        : new Response("plain text", { status: 502 })
    );
    const limited = await callAgent(fetch, NODE, { method: "POST", path: "/a", body: {}, timeoutMs: 100 });
    assertEquals(limited, {
      kind: "answer",
      status: 429,
      body: { code: "RATE_LIMITED", message: "Slow down" },
      retryAfterSeconds: 12,
    });
    const proxy = await callAgent(fetch, NODE, { method: "GET", path: "/b", timeoutMs: 100 });
    assertEquals(proxy, { kind: "answer", status: 502, body: undefined, retryAfterSeconds: null });
  });

  it("times out a node that never answers", async () => {
    const outcome = await callAgent(fakeFetch(() => "hang"), NODE, {
      method: "GET",
      path: "/",
      timeoutMs: 20,
    });
    assertEquals(outcome, { kind: "unreachable", state: "TIMEOUT", reason: "No answer within 20 ms" });
  });
});
