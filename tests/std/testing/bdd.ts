/**
 * Local stand-in for `jsr:@std/testing/bdd`: `describe`, `it` and the four
 * hooks. On Deno every `it` becomes one flat `Deno.test` named
 * "suite > case"; on Node they map to `node:test`, so one test file runs on
 * both runtimes. Pointing the import map at `jsr:@std/testing@^1/bdd`
 * replaces this file.
 *
 * @module
 */
import * as nodeTest from "node:test";

type Fn = () => void | Promise<void>;

interface DenoTestApi {
  test(options: { name: string; fn: () => Promise<void>; ignore?: boolean }): void;
}

const DENO = (globalThis as { Deno?: DenoTestApi }).Deno;

interface Suite {
  name: string;
  parent?: Suite;
  beforeAll: Fn[];
  afterAll: Fn[];
  beforeEach: Fn[];
  afterEach: Fn[];
  total: number;
  started: number;
  finished: number;
}

let current: Suite | undefined;

function chain(suite: Suite | undefined): Suite[] {
  const out: Suite[] = [];
  for (let s = suite; s; s = s.parent) out.unshift(s);
  return out;
}

async function runAll(fns: Fn[]): Promise<void> {
  for (const fn of fns) await fn();
}

function denoIt(name: string, fn: Fn, ignore: boolean): void {
  const suites = chain(current);
  for (const s of suites) s.total++;
  const fullName = [...suites.map((s) => s.name), name].join(" > ");
  DENO!.test({
    name: fullName,
    ignore,
    async fn() {
      // Suite hooks run lazily around the first and last case of the suite,
      // because Deno runs the flat tests of one file in registration order.
      for (const s of suites) if (s.started++ === 0) await runAll(s.beforeAll);
      try {
        for (const s of suites) await runAll(s.beforeEach);
        try {
          await fn();
        } finally {
          for (const s of [...suites].reverse()) await runAll(s.afterEach);
        }
      } finally {
        for (const s of [...suites].reverse()) {
          if (++s.finished === s.total) await runAll(s.afterAll);
        }
      }
    },
  });
}

/** Groups cases; hooks registered inside apply to every case of the group. */
export function describe(name: string, fn: () => void): void {
  if (!DENO) {
    nodeTest.describe(name, fn);
    return;
  }
  const suite: Suite = {
    name,
    parent: current,
    beforeAll: [],
    afterAll: [],
    beforeEach: [],
    afterEach: [],
    total: 0,
    started: 0,
    finished: 0,
  };
  current = suite;
  try {
    fn();
  } finally {
    current = suite.parent;
  }
}

/** One test case. */
export function it(name: string, fn: Fn): void {
  if (DENO) denoIt(name, fn, false);
  else nodeTest.it(name, fn);
}

/** A case that is registered but not run (reported as ignored/skipped). */
it.ignore = function ignore(name: string, fn: Fn): void {
  if (DENO) denoIt(name, fn, true);
  else nodeTest.it(name, { skip: true }, fn);
};

function hook(kind: "beforeAll" | "afterAll" | "beforeEach" | "afterEach", fn: Fn): void {
  if (!DENO) {
    const map = {
      beforeAll: nodeTest.before,
      afterAll: nodeTest.after,
      beforeEach: nodeTest.beforeEach,
      afterEach: nodeTest.afterEach,
    };
    map[kind](fn);
    return;
  }
  if (!current) throw new Error(`${kind}() must be called inside describe()`);
  current[kind].push(fn);
}

/** Runs once before the first case of the enclosing `describe`. */
export function beforeAll(fn: Fn): void {
  hook("beforeAll", fn);
}

/** Runs once after the last case of the enclosing `describe`. */
export function afterAll(fn: Fn): void {
  hook("afterAll", fn);
}

/** Runs before every case of the enclosing `describe`. */
export function beforeEach(fn: Fn): void {
  hook("beforeEach", fn);
}

/** Runs after every case of the enclosing `describe`. */
export function afterEach(fn: Fn): void {
  hook("afterEach", fn);
}
