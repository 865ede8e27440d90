/**
 * Bearer tokens of the management agent, mapped to roles.
 *
 * A token reads `hst_<tokenId>_<secret>`: the id is public (it names the
 * caller in logs and the audit trail) and lets the verifier find the one
 * entry to check instead of hashing against every entry; the secret is 32
 * random bytes in base64url (43 characters). Configuration files hold only
 * `sha256$<salt>$<digest>`, the SHA-256 of salt followed by the whole token.
 *
 * Why a single salted SHA-256 and no slow KDF (PBKDF2, scrypt, argon2): those
 * exist to make guessing low-entropy human passwords expensive. A 256-bit
 * random secret cannot be guessed at any hash speed, while a slow KDF would
 * cost milliseconds of CPU on every request and hand floods a lever. The salt
 * keeps equal tokens from having equal hashes across files.
 *
 * @module
 */
import { type Role, ROLES } from "./api/roles.ts";

/** One configured token, as stored in the `tokens` array of the agent configuration. */
export interface TokenEntry {
  /** Public token id, `^[A-Za-z0-9-]{1,64}$`; names the caller in logs and the audit trail. */
  id: string;
  role: Role;
  /** `sha256$<salt base64url>$<digest base64url>`, never the token itself. */
  hash: string;
  /** A trusted console: it may name the person it acts for in an on-behalf-of actor header. */
  console?: boolean;
}

/** The caller a valid token identifies. */
export interface Principal {
  tokenId: string;
  role: Role;
  console: boolean;
}

const TOKEN_PREFIX = "hst_";
const ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/;
const SECRET_BYTES = 32;
const SALT_BYTES = 16;
const DIGEST_BYTES = 32;
// Ids hold no "_", so the first "_" after the prefix ends the id; the secret is exactly 32 bytes of base64url.
const TOKEN_PATTERN = /^hst_([A-Za-z0-9-]{1,64})_([A-Za-z0-9_-]{43})$/;
// RFC 6750 §2.1 credentials: the scheme is case-insensitive, then one or more spaces.
const BEARER_PATTERN = /^bearer +(\S+)$/i;
const HASH_PATTERN = /^sha256\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;
const ENTRY_KEYS = new Set(["id", "role", "hash", "console"]);

/**
 * Creates a token with a fresh random secret, and the entry that stores its salted hash.
 *
 * @param id Public token id, `^[A-Za-z0-9-]{1,64}$`.
 * @param role Role the token grants.
 * @returns The token, to hand to its holder once, and the entry for the configuration.
 */
export async function newToken(
  id: string,
  role: Role,
  options: { console?: boolean } = {},
): Promise<{ token: string; entry: TokenEntry }> {
  checkId(id, `Cannot create token "${id}"`);
  checkRole(role, `Cannot create token "${id}"`);
  const secret = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
  const token = `${TOKEN_PREFIX}${id}_${toBase64Url(secret)}`;
  const entry: TokenEntry = { id, role, hash: await hashSecret(token) };
  if (options.console) entry.console = true;
  return { token, entry };
}

/**
 * Hashes a token for storage as `sha256$<salt>$<digest>`.
 *
 * @param token The whole token string.
 * @param salt At least 16 bytes; a fresh random salt when omitted.
 */
export async function hashSecret(
  token: string,
  salt: Uint8Array = crypto.getRandomValues(new Uint8Array(SALT_BYTES)),
): Promise<string> {
  if (salt.length < SALT_BYTES) {
    throw new RangeError(`Cannot hash token: salt must be at least ${SALT_BYTES} bytes, got ${salt.length}`);
  }
  const digest = await saltedDigest(salt, token);
  return `sha256$${toBase64Url(salt)}$${toBase64Url(digest)}`;
}

/**
 * Validates token entries read from a configuration file's `tokens` array.
 *
 * @param json The parsed value of the `tokens` field.
 * @returns The entries, checked as {@linkcode TokenVerifier} checks them.
 * @throws {TypeError} naming the first bad entry, e.g. `tokens[2] ("ops")`; {Error} for a duplicate id.
 */
