/**
 * Password hashes of console users: PBKDF2-HMAC-SHA-256 through WebCrypto,
 * stored as `pbkdf2-sha256$<iterations>$<salt base64url>$<digest base64url>`.
 *
 * Unlike the agent's random tokens, passwords are chosen by people and can
 * be guessed, so a slow, salted KDF is what protects a leaked configuration
 * file. The iteration count lives in the string so that raising the default
 * later keeps old hashes verifiable.
 *
 * @module
 */

/** OWASP's 2023 recommendation for PBKDF2-HMAC-SHA-256. */
export const DEFAULT_ITERATIONS = 600_000;
/** Below this a hash is refused when the configuration is loaded. */
export const MIN_ITERATIONS = 100_000;

const PREFIX = "pbkdf2-sha256";
const SALT_BYTES = 16;
const DIGEST_BITS = 256;
const HASH_PATTERN = /^pbkdf2-sha256\$(\d{1,9})\$([A-Za-z0-9_-]{22,})\$([A-Za-z0-9_-]{43})$/;

/** Hashes a password for the `users` list of the console configuration. */
export async function hashPassword(password: string, iterations = DEFAULT_ITERATIONS): Promise<string> {
  if (password.length === 0) throw new TypeError("Cannot hash an empty password");
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS) {
    throw new RangeError(`PBKDF2 iterations must be an integer >= ${MIN_ITERATIONS}, got ${iterations}`);
  }
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const digest = await derive(password, salt, iterations);
  return `${PREFIX}$${iterations}$${toBase64Url(salt)}$${toBase64Url(digest)}`;
}

/** Throws TypeError unless `hash` is a well-formed hash with enough iterations. */
export function checkPasswordHash(hash: string, where: string): void {
  const match = HASH_PATTERN.exec(hash);
  if (!match) {
    throw new TypeError(
      `${where}: expected "${PREFIX}$<iterations>$<salt>$<digest>" (console/tools/password_hash.ts)`,
    );
  }
  if (Number(match[1]) < MIN_ITERATIONS) {
    throw new TypeError(`${where}: PBKDF2 iterations must be >= ${MIN_ITERATIONS}, got ${match[1]}`);
  }
}

/** True when `password` matches `hash`; the digests are compared in constant time. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const match = HASH_PATTERN.exec(hash);
  if (!match) return false;
  const expected = fromBase64Url(match[3]);
  const actual = await derive(password, fromBase64Url(match[2]), Number(match[1]));
  return constantTimeEqual(actual, expected);
}

/** Compares two byte arrays without an early exit on the first difference. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, iterations },
    key,
    DIGEST_BITS,
  );
  return new Uint8Array(bits);
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
