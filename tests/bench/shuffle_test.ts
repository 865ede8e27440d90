import { assert, assertEquals, assertThrows } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { Shuffle } from "../../bench/_common.ts";

describe("Shuffle (the benchmarks' random key order)", () => {
  it("visits every position of 0..n-1 exactly once", () => {
    for (const n of [1, 2, 3, 4, 5, 1000, 4097, 65_535, 100_001]) {
      const shuffle = new Shuffle(n, 42);
      const seen = new Uint8Array(n);
      for (let i = 0; i < n; i++) seen[shuffle.at(i)]++;
      assertEquals(seen.every((count) => count === 1), true, `n = ${n}`);
    }
  });

  it("is random-looking, repeatable, and depends on the seed", () => {
    const n = 10_000;
    const a = new Shuffle(n, 42), again = new Shuffle(n, 42), b = new Shuffle(n, 7);
    const first = Array.from({ length: 100 }, (_, i) => a.at(i));
    assertEquals(first, Array.from({ length: 100 }, (_, i) => again.at(i)));
    assert(first.some((p, i) => p !== b.at(i)), "another seed gives another order");
    const fixed = first.filter((p, i) => p === i).length;
    assert(fixed < 5, `${fixed} of the first 100 positions stay in place`);
    let ascending = 0;
    for (let i = 1; i < n; i++) if (a.at(i) > a.at(i - 1)) ascending++;
    assert(Math.abs(ascending / (n - 1) - 0.5) < 0.05, `${ascending} of ${n - 1} steps go up`);
  });

  it("refuses a size it cannot shuffle", () => {
    for (const n of [0, -1, 1.5, 2 ** 30 + 1]) assertThrows(() => new Shuffle(n, 1), RangeError);
  });
});
