import { assertEquals } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import { type IndexCounters, ratesBetween, RateTracker } from "../../console/_rates.ts";

function sample(overrides: Partial<IndexCounters> = {}): IndexCounters {
  return { name: "orders", openedAtMs: 1000, capturedAtMs: 10_000, reads: 100, writes: 50, ...overrides };
}

describe("ratesBetween()", () => {
  it("divides the counter deltas by the seconds between the samples", () => {
    const rates = ratesBetween(sample(), sample({ capturedAtMs: 12_000, reads: 300, writes: 60 }));
    assertEquals(rates, { read: 100, write: 5 });
  });

  it("has no rate without an earlier sample", () => {
    assertEquals(ratesBetween(undefined, sample()), { read: null, write: null });
  });

  it("treats a changed openedAt as a restart: no rate, even if the counters grew", () => {
    const rates = ratesBetween(sample(), sample({ openedAtMs: 2000, capturedAtMs: 12_000, reads: 500 }));
    assertEquals(rates, { read: null, write: null });
  });

  it("treats a counter that went down as a restart, never a negative rate", () => {
    assertEquals(ratesBetween(sample(), sample({ capturedAtMs: 12_000, reads: 10 })), {
      read: null,
      write: null,
    });
    assertEquals(ratesBetween(sample(), sample({ capturedAtMs: 12_000, writes: 49 })), {
      read: null,
      write: null,
    });
  });

  it("has no rate when the clock did not move forward", () => {
    assertEquals(ratesBetween(sample(), sample({ reads: 200 })), { read: null, write: null });
    assertEquals(ratesBetween(sample(), sample({ capturedAtMs: 9000, reads: 200 })), {
      read: null,
      write: null,
    });
  });
});

describe("RateTracker", () => {
  it("sums the indexes that have a rate and forgets indexes that vanished", () => {
    const tracker = new RateTracker();
    const first = tracker.update([sample(), sample({ name: "users" })]);
    assertEquals([first.read, first.write], [null, null]);
    const second = tracker.update([
      sample({ capturedAtMs: 11_000, reads: 110, writes: 50 }),
      sample({ name: "users", openedAtMs: 5000, capturedAtMs: 11_000 }),
    ]);
    assertEquals([second.read, second.write], [10, 0]);
    assertEquals(second.perIndex.get("users"), { read: null, write: null });
    const third = tracker.update([
      sample({ name: "users", openedAtMs: 5000, capturedAtMs: 12_000, reads: 102 }),
    ]);
    assertEquals([third.read, third.write], [2, 0]);
    assertEquals([...third.perIndex.keys()], ["users"]);
    const back = tracker.update([sample({ capturedAtMs: 13_000, reads: 500 }), sample({ name: "users" })]);
    assertEquals(back.perIndex.get("orders"), { read: null, write: null });
  });
});
