/**
 * A management agent over two real engine indexes (in memory), with hooks
 * to count, hold and fail actions, a manual clock and tokens on demand.
 * Shared by the in-process and the socket tests.
 *
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { type AgentApp, type AgentDeps, type AgentSecurity, createAgent } from "../../agent/mod.ts";
import { ErrorResponseSchema } from "../../agent/api/mod.ts";
import type { ManagedIndex } from "../../agent/mod.ts";
import { type AuditEntry, type AuditSink, MemoryAuditSink } from "../../agent/audit_sink.ts";
import { newToken } from "../../agent/tokens.ts";
import type { Role } from "../../agent/api/roles.ts";
import { type IndexConfig, MemoryFileSystem, SegmentIndex } from "../../engine/mod.ts";

/** A real index whose actions can be counted, held at a gate, or made to fail. */
export class TestIndex implements ManagedIndex {
  readonly inner: SegmentIndex;
  flushes = 0;
  compactions = 0;
  /** Actions wait for it before running. */
  gate: Promise<void> | undefined;
  failFlush: Error | undefined;

  constructor(inner: SegmentIndex) {
    this.inner = inner;
  }

  get state() {
    return this.inner.state;
  }

  metrics() {
    return this.inner.metrics();
  }

  async flush(): Promise<void> {
    this.flushes++;
    await this.gate;
    if (this.failFlush) throw this.failFlush;
    await this.inner.flush();
  }

  async compact(): Promise<void> {
    this.compactions++;
    await this.gate;
    await this.inner.compact();
  }

  config(): IndexConfig {
    return this.inner.config();
  }

  validateConfig(patch: Record<string, unknown>) {
    return this.inner.validateConfig(patch);
  }

  applyConfig(patch: Record<string, unknown>, expectedRevision?: number): IndexConfig {
    return this.inner.applyConfig(patch, expectedRevision);
  }
}

/** Options of {@linkcode createFixture}. */
export interface FixtureOptions {
  /** Tokens to create, by id; their secrets are in `fixture.tokens`. */
  tokens?: Record<string, { role: Role; console?: boolean }>;
  security?: Omit<AgentSecurity, "tokens">;
  deps?: Partial<Omit<AgentDeps, "indexes" | "security" | "clock">>;
  audit?: AuditSink;
}

export interface Fixture {
  app: AgentApp;
  /** The live map the agent reads; tests add, remove and close indexes through it. */
  indexes: Map<string, ManagedIndex>;
  a: TestIndex;
  b: TestIndex;
  audit: MemoryAuditSink;
  /** Bearer tokens by id. */
  tokens: Record<string, string>;
  /** Epoch milliseconds of the agent's clock. */
  now: number;
  /** Creates another index in the same file system. */
  createIndex(name: string): Promise<TestIndex>;
  close(): Promise<void>;
}

export const START = Date.parse("2026-03-01T12:00:00.000Z");

export async function createFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const fs = new MemoryFileSystem();
  const opened: SegmentIndex[] = [];
  const createIndex = async (name: string) => {
    const index = await SegmentIndex.create(`/data/${name}`, { fs, name });
    opened.push(index);
    return new TestIndex(index);
  };
  const a = await createIndex("index-1");
  const b = await createIndex("index-2");
  for (let i = 0; i < 50; i++) {
    await a.inner.put(`key-${i}`, `value-${i}`);
    await b.inner.put(`key-${i}`, `value-${i}`);
  }
  a.inner.get("key-1");
  const tokens: Record<string, string> = {};
  const entries = [];
  for (const [id, spec] of Object.entries(options.tokens ?? {})) {
    const { token, entry } = await newToken(id, spec.role, { console: spec.console });
    tokens[id] = token;
    entries.push(entry);
  }
  const audit = new MemoryAuditSink(() => state.now);
  const indexes = new Map<string, ManagedIndex>([["index-1", a], ["index-2", b]]);
  const state: Omit<Fixture, "app"> = {
    indexes,
    a,
    b,
    audit,
    tokens,
    now: START,
    createIndex,
    async close() {
      await Promise.allSettled(opened.map((index) => index.close()));
    },
  };
  const app = createAgent({
    indexes,
    security: { tokens: entries, ...options.security },
    audit: options.audit ?? audit,
    clock: () => state.now,
    node: { nodeId: "node-1", nodeName: "first" },
    ...options.deps,
  });
  const fixture: Fixture = Object.assign(state, { app });
  return fixture;
}

