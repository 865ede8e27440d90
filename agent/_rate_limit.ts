/**
 * Token-bucket rate limiting with the IETF RateLimit header fields
 * (draft-ietf-httpapi-ratelimit-headers, rev 10 and 11).
 *
 * Each key owns a bucket of `capacity` tokens refilled continuously at
 * `refillPerSecond`. Refill is computed lazily from an injected clock when a
 * key is touched, so there are no timers and tests drive time by hand.
 *
 * Header mapping:
 *
 * ```
 * RateLimit-Policy: "<name>";q=<capacity>;w=<ceil(capacity / refillPerSecond)>
 * RateLimit: "<name>";r=<floor(tokens)>;t=<seconds>
 * Retry-After: <seconds>                       (refusals only, equal to t)
 * ```
 *
 * Rev 10 defines `t` as the seconds until *additional* quota is made
 * available (httpapi issue #149, replacing "until the quota resets", which
 * only fits fixed windows). For a bucket that is when `r` next goes up by
 * one; a full bucket gains nothing more, so `t=0`. On a refusal `t` is the
 * wait until the refused cost fits, which the draft asks to equal
 * `Retry-After`.
 *
 * @module
 */

/** A named quota: `capacity` requests at once, regained at `refillPerSecond`. */
export interface RateLimitPolicy {
  /** Policy id in the headers; printable ASCII, 1–64 characters. */
  name: string;
  /** Bucket size: the burst allowed after idling, a positive integer. */
  capacity: number;
  /** Tokens regained per second, positive (e.g. `2 / 60` for two a minute). */
  refillPerSecond: number;
}

/** The outcome of one check, with the response headers that describe it. */
export interface RateDecision {
  allowed: boolean;
  /** Whole tokens left after this decision (`r`). */
  remaining: number;
  /** Seconds until more quota is available (`t`); 0 when the bucket is full. */
  resetSeconds: number;
  /** Seconds to wait before retrying; 0 when allowed, at least 1 otherwise. */
  retryAfterSeconds: number;
  /** `RateLimit-Policy`, `RateLimit`, and `Retry-After` when a `take()` was refused. */
  headers: Record<string, string>;
}

interface Bucket {
  tokens: number;
  /** Clock reading (ms) that `tokens` was computed at. */
  at: number;
}

const DEFAULT_MAX_KEYS = 10_000;
// Absorbs binary rounding of fractional rates: 30 s at 1/30 per second computes to 0.9999999999999999 tokens,
// and 1 / (1/30) to 30.000000000000004 s. Far below any real quota unit.
const EPSILON = 1e-9;

/**
 * Token buckets per caller-chosen key (e.g. `tokenId + " " + endpoint`, or
 * `"addr:" + address` for anonymous callers). At most `maxKeys` buckets are
 * kept; beyond that the least recently used is forgotten, which gives that key
 * a full bucket again, so `maxKeys` should exceed the callers active within one
 * refill period. Not shared across processes.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { RateLimiter } from "./_rate_limit.ts";
 *
 * let now = 0;
 * const limiter = new RateLimiter({ name: "mutating", capacity: 2, refillPerSecond: 2 / 60 }, () => now);
 * limiter.take("ops /api/v1/actions/flush");
 * limiter.take("ops /api/v1/actions/flush");
 * const refused = limiter.take("ops /api/v1/actions/flush");
 * assertEquals(refused.headers["Retry-After"], "30");
 * now += 30_000;
 * assertEquals(limiter.take("ops /api/v1/actions/flush").allowed, true);
 * ```
 */
export class RateLimiter {
  #capacity: number;
  #rate: number;
  #policyId: string;
  #policyHeader: string;
  #clock: () => number;
  #maxKeys: number;
  /** Map order is recency order: a touched key is re-inserted at the end. */
  #buckets = new Map<string, Bucket>();

