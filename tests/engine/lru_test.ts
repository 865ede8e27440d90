import { assertEquals } from "@std/assert";
import { describe, it } from "@std/testing/bdd";
import fc from "fast-check";
import { Lru } from "../../engine/_lru.ts";

/** An Lru whose evictions are logged. */
function logged(limit: number) {
  const evicted: string[] = [];
  const lru = new Lru<string, number>(limit, (key, value) => evicted.push(`${key}=${value}`));
  return { lru, evicted };
}

describe("Lru", () => {
  it("evicts the least recently used entry; get() refreshes recency, peek() and has() do not", () => {
    const { lru, evicted } = logged(3);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("c", 3);
    assertEquals(lru.get("a"), 1);
    assertEquals([lru.peek("b"), lru.has("b")], [2, true]);
    lru.set("d", 4);
    assertEquals(evicted, ["b=2"]);
    lru.set("e", 5);
    assertEquals(evicted, ["b=2", "c=3"]);
    assertEquals(lru.entries(), [["a", 1], ["d", 4], ["e", 5]]);
    assertEquals([lru.size, lru.evictions], [3, 2]);
  });

  it("a hit on the newest entry, repeated, keeps the others' order", () => {
    const { lru, evicted } = logged(2);
    lru.set("a", 1);
    lru.set("b", 2);
    for (let i = 0; i < 3; i++) lru.get("b");
    lru.get("a");
    lru.set("c", 3);
    assertEquals(evicted, ["b=2"]);
  });

  it("set() on a present key replaces its value and refreshes it without evicting", () => {
    const { lru, evicted } = logged(2);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("a", 10);
    assertEquals([evicted, lru.size], [[], 2]);
    lru.set("c", 3);
    assertEquals(evicted, ["b=2"]);
    assertEquals(lru.entries(), [["a", 10], ["c", 3]]);
  });

  it("a lower limit evicts oldest first at once; delete() and clear() do not count as evictions", () => {
    const { lru, evicted } = logged(5);
    for (const [i, key] of ["a", "b", "c", "d", "e"].entries()) lru.set(key, i);
    lru.get("b");
    lru.get("a");
    lru.limit = 2;
    assertEquals(evicted, ["c=2", "d=3", "e=4"]);
    assertEquals([lru.size, lru.limit, lru.evictions], [2, 2, 3]);
    assertEquals(lru.delete("b"), true);
    assertEquals(lru.delete("b"), false);
    lru.set("f", 5);
    lru.get("a");
    lru.clear();
    assertEquals(evicted, ["c=2", "d=3", "e=4", "f=5", "a=0"]);
    assertEquals([lru.size, lru.evictions], [0, 3]);
  });

  it("matches a list model under any sequence of operations", () => {
    type Op = { op: "get" | "peek" | "set" | "delete"; key: number } | { op: "limit"; limit: number };
    const key = fc.integer({ min: 0, max: 9 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constantFrom("get", "peek", "set", "delete") as fc.Arbitrary<"get">, key }),
      fc.record({ op: fc.constant("limit") as fc.Arbitrary<"limit">, limit: fc.integer({ min: 1, max: 6 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 200 }), (limit, ops) => {
        const evicted: number[] = [];
        const lru = new Lru<number, number>(limit, (k) => evicted.push(k));
        // Least recently used first.
        let model: number[] = [];
        const modelEvicted: number[] = [];
        const trim = () => {
          while (model.length > limit) modelEvicted.push(model.shift()!);
        };
        for (const o of ops) {
          if (o.op === "limit") {
            limit = o.limit;
            lru.limit = limit;
            trim();
          } else if (o.op === "get") {
            const present = model.includes(o.key);
            assertEquals(lru.get(o.key), present ? o.key : undefined);
            if (present) model = [...model.filter((k) => k !== o.key), o.key];
          } else if (o.op === "peek") {
            assertEquals(lru.peek(o.key), model.includes(o.key) ? o.key : undefined);
          } else if (o.op === "set") {
            lru.set(o.key, o.key);
            model = [...model.filter((k) => k !== o.key), o.key];
            trim();
          } else {
            assertEquals(lru.delete(o.key), model.includes(o.key));
            model = model.filter((k) => k !== o.key);
          }
          assertEquals(lru.entries().map(([k]) => k), model);
          assertEquals(evicted, modelEvicted);
          assertEquals([lru.size, lru.evictions], [model.length, modelEvicted.length]);
        }
      }),
    );
  });
});
