/**
 * Flush and compact, sent to an agent on behalf of a person, and the
 * history of what was sent.
 *
 * The console chooses the `requestId`. When an attempt outlives the
 * action timeout, the console asks again with the same `requestId`: the
 * agent runs an action once per `requestId` and answers a repeat with the
 * stored (or still running) result, so asking again is safe and ends with
 * the real outcome instead of "timed out, unknown".
 *
 * @module
 */
import {
  ACTION_COMPACT,
  ACTION_FLUSH,
  ActionFailureSchema,
  type ActionRequest,
  ActionResponseSchema,
} from "../agent/api/mod.ts";
import { AbortGroup } from "./_abort_group.ts";
import { agentError, callAgent } from "./_agent_client.ts";
import type { NodeConfig } from "./config.ts";
import type { ActionKind, ActionRecord } from "./views.ts";

/** What the runner needs; validated by the caller. */
export interface ActionRunnerOptions {
  fetch: typeof fetch;
  now: () => number;
  /** One attempt's timeout. */
  actionTimeoutMs: number;
  /** No new attempt starts after this long since the action began. */
  actionDeadlineMs: number;
  /** Finished records kept for the history panel. */
  historyLimit: number;
}

/** Runs actions and remembers them, newest first. */
export class ActionRunner {
  readonly #options: ActionRunnerOptions;
  readonly #records = new Map<string, ActionRecord>();
  readonly #running = new Map<string, Promise<ActionRecord>>();
  readonly #requests = new AbortGroup();

  constructor(options: ActionRunnerOptions) {
    this.#options = options;
  }

  /** Starts an action; `done` settles with the final record (never rejects). */
  start(
    node: NodeConfig,
    action: ActionKind,
    indexName: string | null,
    actor: string,
  ): { record: ActionRecord; done: Promise<ActionRecord> } {
    const record: ActionRecord = {
      requestId: `console-${crypto.randomUUID()}`,
      nodeId: node.id,
      nodeName: node.name,
      action,
      indexName,
      actor,
      startedAt: this.#options.now(),
      finishedAt: null,
      status: "PENDING",
      httpStatus: null,
      code: null,
      message: "Sent to the node",
      retryAfterSeconds: null,
      results: [],
      attempts: 0,
    };
    this.#records.set(record.requestId, record);
    this.#trim();
    const done = this.#run(node, record).finally(() => this.#running.delete(record.requestId));
    this.#running.set(record.requestId, done);
    return { record, done };
  }

  get(requestId: string): ActionRecord | undefined {
    return this.#records.get(requestId);
  }

  /** Newest first. */
  list(): ActionRecord[] {
    return [...this.#records.values()].reverse();
  }

  /** Abandons the attempts in flight; their records end FAILED. */
  async close(): Promise<void> {
    this.#requests.abortAll();
    await Promise.all(this.#running.values());
  }

  async #run(node: NodeConfig, record: ActionRecord): Promise<ActionRecord> {
    const { now, actionTimeoutMs, actionDeadlineMs } = this.#options;
    const body: ActionRequest = { requestId: record.requestId };
    if (record.indexName !== null) body.indexName = record.indexName;
    const path = record.action === "FLUSH" ? ACTION_FLUSH : ACTION_COMPACT;
    for (;;) {
      record.attempts++;
      const outcome = await this.#requests.run((signal) =>
        callAgent(this.#options.fetch, node, {
          method: "POST",
          path,
          body,
          actor: record.actor,
          timeoutMs: actionTimeoutMs,
          signal,
        })
      );
      if (this.#requests.aborted) {
        return this.#finish(record, "FAILED", { code: "CONSOLE_STOPPED", message: "The console shut down" });
      }
      if (outcome.kind === "unreachable") {
        if (outcome.state === "TIMEOUT" && now() - record.startedAt < actionDeadlineMs) {
          record.message =
            `Still running after ${record.attempts} attempt(s) of ${actionTimeoutMs} ms; asking again`;
          continue;
        }
        const unknown = record.attempts > 1 ? " The action may have run; its outcome is unknown." : "";
        return this.#finish(record, "FAILED", {
          code: `NODE_${outcome.state}`,
          message: `${outcome.reason}.${unknown}`,
        });
      }
      record.httpStatus = outcome.status;
      record.retryAfterSeconds = outcome.retryAfterSeconds;
      const ok = ActionResponseSchema.safeParse(outcome.body);
      if (outcome.status === 200 && ok.success) {
        record.results = ok.data.results;
        return this.#finish(record, "COMPLETED", { code: null, message: ok.data.message });
      }
      const failed = ActionFailureSchema.safeParse(outcome.body);
      if (failed.success) {
        record.results = failed.data.results;
        return this.#finish(record, "FAILED", { code: failed.data.code, message: failed.data.message });
      }
      return this.#finish(record, "REJECTED", agentError(outcome));
    }
  }

  #finish(
    record: ActionRecord,
    status: ActionRecord["status"],
    detail: { code: string | null; message: string },
  ): ActionRecord {
    record.status = status;
    record.code = detail.code;
    record.message = detail.message;
    record.finishedAt = this.#options.now();
    return record;
  }

  #trim(): void {
    for (const [id, r] of this.#records) {
      if (this.#records.size <= this.#options.historyLimit) break;
      if (r.status !== "PENDING") this.#records.delete(id);
    }
  }
}