export function parseTokenEntries(json: unknown): TokenEntry[] {
  if (!Array.isArray(json)) throw new TypeError(`Invalid "tokens": expected an array, got ${show(json)}`);
  const entries = json.map((raw, index): TokenEntry => {
    const where = `Invalid tokens[${index}]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new TypeError(`${where}: expected an object, got ${show(raw)}`);
    }
    const record = raw as Record<string, unknown>;
    if ("token" in record || "secret" in record) {
      throw new TypeError(`${where}: holds a plaintext token; store only its hash (deno task token:new)`);
    }
    for (const key of Object.keys(record)) {
      if (!ENTRY_KEYS.has(key)) throw new TypeError(`${where}: unknown field "${key}"`);
    }
    for (const key of ["id", "role", "hash"]) {
      if (typeof record[key] !== "string") {
        throw new TypeError(`${where}: "${key}" must be a string, got ${show(record[key])}`);
      }
    }
    if (record.console !== undefined && typeof record.console !== "boolean") {
      throw new TypeError(`${where}: "console" must be a boolean, got ${show(record.console)}`);
    }
    const entry: TokenEntry = {
      id: record.id as string,
      role: record.role as Role,
      hash: record.hash as string,
    };
    if (record.console !== undefined) entry.console = record.console as boolean;
    return entry;
  });
  compileEntries(entries);
  return entries;
}

interface CompiledEntry {
  principal: Principal;
  salt: Uint8Array;
  digest: Uint8Array;
}

/**
 * Checks bearer credentials against the configured entries. Safe to call concurrently.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { newToken, TokenVerifier } from "./tokens.ts";
 *
 * const { token, entry } = await newToken("ops", "OPERATE");
 * const verifier = new TokenVerifier([entry]);
 * assertEquals(await verifier.verify(`Bearer ${token}`), { tokenId: "ops", role: "OPERATE", console: false });
 * assertEquals(await verifier.verify("Bearer nope"), undefined);
 * ```
 */
export class TokenVerifier {
  #entries: Map<string, CompiledEntry>;

  /** @throws {TypeError} for a bad id, role or hash; {Error} for a duplicate id. */
  constructor(entries: readonly TokenEntry[]) {
    this.#entries = compileEntries(entries);
  }

  /** Number of configured tokens. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Resolves the principal of an `Authorization` header value.
   *
   * @param authorization The header value, e.g. `Bearer hst_ops_…`.
   * @returns The principal, or `undefined` when the header is missing, malformed, of another scheme, names an
   *   unknown id, or carries the wrong secret. Callers cannot tell these apart, by design.
   */
  async verify(authorization: string | null | undefined): Promise<Principal | undefined> {
    if (!authorization) return undefined;
    const token = BEARER_PATTERN.exec(authorization.trim())?.[1];
    const id = token === undefined ? undefined : TOKEN_PATTERN.exec(token)?.[1];
    if (token === undefined || id === undefined) return undefined;
    // Ids are public (logs, audit), so returning early for an unknown one leaks nothing.
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    const digest = await saltedDigest(entry.salt, token);
    return constantTimeEqual(digest, entry.digest) ? { ...entry.principal } : undefined;
  }
}

function compileEntries(entries: readonly TokenEntry[]): Map<string, CompiledEntry> {
  const compiled = new Map<string, CompiledEntry>();
  entries.forEach((entry, index) => {
    const where = `Invalid tokens[${index}] ("${entry.id}")`;
    checkId(entry.id, where);
    checkRole(entry.role, where);
    if (compiled.has(entry.id)) throw new Error(`${where}: duplicate token id`);
    const parts = HASH_PATTERN.exec(entry.hash);
    const salt = parts ? fromBase64Url(parts[1]) : undefined;
    const digest = parts ? fromBase64Url(parts[2]) : undefined;
    if (!salt || salt.length < SALT_BYTES || !digest || digest.length !== DIGEST_BYTES) {
      throw new TypeError(
        `${where}: hash must be "sha256$<salt>$<digest>" in base64url with a salt of at least ${SALT_BYTES} ` +
          `bytes and a ${DIGEST_BYTES}-byte digest`,
      );
    }
    const principal = { tokenId: entry.id, role: entry.role, console: entry.console === true };
    compiled.set(entry.id, { principal, salt, digest });
  });
  return compiled;
}

function checkId(id: unknown, where: string): void {
  if (typeof id !== "string" || !ID_PATTERN.test(id)) {
    throw new TypeError(`${where}: id must match ${ID_PATTERN.source}, got ${show(id)}`);
  }
}

function checkRole(role: unknown, where: string): void {
  if (!(ROLES as readonly unknown[]).includes(role)) {
    throw new TypeError(`${where}: role must be one of ${ROLES.join(", ")}, got ${show(role)}`);
  }
}

function show(value: unknown): string {
  return value === undefined ? "undefined" : JSON.stringify(value) ?? String(value);
}

async function saltedDigest(salt: Uint8Array, token: string): Promise<Uint8Array> {
  const text = new TextEncoder().encode(token);
  const input = new Uint8Array(salt.length + text.length);
  input.set(salt);
  input.set(text, salt.length);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", input));
}

/** Compares every byte whatever the first difference, so timing does not reveal how much of a digest matched. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decodes unpadded base64url; `undefined` unless `text` is the canonical encoding of its bytes. */
function fromBase64Url(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined;
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return toBase64Url(bytes) === text ? bytes : undefined;
}
