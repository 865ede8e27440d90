import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { listenAddress } from "../../console/_listen.ts";
import { createConsole, hashPassword, parseConsoleConfig, verifyPassword } from "../../console/mod.ts";
import { NO_BUNDLE, NODE } from "./_doubles.ts";

describe("parseConsoleConfig()", () => {
  it("resolves tokens from the environment, names and trailing slashes", () => {
    const config = parseConsoleConfig({
      nodes: [
        { id: "a", baseUrl: "http://10.0.0.1:9001/", tokenEnv: "TOKEN_A" },
        { id: "b", name: "Bee", baseUrl: "https://b.example", token: "t-b" },
      ],
      pollIntervalMs: 1500,
    }, { TOKEN_A: "t-a" });
    assertEquals(config.nodes, [
      { id: "a", name: "a", baseUrl: "http://10.0.0.1:9001", token: "t-a" },
      { id: "b", name: "Bee", baseUrl: "https://b.example", token: "t-b" },
    ]);
    assertEquals([config.users, config.pollIntervalMs], [[], 1500]);
  });

  it("names every problem of a malformed file", () => {
    const error = assertThrows(() =>
      parseConsoleConfig({
        nodes: [{ id: "bad id", baseUrl: "ftp://x", token: "t", tokenEnv: "T" }],
        pollIntervalMs: -1,
      }), TypeError);
    for (
      const part of ["nodes.0.id", "nodes.0.baseUrl", "give exactly one of token, tokenEnv", "pollIntervalMs"]
    ) {
      assert(error.message.includes(part), `${part} in ${error.message}`);
    }
    assertThrows(() => parseConsoleConfig({ nodes: [] }), TypeError, "list at least one node");
    assertThrows(
      () => parseConsoleConfig({ nodes: [{ id: "a", baseUrl: "http://a", tokenEnv: "MISSING" }] }, {}),
      TypeError,
      "environment variable MISSING is not set",
    );
  });
});

describe("createConsole() options", () => {
  it("refuses repeated ids, weak or malformed hashes, bad actors and bad durations", async () => {
    const weak = `pbkdf2-sha256$1000$${"A".repeat(22)}$${"B".repeat(43)}`;
    const cases: [Parameters<typeof createConsole>[0], string][] = [
      [{ nodes: [NODE, NODE] }, 'Node id "n1" is listed twice'],
      [{ nodes: [{ ...NODE, baseUrl: "file:///etc" }] }, "baseUrl must be an http or https URL"],
      [{ nodes: [NODE], users: [{ name: "a", passwordHash: "plain" }] }, 'expected "pbkdf2-sha256$'],
      [{ nodes: [NODE], users: [{ name: "a", passwordHash: weak }] }, "iterations must be >= 100000"],
      [{ nodes: [NODE], localActor: " padded " }, "not a valid actor name"],
      [{ nodes: [NODE], pollIntervalMs: 0 }, "pollIntervalMs must be a positive integer"],
    ];
    for (const [options, message] of cases) {
      const error = await assertRejects(() => createConsole({ client: NO_BUNDLE, ...options }));
      assert((error as Error).message.includes(message), `${message} in ${(error as Error).message}`);
    }
  });
});

describe("hashPassword()", () => {
  it("verifies the right password only, and salts every hash", async () => {
    const hash = await hashPassword("hunter2 hunter2", 100_000);
    assert(hash.startsWith("pbkdf2-sha256$100000$"));
    assertEquals(await verifyPassword("hunter2 hunter2", hash), true);
    assertEquals(await verifyPassword("hunter2 hunter3", hash), false);
    assert(hash !== await hashPassword("hunter2 hunter2", 100_000));
    await assertRejects(() => hashPassword("x", 10), RangeError);
  });
});

describe("listenAddress()", () => {
  it("serves loopback by default and refuses a wider address without login", () => {
    assertEquals(listenAddress({}, false), { host: "127.0.0.1", port: 8090 });
    assertEquals(listenAddress({ host: "::1", port: 0 }, false), { host: "::1", port: 0 });
    assertThrows(() => listenAddress({ host: "0.0.0.0" }, false), Error, "loopback only");
    assertEquals(listenAddress({ host: "0.0.0.0" }, true), { host: "0.0.0.0", port: 8090 });
  });
});
