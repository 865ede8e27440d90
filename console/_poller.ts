/**
 * Polls every node's report in the background and keeps what the pages
 * show: state, reason, last-seen time, the latest report and a short series
 * of rates.
 *
 * Each node is polled on its own: a round starts a request for every node
 * that has none in flight, and each node's row changes the moment its own
 * answer (or failure) arrives. A node that hangs holds only its own slot
 * until its timeout; the pages never wait for a poll, they read the last
 * state kept here.
 *
 * @module
 */
import { type NodeReport, NodeReportSchema, REPORT } from "../agent/api/mod.ts";
import { AbortGroup } from "./_abort_group.ts";
import { agentError, callAgent } from "./_agent_client.ts";
import type { NodeConfig } from "./config.ts";
import { type NodeRates, RateTracker } from "./_rates.ts";
import type {
  FleetTotals,
  FleetView,
  IndexSummary,
  NodeDetailView,
  NodeState,
  NodeView,
  RatePoint,
  WalHealth,
} from "./views.ts";

/** What the poller needs; validated by the caller. */
export interface PollerOptions {
  nodes: readonly NodeConfig[];
  fetch: typeof fetch;
  now: () => number;
  pollIntervalMs: number;
  requestTimeoutMs: number;
  maxConcurrentPolls: number;
  seriesLength: number;
}

/** The fields of a node's row that the poller keeps as they are. */
type NodeStatus = Pick<
  NodeView,
  "state" | "reason" | "code" | "httpStatus" | "stateSince" | "lastSeen" | "lastPolledAt" | "latencyMs"
>;

interface Tracker extends NodeStatus {
  config: NodeConfig;
  report: NodeReport | null;
  rates: NodeRates | null;
  rateTracker: RateTracker;
  series: RatePoint[];
  inFlight: Promise<void> | null;
}

