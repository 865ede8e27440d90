/**
 * Signed-in sessions, each with its own CSRF token, kept in memory: a
 * restart signs everyone out, which is acceptable for an operations
 * console and keeps secrets off the disk.
 *
 * @module
 */
import { constantTimeEqual } from "./password.ts";

const MAX_TRACKED_NAMES = 10_000;

/** One signed-in person (or, without login, the local operator). */
export interface Session {
  readonly id: string;
  readonly user: string;
  /** Sent back by the page on every state-changing request; never in a cookie. */
  readonly csrfToken: string;
  lastUsedAt: number;
}

/** Sessions that expire after `idleMs` without use. */
export class Sessions {
  readonly #sessions = new Map<string, Session>();
  readonly #now: () => number;
  readonly #idleMs: number;

  constructor(now: () => number, idleMs: number) {
    this.#now = now;
    this.#idleMs = idleMs;
  }

  create(user: string): Session {
    this.#prune();
    const session = { id: randomToken(), user, csrfToken: randomToken(), lastUsedAt: this.#now() };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, its idle clock restarted; undefined when unknown or expired. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    const now = this.#now();
    if (now - session.lastUsedAt > this.#idleMs) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastUsedAt = now;
    return session;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  #prune(): void {
    const now = this.#now();
    for (const [id, s] of this.#sessions) if (now - s.lastUsedAt > this.#idleMs) this.#sessions.delete(id);
  }
}

/** True when `sent` is the session's CSRF token, compared in constant time. */
export function csrfMatches(session: Session, sent: string | null | undefined): boolean {
  if (!sent) return false;
  const encoder = new TextEncoder();
  return constantTimeEqual(encoder.encode(session.csrfToken), encoder.encode(sent));
}

/**
 * Counts failed sign-ins per user name (known or not) and refuses further
 * attempts for the rest of the window once `limit` is reached, so a
 * password cannot be guessed at PBKDF2 speed.
 */
export class LoginThrottle {
  readonly #failures = new Map<string, { count: number; windowStart: number }>();
  readonly #now: () => number;
  readonly #limit: number;
  readonly #windowMs: number;

  constructor(now: () => number, limit: number, windowMs: number) {
    this.#now = now;
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  /** Seconds until `name` may try again; 0 when it may now. */
  retryAfterSeconds(name: string): number {
    const entry = this.#failures.get(name);
    if (entry === undefined) return 0;
    const elapsed = this.#now() - entry.windowStart;
    if (elapsed >= this.#windowMs) {
      this.#failures.delete(name);
      return 0;
    }
    return entry.count >= this.#limit ? Math.ceil((this.#windowMs - elapsed) / 1000) : 0;
  }

  failed(name: string): void {
    const now = this.#now();
    const entry = this.#failures.get(name);
    if (entry === undefined || now - entry.windowStart >= this.#windowMs) {
      this.#failures.delete(name);
      this.#failures.set(name, { count: 1, windowStart: now });
    } else {
      entry.count++;
    }
    // Made-up names must not grow the map without bound: drop the oldest windows (the map keeps start order).
    for (const key of this.#failures.keys()) {
      if (this.#failures.size <= MAX_TRACKED_NAMES) break;
      this.#failures.delete(key);
    }
  }

  succeeded(name: string): void {
    this.#failures.delete(name);
  }
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