/** A JSON request. */
export function jsonRequest(
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method,
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

/** Asserts the one error shape with `status` and `code`; returns the body. */
export async function assertError(
  response: Response,
  status: number,
  code: string,
): Promise<Record<string, unknown>> {
  const text = await response.text();
  assertEquals(response.status, status, `expected ${status} ${code}, got ${response.status}: ${text}`);
  assertEquals(response.headers.get("Content-Type"), "application/json");
  const body = JSON.parse(text);
  const parsed = ErrorResponseSchema.safeParse(body);
  assert(parsed.success, `not the error shape: ${text}`);
  assertEquals(body.code, code);
  assert(!Number.isNaN(Date.parse(body.capturedAt)), `capturedAt is not a date: ${body.capturedAt}`);
  return body;
}

/** Reads a JSON body after checking the status. */
export async function json(response: Response, status = 200): Promise<Record<string, unknown>> {
  const text = await response.text();
  assertEquals(response.status, status, `expected ${status}, got ${response.status}: ${text}`);
  return JSON.parse(text);
}

/** The intent and outcome records of the requests to `endpoint`, oldest first. */
export function auditOf(audit: MemoryAuditSink, endpoint: string): AuditEntry[] {
  return audit.entries.filter((e) => e.endpoint === endpoint);
}

/** Asserts that the last request to `endpoint` left an intent and then an outcome with `outcome` and `status`. */
export function assertAudited(
  audit: MemoryAuditSink,
  endpoint: string,
  outcome: AuditEntry["outcome"],
  status: number,
): void {
  const records = auditOf(audit, endpoint);
  assert(records.length >= 2, `no audit records for ${endpoint}`);
  const [intent, last] = records.slice(-2);
  assertEquals(intent.phase, "intent");
  assertEquals([last.phase, last.outcome, last.status], ["outcome", outcome, status]);
  assertEquals(intent.bodySha256, last.bodySha256);
}

/**
 * Polls every 5 ms until `condition` holds. The bound only stops a hang: it
 * is 30 s because what it waits for (a request crossing a real socket, TLS
 * included) can take seconds on a loaded CI machine, and a tight bound would
 * fail a correct agent there. A condition that holds returns at once.
 */
export async function until(condition: () => boolean): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (!condition() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert(condition(), "condition not reached within 30 s");
}

/** What ran on the fixture's two indexes: the agent's calls, the engine's request counters, the revisions. */
export type Work = ReturnType<typeof work>;

/** The agent's calls into each index (index-1, index-2), the engine's own request counters, and the revisions. */
export function work(f: Fixture) {
  const indexes = [f.a, f.b];
  return {
    flushes: indexes.map((index) => index.flushes),
    compactions: indexes.map((index) => index.compactions),
    revisions: indexes.map((index) => index.config().revision),
    engineFlushRequests: indexes.map((index) => index.inner.metrics().maintenance.flushRequests),
    engineCompactRequests: indexes.map((index) => index.inner.metrics().maintenance.compactRequests),
  };
}

/**
 * Asserts that exactly `ran` flushes, compactions and applied changes per
 * index happened since `before`, and that the engine saw them: its request
 * counters also count the maintenance tasks an action schedules, so they
 * are checked for moving, not for the number.
 */
export function assertRan(
  f: Fixture,
  before: Work,
  ran: { flushes?: number[]; compactions?: number[]; revisions?: number[] },
  message?: string,
): void {
  const now = work(f);
  const since = (key: keyof Work) => now[key].map((n, i) => n - before[key][i]);
  const { flushes = [0, 0], compactions = [0, 0], revisions = [0, 0] } = ran;
  assertEquals({
    flushes: since("flushes"),
    compactions: since("compactions"),
    revisions: since("revisions"),
    engineFlushed: since("engineFlushRequests").map((n) => n > 0),
    engineCompacted: since("engineCompactRequests").map((n) => n > 0),
  }, {
    flushes,
    compactions,
    revisions,
    engineFlushed: flushes.map((n) => n > 0),
    engineCompacted: compactions.map((n) => n > 0),
  }, message);
}
