/**
 * The tokens file of `hestiastore serve` (`<data>/tokens.json` by default,
 * mode 0600): `{"tokens": [...], "consoleTokenHash": "..."}`. `tokens` holds
 * the agent's entries (salted SHA-256, the shape `deno task token:new`
 * prints, so `deno task agent --tokens` reads the same file);
 * `consoleTokenHash` is the PBKDF2 hash the console's sign-in page checks the
 * admin token against. No plaintext token is ever written.
 *
 * The first start creates the file with an ADMIN token, whose plaintext only
 * the caller sees, once. Every start that points the console at this node
 * makes a new console token (plaintext kept in memory only) and replaces the
 * previous console entry, so the file always lists exactly the credentials
 * the agent accepts.
 *
 * @module
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { newToken, parseTokenEntries, type TokenEntry } from "../agent/mod.ts";

/** Id of the ADMIN token the first start creates. */
export const ADMIN_TOKEN_ID = "admin";
/** Id of the console's token, replaced at every start. */
export const CONSOLE_TOKEN_ID = "serve-console";

/** The credentials of one start. */
export interface NodeTokens {
  /** Every entry the agent accepts. */
  entries: TokenEntry[];
  /** Hash of the token the console's sign-in page accepts; none leaves the console without sign-in. */
  consoleTokenHash?: string;
  /** The new ADMIN token, only when this start created the file. */
  adminToken?: string;
  /** The console's token for the agent, when asked for. */
  consoleToken?: string;
}

/**
 * Reads the tokens file, creating it on the first start, and rewrites it
 * with a fresh console entry when `consoleToken` is asked for (without one
 * otherwise).
 *
 * @throws {TypeError} For a malformed file, naming the first problem.
 */
export async function prepareTokens(file: string, options: { consoleToken: boolean }): Promise<NodeTokens> {
  let json: Record<string, unknown>;
  let adminToken: string | undefined;
  if (existsSync(file)) {
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      throw new TypeError(`Invalid tokens file ${file}: ${error.message}`);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new TypeError(`Invalid tokens file ${file}: expected an object with a "tokens" array`);
    }
    if (json.consoleTokenHash !== undefined && typeof json.consoleTokenHash !== "string") {
      throw new TypeError(`Invalid tokens file ${file}: "consoleTokenHash" must be a string`);
    }
  } else {
    const admin = await newToken(ADMIN_TOKEN_ID, "ADMIN");
    adminToken = admin.token;
    // The sign-in page verifies with PBKDF2, so the console gets its own hash of the same token. Made even
    // when the console is off now, so that it asks for a sign-in once it runs.
    const { hashPassword } = await import("../console/mod.ts");
    json = { tokens: [admin.entry], consoleTokenHash: await hashPassword(admin.token) };
  }
  const stored = parseTokenEntries(json.tokens);
  const entries = stored.filter((entry) => entry.id !== CONSOLE_TOKEN_ID);
  let consoleToken: string | undefined;
  if (options.consoleToken) {
    const created = await newToken(CONSOLE_TOKEN_ID, "ADMIN", { console: true });
    consoleToken = created.token;
    entries.push(created.entry);
  }
  if (adminToken !== undefined || entries.length !== stored.length || consoleToken !== undefined) {
    writePrivate(file, JSON.stringify({ ...json, tokens: entries }, null, 2) + "\n");
  }
  const consoleTokenHash = json.consoleTokenHash as string | undefined;
  return {
    entries,
    ...(consoleTokenHash === undefined ? {} : { consoleTokenHash }),
    ...(adminToken === undefined ? {} : { adminToken }),
    ...(consoleToken === undefined ? {} : { consoleToken }),
  };
}

/** Replaces `file` atomically with a file only its owner may read. */
function writePrivate(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  // A leftover from a crash could carry wider permissions, and `mode` applies only to a new file.
  rmSync(temporary, { force: true });
  const fd = openSync(temporary, "wx", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
}