/** Background poller of the nodes' reports. */
export class Poller {
  readonly #options: PollerOptions;
  readonly #trackers: Map<string, Tracker>;
  readonly #requests = new AbortGroup();
  readonly #slots: Semaphore;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: PollerOptions) {
    this.#options = options;
    this.#slots = new Semaphore(options.maxConcurrentPolls);
    const started = options.now();
    this.#trackers = new Map(options.nodes.map((config) => [config.id, {
      config,
      state: "UNKNOWN",
      reason: "Waiting for the first answer",
      code: null,
      httpStatus: null,
      stateSince: started,
      lastSeen: null,
      lastPolledAt: null,
      latencyMs: null,
      report: null,
      rates: null,
      rateTracker: new RateTracker(),
      series: [],
      inFlight: null,
    }]));
  }

  /** Starts a polling round now and then every `pollIntervalMs`. */
  start(): void {
    if (this.#timer !== undefined || this.#requests.aborted) return;
    const round = () => {
      void this.refresh();
      this.#timer = setTimeout(round, this.#options.pollIntervalMs);
    };
    round();
  }

  /** Stops polling and aborts the requests in flight; resolves once they have settled. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#requests.abortAll();
    await Promise.all([...this.#trackers.values()].map((t) => t.inFlight));
  }

  /** Polls every node that has no poll in flight, and resolves when every node's current poll has settled. */
  refresh(): Promise<void> {
    return Promise.all([...this.#trackers.values()].map((t) => this.#poll(t))).then(() => {});
  }

  /** The configuration of node `id`, if there is one. */
  nodeConfig(id: string): NodeConfig | undefined {
    return this.#trackers.get(id)?.config;
  }

  fleet(): FleetView {
    const nodes = [...this.#trackers.values()].map((t) => this.#view(t));
    return {
      generatedAt: this.#options.now(),
      pollIntervalMs: this.#options.pollIntervalMs,
      totals: totalsOf(nodes),
      nodes,
    };
  }

  detail(id: string): NodeDetailView | undefined {
    const tracker = this.#trackers.get(id);
    if (tracker === undefined) return undefined;
    return {
      generatedAt: this.#options.now(),
      pollIntervalMs: this.#options.pollIntervalMs,
      node: this.#view(tracker),
      snapshots: tracker.report?.indexes ?? [],
    };
  }

  #poll(tracker: Tracker): Promise<void> {
    if (this.#requests.aborted) return Promise.resolve();
    tracker.inFlight ??= this.#slots.run(() => this.#pollOnce(tracker)).finally(() => {
      tracker.inFlight = null;
    });
    return tracker.inFlight;
  }

  async #pollOnce(tracker: Tracker): Promise<void> {
    const { now, requestTimeoutMs } = this.#options;
    const sent = now();
    const outcome = await this.#requests.run((signal) =>
      callAgent(this.#options.fetch, tracker.config, {
        method: "GET",
        path: REPORT,
        timeoutMs: requestTimeoutMs,
        signal,
      })
    );
    if (this.#requests.aborted) return;
    const received = now();
    tracker.lastPolledAt = received;
    if (outcome.kind === "unreachable") {
      this.#fail(tracker, outcome.state, outcome.reason, null, null);
      return;
    }
    if (outcome.status === 401 || outcome.status === 403) {
      const { code, message } = agentError(outcome);
      const reason = `The agent refused the console's token (${outcome.status} ${code}): ${message}`;
      this.#fail(tracker, "AUTH_FAILED", reason, code, outcome.status);
      return;
    }
    if (outcome.status !== 200) {
      const { code, message } = agentError(outcome);
      this.#fail(tracker, "ERROR", `HTTP ${outcome.status} ${code}: ${message}`, code, outcome.status);
      return;
    }
    const parsed = NodeReportSchema.safeParse(outcome.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.#fail(tracker, "ERROR", `Unreadable report: ${issue.path.join(".")}: ${issue.message}`, null, 200);
      return;
    }
    const report = parsed.data;
    tracker.report = report;
    tracker.lastSeen = received;
    tracker.latencyMs = received - sent;
    tracker.rates = tracker.rateTracker.update(report.indexes.map((s) => ({
      name: s.indexName,
      openedAtMs: s.openedAt.epochMs,
      capturedAtMs: s.capturedAt.epochMs,
      reads: s.operations.gets,
      writes: s.operations.puts + s.operations.deletes,
    })));
    this.#push(tracker, { t: received, read: tracker.rates.read, write: tracker.rates.write });
    const notReady = report.indexes.filter((s) => s.state !== "READY");
    if (report.indexes.length === 0) {
      this.#setState(tracker, "DEGRADED", "The node has no open index", null, 200);
    } else if (notReady.length > 0) {
      const list = notReady.map((s) => `${s.indexName} is ${s.state}`).join(", ");
      this.#setState(tracker, "DEGRADED", `Not every index is READY: ${list}`, null, 200);
    } else {
      this.#setState(tracker, "UP", "", null, 200);
    }
  }

  #fail(
    tracker: Tracker,
    state: NodeState,
    reason: string,
    code: string | null,
    status: number | null,
  ): void {
    tracker.rates = null;
    this.#push(tracker, { t: this.#options.now(), read: null, write: null });
    this.#setState(tracker, state, reason, code, status);
  }

  #setState(
    tracker: Tracker,
    state: NodeState,
    reason: string,
    code: string | null,
    status: number | null,
  ): void {
    if (tracker.state !== state) tracker.stateSince = this.#options.now();
    tracker.state = state;
    tracker.reason = reason;
    tracker.code = code;
    tracker.httpStatus = status;
  }

  #push(tracker: Tracker, point: RatePoint): void {
    tracker.series.push(point);
    if (tracker.series.length > this.#options.seriesLength) tracker.series.shift();
  }

  #view(t: Tracker): NodeView {
    const reachable = t.state === "UP" || t.state === "DEGRADED";
    return {
      id: t.config.id,
      name: t.config.name,
      baseUrl: t.config.baseUrl,
      state: t.state,
      reason: t.reason,
      code: t.code,
      httpStatus: t.httpStatus,
      stateSince: t.stateSince,
      lastSeen: t.lastSeen,
      lastPolledAt: t.lastPolledAt,
      latencyMs: t.latencyMs,
      node: t.report?.node ?? null,
      stale: !reachable && t.report !== null,
      indexes: (t.report?.indexes ?? []).map((s): IndexSummary => {
        const rates = reachable ? t.rates?.perIndex.get(s.indexName) : undefined;
        return {
          name: s.indexName,
          state: s.state,
          totalKeys: s.segments.totalKeys,
          segments: s.segments.count,
          diskBytes: s.segments.diskBytes,
          gets: s.operations.gets,
          puts: s.operations.puts,
          deletes: s.operations.deletes,
          readRate: rates?.read ?? null,
          writeRate: rates?.write ?? null,
          cacheHits: s.chunkCache.hits,
          cacheMisses: s.chunkCache.misses,
          wal: walHealth(s.wal),
        };
      }),
      readRate: reachable ? t.rates?.read ?? null : null,
      writeRate: reachable ? t.rates?.write ?? null : null,
      series: [...t.series],
    };
  }
}

/** The write-ahead log's health in one word and a sentence. */
function walHealth(wal: NodeReport["indexes"][number]["wal"]): WalHealth {
  if (!wal.enabled) return { status: "OFF", detail: "No write-ahead log" };
  const problems: string[] = [];
  if (wal.syncFailures > 0) problems.push(`${wal.syncFailures} failed sync(s)`);
  if (wal.corruptions > 0) problems.push(`${wal.corruptions} corrupt record(s) found`);
  if (problems.length > 0) return { status: "PROBLEM", detail: problems.join(", ") };
  return { status: "OK", detail: `${wal.durability}, checkpoint lag ${wal.checkpointLagLsn} LSN` };
}

function totalsOf(nodes: NodeView[]): FleetTotals {
  const reachable = nodes.filter((n) => n.state === "UP" || n.state === "DEGRADED");
  let hits = 0;
  let reads = 0;
  let walIndexes = 0;
  let walProblems = 0;
  let indexes = 0;
  for (const n of reachable) {
    for (const i of n.indexes) {
      indexes++;
      hits += i.cacheHits;
      reads += i.cacheHits + i.cacheMisses;
      if (i.wal.status !== "OFF") walIndexes++;
      if (i.wal.status === "PROBLEM") walProblems++;
    }
  }
  return {
    nodes: nodes.length,
    reachable: reachable.length,
    indexes,
    readRate: sumOrNull(reachable.map((n) => n.readRate)),
    writeRate: sumOrNull(reachable.map((n) => n.writeRate)),
    cacheHitRatio: reads === 0 ? null : hits / reads,
    walIndexes,
    walProblems,
  };
}

function sumOrNull(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0);
}

/** Runs at most `limit` tasks at a time, first come first served. */
class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#free = limit;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
