import { assert, assertEquals, assertMatch, assertNotEquals, assertRejects, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { execFile } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Role } from "../../agent/api/roles.ts";
import {
  hashSecret,
  newToken,
  parseTokenEntries,
  type TokenEntry,
  TokenVerifier,
} from "../../agent/tokens.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = fileURLToPath(new URL("../../agent/token_new.ts", import.meta.url));
/** Deno runs the CLI with the same binary and no permissions; Node runs TypeScript through tsx. */
const CLI_COMMAND: [string, string[]] = "Deno" in globalThis
  ? [process.execPath, ["run", "--quiet", "--no-lock", CLI]]
  : [process.execPath, ["--import", "tsx", CLI]];

const SALT = new Uint8Array(16).fill(7);
const SECRET_43 = "A".repeat(43);
/** A well-formed hash: 16-byte salt, 32-byte digest, canonical base64url (43 chars end in a multiple of 4). */
const HASH = `sha256$${"A".repeat(22)}$${"B".repeat(42)}A`;

describe("newToken()", () => {
  it("newToken() returns a token of the form hst_<id>_<43 base64url chars> that verifies as its role", async () => {
    const { token, entry } = await newToken("ops-1", "OPERATE");
    assertMatch(token, /^hst_ops-1_[A-Za-z0-9_-]{43}$/);
    assertEquals(Object.keys(entry).sort(), ["hash", "id", "role"]);
    assertMatch(entry.hash, /^sha256\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert(!entry.hash.includes(token.slice(8)), "the hash must not contain the secret");
    const verifier = new TokenVerifier([entry]);
    assertEquals(await verifier.verify(`Bearer ${token}`), {
      tokenId: "ops-1",
      role: "OPERATE",
      console: false,
    });
  });

  it("newToken() marks a console token, and the principal carries the flag", async () => {
    const { token, entry } = await newToken("console", "READ", { console: true });
    assertEquals(entry.console, true);
    assertEquals(await new TokenVerifier([entry]).verify(`Bearer ${token}`), {
      tokenId: "console",
      role: "READ",
      console: true,
    });
  });

  it("newToken() creates a different secret every time", async () => {
    const a = await newToken("x", "READ");
    const b = await newToken("x", "READ");
    assertNotEquals(a.token, b.token);
  });

  it("newToken() rejects a bad id or role", async () => {
    await assertRejects(() => newToken("has_underscore", "READ"), TypeError, "id must match");
    await assertRejects(() => newToken("", "READ"), TypeError, "id must match");
    await assertRejects(() => newToken("x".repeat(65), "READ"), TypeError, "id must match");
    await assertRejects(
      () => newToken("ops", "ROOT" as string as Role),
      TypeError,
      "role must be one of READ, OPERATE, ADMIN",
    );
  });
});

describe("hashSecret()", () => {
  it("hashSecret() salts: two hashes of one token differ and both verify", async () => {
    const token = `hst_ops_${SECRET_43}`;
    const first = await hashSecret(token);
    const second = await hashSecret(token);
    assertNotEquals(first, second);
    for (const hash of [first, second]) {
      const verifier = new TokenVerifier([{ id: "ops", role: "ADMIN", hash }]);
      assertEquals((await verifier.verify(`Bearer ${token}`))?.role, "ADMIN");
    }
  });

  it("hashSecret() is deterministic for a given salt and rejects a short salt", async () => {
    const token = `hst_ops_${SECRET_43}`;
    assertEquals(await hashSecret(token, SALT), await hashSecret(token, SALT));
    assertNotEquals(await hashSecret(token, SALT), await hashSecret(`hst_ops_${"B".repeat(43)}`, SALT));
    await assertRejects(() => hashSecret(token, new Uint8Array(15)), RangeError, "at least 16 bytes");
  });
});

describe("TokenVerifier.verify()", () => {
  async function setup(): Promise<{ verifier: TokenVerifier; token: string }> {
    const ops = await newToken("ops", "OPERATE");
    const admin = await newToken("admin", "ADMIN");
    return { verifier: new TokenVerifier([ops.entry, admin.entry]), token: ops.token };
  }

  it("TokenVerifier.verify() accepts any case of the Bearer scheme and extra spaces", async () => {
    const { verifier, token } = await setup();
    for (const header of [`bearer ${token}`, `BEARER ${token}`, `Bearer   ${token}`, ` Bearer ${token} `]) {
      assertEquals((await verifier.verify(header))?.tokenId, "ops", header);
    }
  });

  it("TokenVerifier.verify() returns undefined for a wrong secret", async () => {
    const { verifier, token } = await setup();
    const last = token.at(-1) === "A" ? "B" : "A";
    assertEquals(await verifier.verify(`Bearer ${token.slice(0, -1)}${last}`), undefined);
    assertEquals(await verifier.verify(`Bearer hst_ops_${SECRET_43}`), undefined);
  });

  it("TokenVerifier.verify() returns undefined for another id's secret", async () => {
    const { verifier, token } = await setup();
    assertEquals(await verifier.verify(`Bearer ${token.replace("hst_ops_", "hst_admin_")}`), undefined);
  });

  it("TokenVerifier.verify() returns undefined for an unknown id", async () => {
    const { verifier, token } = await setup();
    assertEquals(await verifier.verify(`Bearer ${token.replace("hst_ops_", "hst_nobody_")}`), undefined);
  });

  it("TokenVerifier.verify() returns undefined for a missing or empty header", async () => {
    const { verifier } = await setup();
    for (const header of [undefined, null, "", "   ", "Bearer", "Bearer "]) {
      assertEquals(await verifier.verify(header), undefined, String(header));
    }
  });

  it("TokenVerifier.verify() returns undefined for another scheme", async () => {
    const { verifier, token } = await setup();
    for (const header of [`Basic ${token}`, `Token ${token}`, token, `Bearer:${token}`]) {
      assertEquals(await verifier.verify(header), undefined, header);
    }
  });

  it("TokenVerifier.verify() returns undefined for a malformed token", async () => {
    const { verifier, token } = await setup();
    const secret = token.slice("hst_ops_".length);
    for (
      const bad of [
        `${token}A`, // secret too long
        token.slice(0, -1), // too short
        `hst_ops_${secret.slice(0, -1)}=`, // padding
        `hst_ops_${secret.slice(0, -1)}+`, // not base64url
        `HST_ops_${secret}`, // prefix is case-sensitive
        `hst__${secret}`, // empty id
        `${token} extra`,
      ]
    ) {
      assertEquals(await verifier.verify(`Bearer ${bad}`), undefined, bad);
    }
  });

  it("TokenVerifier.verify() returns a copy, so a caller cannot change the principal of later requests", async () => {
    const { verifier, token } = await setup();
    const principal = await verifier.verify(`Bearer ${token}`);
    assert(principal);
    principal.role = "ADMIN";
    assertEquals((await verifier.verify(`Bearer ${token}`))?.role, "OPERATE");
  });
});

describe("new TokenVerifier()", () => {
  const good = { id: "ops", role: "READ", hash: HASH } as const;

  it("new TokenVerifier() counts its entries", () => {
    assertEquals(new TokenVerifier([]).size, 0);
    assertEquals(new TokenVerifier([good, { ...good, id: "other" }]).size, 2);
  });

  it("new TokenVerifier() rejects a duplicate id, naming the entry", () => {
    assertThrows(
      () => new TokenVerifier([good, { ...good }]),
      Error,
      `tokens[1] ("ops"): duplicate token id`,
    );
  });

  it("new TokenVerifier() rejects a bad id or role", () => {
    assertThrows(() => new TokenVerifier([{ ...good, id: "a b" }]), TypeError, "id must match");
    assertThrows(
      () => new TokenVerifier([{ ...good, role: "root" as string as Role }]),
      TypeError,
      "role must be one of",
    );
  });

  it("new TokenVerifier() rejects a malformed hash", () => {
    for (
      const hash of [
        "",
        "plaintext-token",
        HASH.replace("sha256", "sha1"),
        HASH.replace("A".repeat(22), "A".repeat(20)), // salt under 16 bytes
        HASH.slice(0, -2) + "A", // digest of 31 bytes
        HASH.slice(0, -1) + "=", // padded
        HASH.slice(0, -1) + "F", // non-canonical: the unused low bits of the last character are set
        `sha256$${"A".repeat(22)}`,
      ]
    ) {
      assertThrows(
        () => new TokenVerifier([{ ...good, hash }]),
        TypeError,
        `tokens[0] ("ops"): hash must be`,
      );
    }
  });
});

describe("parseTokenEntries()", () => {
  it("parseTokenEntries() returns valid entries unchanged", async () => {
    const { token, entry } = await newToken("console", "ADMIN", { console: true });
    const plain = { id: "ops", role: "OPERATE", hash: (await newToken("ops", "OPERATE")).entry.hash };
    const parsed = parseTokenEntries(JSON.parse(JSON.stringify([entry, plain])));
    assertEquals(parsed, [entry, plain]);
    assertEquals((await new TokenVerifier(parsed).verify(`Bearer ${token}`))?.console, true);
  });

  it("parseTokenEntries() names the bad entry and field", () => {
    const hash = HASH;
    const cases: [unknown, string][] = [
      [{ id: "x" }, `Invalid "tokens": expected an array, got {"id":"x"}`],
      [undefined, `Invalid "tokens": expected an array, got undefined`],
      [["x"], `Invalid tokens[0]: expected an object, got "x"`],
      [[null], `Invalid tokens[0]: expected an object, got null`],
      [[{ id: "a", role: "READ", hash }, { role: "READ", hash }], `Invalid tokens[1]: "id" must be a string`],
      [[{ id: "a", role: 1, hash }], `Invalid tokens[0]: "role" must be a string, got 1`],
      [[{ id: "a", role: "READ" }], `Invalid tokens[0]: "hash" must be a string, got undefined`],
      [[{ id: "a", role: "READ", hash, console: "yes" }], `Invalid tokens[0]: "console" must be a boolean`],
      [[{ id: "a", role: "READ", hash, consle: true }], `Invalid tokens[0]: unknown field "consle"`],
      [[{ id: "a", role: "READ", token: "hst_a_x" }], `Invalid tokens[0]: holds a plaintext token`],
      [
        [{ id: "a", role: "SUPER", hash }],
        `Invalid tokens[0] ("a"): role must be one of READ, OPERATE, ADMIN`,
      ],
      [[{ id: "a", role: "READ", hash: "x" }], `Invalid tokens[0] ("a"): hash must be`],
      [
        [{ id: "a", role: "READ", hash }, { id: "a", role: "ADMIN", hash }],
        `tokens[1] ("a"): duplicate token id`,
      ],
    ];
    for (const [json, message] of cases) {
      const error = assertThrows(() => parseTokenEntries(json));
      assert(error instanceof Error && error.message.includes(message), `${message}\n  got: ${error}`);
    }
  });
});

describe("agent/token_new.ts", () => {
  it("token_new prints a console token once and an entry it verifies against", async () => {
    const [command, args] = CLI_COMMAND;
    const { stdout } = await promisify(execFile)(command, [...args, "console-1", "ADMIN", "--console"], {
      cwd: ROOT,
      timeout: 60_000,
    });
    const lines = stdout.split("\n");
    const tokens = lines.filter((line) => line.startsWith("hst_"));
    assertEquals(tokens.length, 1, stdout);
    assert(lines.some((line) => /shown only this once/.test(line)), stdout);
    const entry: TokenEntry = JSON.parse(lines.find((line) => line.startsWith("{"))!);
    assertEquals({ ...entry, hash: "…" }, { id: "console-1", role: "ADMIN", hash: "…", console: true });
    const verifier = new TokenVerifier(parseTokenEntries([entry]));
    assertEquals(await verifier.verify(`Bearer ${tokens[0]}`), {
      tokenId: "console-1",
      role: "ADMIN",
      console: true,
    });
  });
});
