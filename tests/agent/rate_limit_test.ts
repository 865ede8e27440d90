import { assertEquals, assertGreaterOrEqual, assertMatch, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { RateLimiter, type RateLimitPolicy } from "../../agent/_rate_limit.ts";

/** The reference's security test quota: two mutating calls a minute. */
const TWO_A_MINUTE: RateLimitPolicy = { name: "mutating", capacity: 2, refillPerSecond: 2 / 60 };

// draft-ietf-httpapi-ratelimit-headers rev 10: each field is an SF List of one item, an sf-string policy id
// with sf-integer parameters (q required in the policy; r and t in the RateLimit field).
const SF_STRING = String.raw`"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"`;
const POLICY_SYNTAX = new RegExp(`^${SF_STRING};q=\\d{1,15};w=\\d{1,15}$`);
const RATE_LIMIT_SYNTAX = new RegExp(`^${SF_STRING};r=\\d{1,15};t=\\d{1,15}$`);

function limiter(policy: RateLimitPolicy = TWO_A_MINUTE, maxKeys?: number) {
  const clock = { now: 1_000 };
  return { clock, limiter: new RateLimiter(policy, () => clock.now, maxKeys) };
}

describe("RateLimiter", () => {
  it("RateLimiter.take() allows the capacity, then refuses with Retry-After until a token refills", () => {
    const { limiter: l } = limiter();
    const first = l.take("ops flush");
    assertEquals([first.allowed, first.remaining, first.retryAfterSeconds], [true, 1, 0]);
    const second = l.take("ops flush");
    assertEquals([second.allowed, second.remaining, second.retryAfterSeconds], [true, 0, 0]);
    const refused = l.take("ops flush");
    assertEquals(refused.allowed, false);
    assertEquals(refused.remaining, 0);
    assertEquals(refused.retryAfterSeconds, 30);
    assertEquals(refused.resetSeconds, 30);
    assertEquals(refused.headers, {
      "RateLimit-Policy": `"mutating";q=2;w=60`,
      "RateLimit": `"mutating";r=0;t=30`,
      "Retry-After": "30",
    });
  });

  it("RateLimiter.take() refuses without consuming, so retries do not push the wait back", () => {
    const { clock, limiter: l } = limiter();
    l.take("k");
    l.take("k");
    for (let i = 0; i < 5; i++) assertEquals(l.take("k").retryAfterSeconds, 30);
    clock.now += 10_000;
    assertEquals(l.take("k").retryAfterSeconds, 20);
  });

  it("RateLimiter.take() refills on the injected clock at exactly the time Retry-After names", () => {
    const { clock, limiter: l } = limiter();
    l.take("k");
    l.take("k");
    const start = clock.now;
    const wait = l.take("k").retryAfterSeconds;
    clock.now = start + wait * 1000 - 1;
    const early = l.take("k");
    assertEquals([early.allowed, early.retryAfterSeconds, early.headers["Retry-After"]], [false, 1, "1"]);
    clock.now = start + wait * 1000;
    const onTime = l.take("k");
    assertEquals([onTime.allowed, onTime.remaining], [true, 0]);
    assertEquals(l.take("k").retryAfterSeconds, 30, "the refill starts over from the token just spent");
    clock.now += 60_000;
    assertEquals(l.peek("k").remaining, 2);
    clock.now += 3_600_000;
    assertEquals(l.peek("k").remaining, 2, "the bucket never exceeds its capacity");
  });

  it("RateLimiter.take() rounds a fractional wait up, and Retry-After is never below 1", () => {
    const { clock, limiter: l } = limiter({ name: "fast", capacity: 1, refillPerSecond: 4 });
    l.take("k");
    const refused = l.take("k");
    assertEquals([refused.retryAfterSeconds, refused.resetSeconds, refused.headers["Retry-After"]], [
      1,
      1,
      "1",
    ]);
    clock.now += 250;
    assertEquals(l.take("k").allowed, true);
    const { limiter: slow } = limiter({ name: "slow", capacity: 1, refillPerSecond: 0.3 });
    slow.take("k");
    assertEquals(slow.take("k").retryAfterSeconds, 4, "1 / 0.3 = 3.33 s rounds up to 4");
  });

  it("RateLimiter.take() keeps separate keys independent", () => {
    const { limiter: l } = limiter();
    l.take("ops /api/v1/actions/flush");
    l.take("ops /api/v1/actions/flush");
    assertEquals(l.take("ops /api/v1/actions/flush").allowed, false);
    assertEquals(l.take("ops /api/v1/actions/compact").allowed, true);
    assertEquals(l.take("admin /api/v1/actions/flush").allowed, true);
    assertEquals(l.take("addr:127.0.0.2").remaining, 1);
  });

  it("RateLimiter.take() keeps at most maxKeys buckets, evicting the least recently used", () => {
    const { limiter: l } = limiter(TWO_A_MINUTE, 2);
    for (const key of ["a", "b", "c"]) {
      l.take(key);
      l.take(key);
    }
    // "a" was evicted when "c" arrived: it starts over with a full bucket.
    assertEquals(l.peek("a").remaining, 2);
    assertEquals(l.take("b").allowed, false, "b is kept, and now the most recent");
    assertEquals(l.take("a").remaining, 1, "a is back; c is now the least recent and goes");
    assertEquals(l.peek("b").remaining, 0);
    assertEquals(l.peek("c").remaining, 2);
  });

  it("RateLimiter.take() with cost > 1 needs that many tokens and waits for all of them", () => {
    const { clock, limiter: l } = limiter({ name: "bulk", capacity: 5, refillPerSecond: 1 });
    assertEquals(l.take("k", 3).remaining, 2);
    const refused = l.take("k", 3);
    assertEquals([refused.allowed, refused.remaining, refused.retryAfterSeconds], [false, 2, 1]);
    assertEquals(refused.headers.RateLimit, `"bulk";r=2;t=1`);
    clock.now += 1_000;
    assertEquals(l.take("k", 3).remaining, 0);
    assertEquals(l.take("k", 5).retryAfterSeconds, 5);
    assertThrows(() => l.take("k", 6), RangeError, "from 1 to 5");
    assertThrows(() => l.take("k", 0), RangeError);
    assertThrows(() => l.take("k", 1.5), RangeError);
  });

  it("RateLimiter.peek() reports without consuming, and never adds Retry-After", () => {
    const { clock, limiter: l } = limiter();
    assertEquals(l.peek("k").headers, {
      "RateLimit-Policy": `"mutating";q=2;w=60`,
      "RateLimit": `"mutating";r=2;t=0`,
    });
    l.take("k");
    for (let i = 0; i < 3; i++) assertEquals(l.peek("k").remaining, 1);
    l.take("k");
    const empty = l.peek("k");
    assertEquals([empty.allowed, empty.remaining, empty.retryAfterSeconds], [false, 0, 30]);
    assertEquals(empty.headers, {
      "RateLimit-Policy": `"mutating";q=2;w=60`,
      "RateLimit": `"mutating";r=0;t=30`,
    });
    clock.now += 30_000;
    assertEquals(l.peek("k").allowed, true);
    assertEquals(l.take("k").allowed, true);
  });

  it("RateLimiter headers report t as the seconds until r next grows, 0 when full", () => {
    const { clock, limiter: l } = limiter({ name: "q", capacity: 3, refillPerSecond: 0.1 });
    assertEquals(l.take("k").headers.RateLimit, `"q";r=2;t=10`);
    clock.now += 4_000;
    assertEquals(
      l.take("k").headers.RateLimit,
      `"q";r=1;t=6`,
      "1.4 tokens left after the take, the second whole one in 6 s",
    );
    clock.now += 30_000;
    assertEquals(l.peek("k").headers.RateLimit, `"q";r=3;t=0`);
  });

  it("RateLimiter headers match the draft's structured-field syntax", () => {
    const policies: RateLimitPolicy[] = [
      TWO_A_MINUTE,
      { name: "x", capacity: 1, refillPerSecond: 1000 },
      { name: `odd "name" \\ here`, capacity: 100, refillPerSecond: 0.001 },
    ];
    for (const policy of policies) {
      const { clock, limiter: l } = limiter(policy);
      for (let i = 0; i < 2 * policy.capacity + 2; i++) {
        const decision = i % 2 ? l.peek("k") : l.take("k");
        assertMatch(decision.headers["RateLimit-Policy"], POLICY_SYNTAX);
        assertMatch(decision.headers.RateLimit, RATE_LIMIT_SYNTAX);
        if (!decision.allowed && "Retry-After" in decision.headers) {
          assertMatch(decision.headers["Retry-After"], /^[1-9]\d*$/);
          assertEquals(decision.headers.RateLimit.endsWith(`;t=${decision.headers["Retry-After"]}`), true);
        }
        assertGreaterOrEqual(decision.resetSeconds, 0);
        clock.now += 7;
      }
    }
    const { limiter: odd } = limiter(policies[2]);
    assertEquals(
      odd.peek("k").headers["RateLimit-Policy"],
      String.raw`"odd \"name\" \\ here";q=100;w=100000`,
    );
  });

  it("new RateLimiter() rejects a bad policy or key bound", () => {
    const clock = () => 0;
    assertThrows(() => new RateLimiter({ ...TWO_A_MINUTE, name: "" }, clock), TypeError, "printable ASCII");
    assertThrows(() => new RateLimiter({ ...TWO_A_MINUTE, name: "é" }, clock), TypeError);
    assertThrows(() => new RateLimiter({ ...TWO_A_MINUTE, name: "a\r\nX: y" }, clock), TypeError);
    assertThrows(() => new RateLimiter({ ...TWO_A_MINUTE, capacity: 0 }, clock), RangeError, "capacity");
    assertThrows(() => new RateLimiter({ ...TWO_A_MINUTE, capacity: 2.5 }, clock), RangeError, "capacity");
    assertThrows(() => new RateLimiter({ ...TWO_A_MINUTE, refillPerSecond: 0 }, clock), RangeError, "refill");
    assertThrows(
      () => new RateLimiter({ ...TWO_A_MINUTE, refillPerSecond: NaN }, clock),
      RangeError,
      "refill",
    );
    assertThrows(() => new RateLimiter({ ...TWO_A_MINUTE, refillPerSecond: Infinity }, clock), RangeError);
    assertThrows(() => new RateLimiter(TWO_A_MINUTE, clock, 0), RangeError, "maxKeys");
  });
});