  /**
   * @param policy The quota; validated here.
   * @param clock Milliseconds from any origin, never decreasing (e.g. `performance.now`).
   * @param maxKeys Buckets kept before the least recently used is evicted. @default {10000}
   */
  constructor(policy: RateLimitPolicy, clock: () => number, maxKeys: number = DEFAULT_MAX_KEYS) {
    const { name, capacity, refillPerSecond } = policy;
    if (typeof name !== "string" || !/^[\x20-\x7e]{1,64}$/.test(name)) {
      throw new TypeError(
        `Invalid rate-limit policy name ${JSON.stringify(name)}: expected 1-64 printable ASCII`,
      );
    }
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Invalid rate-limit policy "${name}": capacity must be a positive integer, got ${capacity}`,
      );
    }
    if (!Number.isFinite(refillPerSecond) || refillPerSecond <= 0) {
      throw new RangeError(
        `Invalid rate-limit policy "${name}": refillPerSecond must be positive and finite, got ${refillPerSecond}`,
      );
    }
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new RangeError(`Invalid rate limiter: maxKeys must be a positive integer, got ${maxKeys}`);
    }
    this.#capacity = capacity;
    this.#rate = refillPerSecond;
    this.#clock = clock;
    this.#maxKeys = maxKeys;
    // An sf-string escapes only backslash and double quote (RFC 9651 §3.3.3).
    this.#policyId = `"${name.replace(/[\\"]/g, "\\$&")}"`;
    this.#policyHeader = `${this.#policyId};q=${capacity};w=${ceilSeconds(capacity / refillPerSecond)}`;
  }

  /**
   * Consumes `cost` tokens from `key`'s bucket when it holds that many; a refusal consumes nothing.
   *
   * @param cost Whole tokens, 1 to `capacity`. @default {1}
   */
  take(key: string, cost = 1): RateDecision {
    if (!Number.isSafeInteger(cost) || cost < 1 || cost > this.#capacity) {
      throw new RangeError(
        `Invalid rate-limit cost ${cost}: expected an integer from 1 to ${this.#capacity}`,
      );
    }
    const now = this.#clock();
    const tokens = this.#tokensAt(key, now);
    const allowed = tokens >= cost;
    const left = allowed ? tokens - cost : tokens;
    this.#buckets.delete(key);
    this.#buckets.set(key, { tokens: left, at: now });
    if (this.#buckets.size > this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
    return this.#decision(left, allowed ? 0 : this.#secondsUntil(cost, tokens), true);
  }

  /**
   * Describes `key`'s bucket without consuming or touching it, for headers on responses that cost no quota
   * (idempotent replays). `allowed` and `retryAfterSeconds` predict a `take(key)`; the headers never carry
   * `Retry-After`, since the response they go on was not refused.
   */
  peek(key: string): RateDecision {
    const tokens = this.#tokensAt(key, this.#clock());
    return this.#decision(tokens, tokens >= 1 ? 0 : this.#secondsUntil(1, tokens), false);
  }

  /** Tokens in `key`'s bucket at `now`; a full bucket for an unknown key. */
  #tokensAt(key: string, now: number): number {
    const bucket = this.#buckets.get(key);
    if (!bucket) return this.#capacity;
    const elapsedSeconds = Math.max(0, now - bucket.at) / 1000;
    const tokens = Math.min(this.#capacity, bucket.tokens + elapsedSeconds * this.#rate);
    return Math.abs(tokens - Math.round(tokens)) < EPSILON ? Math.round(tokens) : tokens;
  }

  /** Whole seconds, at least 1, until a bucket holding `tokens` holds `needed`. */
  #secondsUntil(needed: number, tokens: number): number {
    return Math.max(1, ceilSeconds((needed - tokens) / this.#rate));
  }

  #decision(tokens: number, retryAfterSeconds: number, withRetryAfter: boolean): RateDecision {
    const remaining = Math.floor(tokens);
    const allowed = retryAfterSeconds === 0;
    const resetSeconds = !allowed
      ? retryAfterSeconds
      : tokens >= this.#capacity
      ? 0
      : this.#secondsUntil(remaining + 1, tokens);
    const headers: Record<string, string> = {
      "RateLimit-Policy": this.#policyHeader,
      "RateLimit": `${this.#policyId};r=${remaining};t=${resetSeconds}`,
    };
    if (!allowed && withRetryAfter) headers["Retry-After"] = String(retryAfterSeconds);
    return { allowed, remaining, resetSeconds, retryAfterSeconds, headers };
  }
}

function ceilSeconds(seconds: number): number {
  return Math.ceil(seconds - EPSILON);
}
